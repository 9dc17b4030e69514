/**
 * The SQLite pieces of the store: booleans stored as 0/1, JSON stored as text, id lists through
 * `json_each`, and FTS5 search (search.ts).
 *
 * @internal
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { ParseResult, Schema } from "effect"
import type { Columns, Dialect } from "../Dialect.js"
import { makeRows } from "../rows.js"
import * as Search from "./search.js"

const Bool = Schema.transformOrFail(Schema.Unknown, Schema.Boolean, {
  strict: true,
  decode: (value, _, ast) =>
    value === 1
      ? ParseResult.succeed(true)
      : value === 0
      ? ParseResult.succeed(false)
      : ParseResult.fail(new ParseResult.Type(ast, value, "expected 0 or 1")),
  encode: (value) => ParseResult.succeed(value ? 1 : 0)
})

const JsonText = Schema.transformOrFail(Schema.Unknown, Schema.Unknown, {
  strict: true,
  decode: (value, _, ast) => {
    if (typeof value !== "string") {
      return ParseResult.fail(new ParseResult.Type(ast, value, "expected JSON text"))
    }
    try {
      return ParseResult.succeed(JSON.parse(value))
    } catch (error) {
      return ParseResult.fail(new ParseResult.Type(ast, value, `invalid JSON: ${String(error)}`))
    }
  },
  encode: (value) => ParseResult.succeed(JSON.stringify(value))
})

export const columns: Columns = {
  Bool,
  Json: (schema) => Schema.compose(JsonText, schema, { strict: false })
}

export const make = (sql: SqlClient, run: Search.Run): Dialect => ({
  columns,
  beginWrite: "BEGIN IMMEDIATE",
  json: (value) => JSON.stringify(value),
  idList: (ids) => sql`json_each(${JSON.stringify(ids)}) j`,
  jsonField: (column, field) => `json_extract(${column}, '$.${field}')`,
  nowMillis: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
  search: Search.make(sql, makeRows(columns), run)
})
