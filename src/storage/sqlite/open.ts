/**
 * Opening a SQLite store safely: checks before SQLite touches the file (directory, permissions,
 * the SQLite header), driver errors mapped to our tagged errors, and migrations that refuse a
 * newer schema and survive two processes racing to migrate the same new file.
 *
 * @internal
 */
import { Migrator, type SqlClient } from "@effect/sql"
import { SqlClient as SqlClientTag } from "@effect/sql"
import { Data, Effect, Schedule, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { DatabaseCorrupt, SchemaTooNew, StorageError } from "../../Errors.js"
import { LATEST_SCHEMA_VERSION, migrations } from "./migrations.js"
import { sqliteErrorCode } from "./NodeSqliteClient.js"

const SQLITE_HEADER = "SQLite format 3\u0000"

// ---------------------------------------------------------------------------------------------

export const causeMessage = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

const hintFor = (code: string | undefined): string => {
  switch (code) {
    case "SQLITE_BUSY":
    case "SQLITE_BUSY_SNAPSHOT":
    case "SQLITE_LOCKED":
      return "another connection held the database lock longer than store.busyTimeout; raise it or reduce contention"
    case "SQLITE_READONLY":
    case "SQLITE_READONLY_DIRECTORY":
    case "SQLITE_CANTOPEN":
      return "the database file or its directory is not writable; check the path and its permissions"
    case "SQLITE_FULL":
      return "the disk is full"
    default:
      return "see the cause for details"
  }
}

/** Maps a driver failure to our errors; corruption gets its own tag. */
export const fromCause = (
  path: string,
  operation: string,
  cause: unknown
): StorageError | DatabaseCorrupt => {
  const code = sqliteErrorCode(cause)
  if (code === "SQLITE_NOTADB" || code?.startsWith("SQLITE_CORRUPT")) {
    return new DatabaseCorrupt({ path, reason: causeMessage(cause) })
  }
  return new StorageError({
    operation,
    reason: `${code ?? "error"}: ${causeMessage(cause)} (${hintFor(code)})`,
    cause
  })
}

// ---------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------

/** Checks the file before SQLite touches it: directory, permissions, and the SQLite header. */
export const preflight = (filename: string): Effect.Effect<void, StorageError | DatabaseCorrupt> =>
  Effect.suspend((): Effect.Effect<void, StorageError | DatabaseCorrupt> => {
    if (filename === ":memory:") return Effect.void
    const fail = (reason: string, cause?: unknown) =>
      Effect.fail(new StorageError({ operation: "open", reason, cause }))
    const dir = NodePath.dirname(filename)
    try {
      NodeFs.mkdirSync(dir, { recursive: true })
    } catch (cause) {
      return fail(
        `cannot create the directory ${dir} (${causeMessage(cause)}); choose a writable store.dbPath`,
        cause
      )
    }
    let stat: NodeFs.Stats | undefined
    try {
      stat = NodeFs.statSync(filename)
    } catch {
      stat = undefined
    }
    if (stat !== undefined && !stat.isFile()) {
      return fail(`${filename} is not a regular file; store.dbPath must name a file`)
    }
    try {
      NodeFs.accessSync(dir, NodeFs.constants.W_OK)
      if (stat !== undefined) NodeFs.accessSync(filename, NodeFs.constants.R_OK | NodeFs.constants.W_OK)
    } catch (cause) {
      return fail(
        `the database ${filename} or its directory is read-only; mnesis needs write access (also for the WAL files)`,
        cause
      )
    }
    if (stat !== undefined && stat.size > 0) {
      const header = Buffer.alloc(16)
      const fd = NodeFs.openSync(filename, "r")
      try {
        NodeFs.readSync(fd, header, 0, 16, 0)
      } finally {
        NodeFs.closeSync(fd)
      }
      if (header.toString("latin1") !== SQLITE_HEADER) {
        return Effect.fail(
          new DatabaseCorrupt({ path: filename, reason: "the file is not a SQLite database" })
        )
      }
    }
    return Effect.void
  })

/** Another connection won the race to migrate and has not committed yet. */
class MigrationPending extends Data.TaggedError("MigrationPending")<{ readonly found: number }> {}

const VersionRow = Schema.Struct({ v: Schema.NullOr(Schema.Int) })
const decodeVersion = Schema.decodeUnknown(Schema.Array(VersionRow))

export const migrate = (
  sql: SqlClient.SqlClient,
  path: string
): Effect.Effect<void, StorageError | DatabaseCorrupt | SchemaTooNew> => {
  const currentVersion = Effect.gen(function*() {
    const table =
      yield* sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'effect_sql_migrations'`
    if (table.length === 0) return 0
    const [row] = yield* Effect.flatMap(
      sql`SELECT max(migration_id) AS v FROM effect_sql_migrations`,
      decodeVersion
    )
    return row?.v ?? 0
  })
  const run = Migrator.make({})({
    loader: Migrator.fromRecord(
      Object.fromEntries(migrations.map(([id, name, effect]) => [`${id}_${name}`, effect]))
    )
  })
  const attempt = Effect.gen(function*() {
    const before = yield* currentVersion
    if (before > LATEST_SCHEMA_VERSION) {
      return yield* new SchemaTooNew({ path, found: before, supported: LATEST_SCHEMA_VERSION })
    }
    if (before < LATEST_SCHEMA_VERSION) yield* run
    // Another process may have won the race to migrate and not committed yet: wait for it.
    const after = yield* currentVersion
    if (after < LATEST_SCHEMA_VERSION) return yield* new MigrationPending({ found: after })
  })
  return attempt.pipe(
    Effect.retry({
      while: (error) => error._tag === "MigrationPending",
      schedule: Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(200)))
    }),
    Effect.catchTags({
      MigrationPending: (error) =>
        Effect.fail(
          new StorageError({
            operation: "migrate",
            reason:
              `another connection started migrating the database from version ${error.found} and did not ` +
              `finish within 10 s; check for a stuck process`
          })
        ),
      MigrationError: (error) =>
        Effect.fail(new StorageError({ operation: "migrate", reason: error.message, cause: error })),
      SqlError: (error) => Effect.fail(fromCause(path, "migrate", error.cause)),
      ParseError: (error) =>
        Effect.fail(
          new StorageError({ operation: "migrate", reason: `unreadable schema version: ${error.message}` })
        )
    }),
    Effect.catchAllDefect((defect) => Effect.fail(fromCause(path, "migrate", causeOf(defect)))),
    Effect.provideService(SqlClientTag.SqlClient, sql)
  )
}

/** The driver error inside a defect (`@effect/sql` wraps a failed COMMIT in one). */
export const causeOf = (defect: unknown): unknown =>
  typeof defect === "object" && defect !== null && "cause" in defect ? defect.cause : defect
