/**
 * The PostgreSQL pieces of the store: booleans and JSON (`jsonb`) come back from the driver as
 * JavaScript values, id lists are unnested from one JSON parameter, and full-text search uses a
 * GIN index over `to_tsvector` (search.ts).
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
    typeof value === "boolean"
      ? ParseResult.succeed(value)
      : ParseResult.fail(new ParseResult.Type(ast, value, "expected a boolean")),
  encode: ParseResult.succeed
})

export const columns: Columns = {
  Bool,
  // the driver parses jsonb: the value is decoded as it comes
  Json: (schema) => Schema.compose(Schema.Unknown, schema, { strict: false })
}

export const make = (sql: SqlClient, run: Search.Run): Dialect => ({
  columns,
  beginWrite: "BEGIN",
  json: (value) => JSON.stringify(value),
  idList: (ids) =>
    sql`(SELECT t.value, t.ord - 1 AS key
      FROM jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) WITH ORDINALITY AS t(value, ord)) j`,
  jsonField: (column, field) => `(${column} ->> '${field}')`,
  nowMillis: "(extract(epoch FROM clock_timestamp()) * 1000)::bigint",
  search: Search.make(sql, makeRows(columns), run)
})
