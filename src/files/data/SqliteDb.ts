/**
 * SQLite database files: their schema, read by SQLite itself (`node:sqlite`, read-only) from a
 * private copy of the bytes in the temporary directory, so the summary never touches (or locks)
 * the caller's file and works the same for bytes handed in without a path.
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import { clip, num, plural } from "../Digest.js"
import { type Digest, type Item, Unparseable } from "../types.js"

interface SchemaRow {
  readonly type: string
  readonly name: string
  readonly tbl_name: string
  readonly sql: string | null
}

interface ColumnRow {
  readonly name: string
  readonly type: string
  readonly notnull: number
  readonly pk: number
  readonly hidden: number
}

const asSchemaRow = (row: Record<string, unknown>): SchemaRow => ({
  type: String(row.type),
  name: String(row.name),
  tbl_name: String(row.tbl_name),
  sql: typeof row.sql === "string" ? row.sql : null
})

const asColumnRow = (row: Record<string, unknown>): ColumnRow => ({
  name: String(row.name),
  type: String(row.type),
  notnull: Number(row.notnull),
  pk: Number(row.pk),
  hidden: Number(row.hidden)
})

const quoteName = (name: string): string => `"${name.replace(/"/g, "\"\"")}"`

const read = (database: DatabaseSync, bytes: number): Digest => {
  const schema = database.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY rowid").all()
    .map(asSchemaRow)
  const tables: Array<Item> = []
  const views: Array<Item> = []
  const indexes: Array<Item> = []
  const triggers: Array<Item> = []
  let rows = 0
  for (const entry of schema) {
    if (entry.type === "table") {
      if (entry.name.startsWith("sqlite_")) continue
      const columns = database.prepare(`PRAGMA table_xinfo(${quoteName(entry.name)})`).all().map(asColumnRow)
        .filter((c) => c.hidden === 0)
      let count = "?"
      try {
        const found = database.prepare(`SELECT count(*) AS n FROM ${quoteName(entry.name)}`).get()
        const n = Number(found?.n ?? 0)
        rows += n
        count = plural(n, "row")
      } catch {
        // A virtual table whose module this SQLite lacks (e.g. an extension's): schema only.
        count = "rows unknown"
      }
      const flags = (entry.sql ?? "").match(/\)\s*((STRICT|WITHOUT\s+ROWID)[\s,]*)+$/i)?.[1]?.trim()
      tables.push({
        text: `${entry.name} (${plural(columns.length, "column")}, ${count}${
          flags === undefined ? "" : `, ${flags}`
        })`,
        children: columns.map((c) => ({
          text: `${c.name}${c.type === "" ? "" : ` ${c.type}`}${c.pk > 0 ? " PRIMARY KEY" : ""}${
            c.notnull === 1 ? " NOT NULL" : ""
          }`
        }))
      })
    } else if (entry.type === "view") {
      views.push({ text: entry.name })
    } else if (entry.type === "index" && entry.sql !== null) {
      // Indexes with no SQL are SQLite's own (for UNIQUE / PRIMARY KEY constraints).
      indexes.push({ text: clip(entry.sql.replace(/\s+/g, " ")) })
    } else if (entry.type === "trigger") {
      triggers.push({ text: `${entry.name} ON ${entry.tbl_name}` })
    }
  }
  const version = database.prepare("PRAGMA user_version").get()
  const userVersion = Number(version?.user_version ?? 0)
  return {
    headline:
      `SQLite database, ${num(bytes)} bytes: ${plural(tables.length, "table")}, ${
        plural(views.length, "view")
      }, ` +
      `${plural(rows, "row")} in all${userVersion === 0 ? "" : `, user_version ${userVersion}`}`,
    sections: [
      { title: "Tables", items: tables },
      { title: "Views", items: views },
      { title: "Indexes", items: indexes },
      { title: "Triggers", items: triggers }
    ]
  }
}

export const digest = (bytes: Uint8Array): Digest => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-sqlite-"))
  try {
    const file = NodePath.join(dir, "copy.db")
    // A WAL-mode header (bytes 18-19 = 2) would make a read-only open look for the -wal and -shm
    // files; the private copy is switched to the rollback journal so it opens on its own.
    const copy = bytes.length >= 20 && (bytes[18] === 2 || bytes[19] === 2) ? Uint8Array.from(bytes) : bytes
    if (copy !== bytes) copy[18] = copy[19] = 1
    NodeFs.writeFileSync(file, copy)
    let database: DatabaseSync
    try {
      database = new DatabaseSync(file, { readOnly: true })
    } catch (error) {
      throw new Unparseable(
        `SQLite could not open it: ${error instanceof Error ? error.message : String(error)}`
      )
    }
    try {
      return read(database, bytes.length)
    } catch (error) {
      throw new Unparseable(
        `SQLite could not read its schema: ${error instanceof Error ? error.message : String(error)}`
      )
    } finally {
      database.close()
    }
  } finally {
    NodeFs.rmSync(dir, { recursive: true, force: true })
  }
}
