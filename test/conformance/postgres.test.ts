/**
 * The store's conformance suite on PostgreSQL: each database is a fresh schema of the server that
 * `MNESIS_TEST_DATABASE_URL` names (`npm run test:pg` starts one), so the two-handle tests run with
 * separate pools of real connections.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as PostgresStore from "../../src/storage/postgres/PostgresStore.js"
import { adminQuery, freshSchema, postgresUrl } from "../support/backend.js"
import { leaseConformance } from "./leases.js"
import { type Backend, conformance } from "./storeConformance.js"

/** Every row of every table of the schema, read with a connection of its own. */
const allRows = (serverUrl: string, schema: string) =>
  Effect.gen(function*() {
    const tables = yield* adminQuery(
      serverUrl,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
      [schema]
    )
    const out: Array<{ readonly table: string; readonly rows: ReadonlyArray<unknown> }> = []
    for (const { table_name } of tables) {
      const table = String(table_name)
      out.push({ table, rows: yield* adminQuery(serverUrl, `SELECT * FROM ${schema}."${table}"`) })
    }
    return out
  })

describe.runIf(postgresUrl !== undefined)(
  "PostgreSQL (needs MNESIS_TEST_DATABASE_URL: npm run test:pg)",
  () => {
    const serverUrl = postgresUrl ?? ""
    const backend: Backend = {
      database: Effect.map(freshSchema(serverUrl), ({ schema, url }) => ({
        open: (options = {}) =>
          PostgresStore.make({ url, poolSize: 4, wrapConnection: options.wrapConnection }),
        rows: allRows(serverUrl, schema)
      }))
    }

    it.effect("the test server answers", () =>
      Effect.map(adminQuery(serverUrl, "SELECT 1 AS one"), (rows) => expect(rows).toEqual([{ one: 1 }])))

    conformance("PostgreSQL", backend)
    leaseConformance("PostgreSQL", backend)
  }
)
