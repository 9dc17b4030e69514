/**
 * The store's conformance suite on SQLite: a database file, and a database in memory that several
 * connections of this process share (SQLite's `memdb` VFS), so both run the two-handle tests with
 * real separate connections.
 */
import { Effect } from "effect"
import { DatabaseSync } from "node:sqlite"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import { tempDbPath } from "../support/storage.js"
import { leaseConformance } from "./leases.js"
import { type Backend, conformance } from "./storeConformance.js"

/** Every row of every table (FTS5's own tables included), read with a connection of its own. */
const allRows = (filename: string) =>
  Effect.sync(() => {
    const db = new DatabaseSync(filename, { readOnly: true })
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()
      return tables.map(({ name }) => ({
        table: String(name),
        rows: db.prepare(`SELECT * FROM "${String(name)}"`).all()
      }))
    } finally {
      db.close()
    }
  })

const at = (filename: string) => ({
  open: (options: { readonly wrapConnection?: SqliteStore.Options["wrapConnection"] } = {}) =>
    SqliteStore.make({ filename, wrapConnection: options.wrapConnection }),
  rows: allRows(filename)
})

const file: Backend = { database: Effect.map(tempDbPath, at) }

let memories = 0
const memory: Backend = {
  database: Effect.map(
    // one connection kept open for the database's lifetime: memdb drops a database with its last connection
    Effect.acquireRelease(
      Effect.sync(() => {
        const filename = `file:/mnesis-conformance-${process.pid}-${++memories}?vfs=memdb`
        return { filename, keeper: new DatabaseSync(filename) }
      }),
      ({ keeper }) => Effect.sync(() => keeper.close())
    ),
    ({ filename }) => at(filename)
  )
}

conformance("SQLite file", file)
conformance("SQLite in memory", memory)
leaseConformance("SQLite file", file)
leaseConformance("SQLite in memory", memory)
