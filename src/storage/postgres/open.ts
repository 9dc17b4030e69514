/**
 * Opening a PostgreSQL store: driver errors mapped to the store's tagged errors by SQLSTATE, and
 * migrations that many workers may start at once on a new database — one migrates, under a
 * transaction-scoped advisory lock, the others wait for it and find the work done.
 *
 * @internal
 */
import { Migrator, type SqlClient } from "@effect/sql"
import { SqlClient as SqlClientTag } from "@effect/sql"
import { Effect, Schema } from "effect"
import { DatabaseCorrupt, SchemaTooNew, StorageError } from "../../Errors.js"
import { LATEST_SCHEMA_VERSION, migrations } from "./migrations.js"

export const causeMessage = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/** The SQLSTATE of a PostgreSQL error, or the system error code of a failed connection. */
export const errorCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

const hintFor = (code: string | undefined): string => {
  switch (code) {
    case "57014":
      return "a statement ran longer than the store's statementTimeoutMs (or waited that long for a session " +
        "another worker was writing); raise it or reduce contention"
    case "40P01":
    case "40001":
      return "the database aborted the transaction to resolve a conflict; retry the operation"
    case "53300":
      return "PostgreSQL refused the connection (too many clients); lower poolSize or raise max_connections"
    case "28P01":
    case "28000":
      return "PostgreSQL refused the credentials; check the user and password in the store's url"
    case "3D000":
      return "the database named in the store's url does not exist; create it first"
    case "3F000":
      return "the schema named in the url's search_path does not exist; create it first"
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "ETIMEDOUT":
    case "ECONNRESET":
      return "PostgreSQL cannot be reached; check the host and port of the store's url and that the server runs"
    case "23514":
    case "23000":
      return "the database refused a change its guards forbid"
    default:
      return "see the cause for details"
  }
}

/** Maps a driver failure to the store's errors; corruption gets its own tag. */
export const fromCause = (
  target: string,
  operation: string,
  cause: unknown
): StorageError | DatabaseCorrupt => {
  const code = errorCode(cause)
  if (code === "XX001" || code === "XX002") {
    return new DatabaseCorrupt({ path: target, reason: causeMessage(cause) })
  }
  return new StorageError({
    operation,
    reason: `${code ?? "error"}: ${causeMessage(cause)} (${hintFor(code)})`,
    cause
  })
}

/** The driver error inside a defect (`@effect/sql` wraps a failed COMMIT in one). */
export const causeOf = (defect: unknown): unknown =>
  typeof defect === "object" && defect !== null && "cause" in defect ? defect.cause : defect

const VersionRow = Schema.Struct({ v: Schema.NullOr(Schema.Number) })
const decodeVersion = Schema.decodeUnknown(Schema.Array(VersionRow))

/** The key of the advisory lock migrations hold (any constant: it names this purpose). */
const MIGRATION_LOCK = 7_236_011_804

/**
 * Brings the schema to this code's version, in one transaction: the advisory lock first (a second
 * worker waits here, then finds nothing to do), the migrations table, the version check, then the
 * migrations. A failure rolls the whole step back.
 */
export const migrate = (
  sql: SqlClient.SqlClient,
  target: string
): Effect.Effect<void, StorageError | DatabaseCorrupt | SchemaTooNew> =>
  sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`
    // the Migrator's own check for its table would abort this transaction where it is missing
    yield* sql`CREATE TABLE IF NOT EXISTS effect_sql_migrations (
      migration_id integer PRIMARY KEY,
      created_at timestamp with time zone NOT NULL DEFAULT now(),
      name text NOT NULL
    )`
    const [row] = yield* Effect.flatMap(
      sql`SELECT max(migration_id) AS v FROM effect_sql_migrations`,
      decodeVersion
    )
    const found = row?.v ?? 0
    if (found > LATEST_SCHEMA_VERSION) {
      return yield* new SchemaTooNew({ path: target, found, supported: LATEST_SCHEMA_VERSION })
    }
    if (found < LATEST_SCHEMA_VERSION) {
      yield* Migrator.make({})({
        loader: Migrator.fromRecord(
          Object.fromEntries(migrations.map(([id, name, effect]) => [`${id}_${name}`, effect]))
        )
      })
    }
  })).pipe(
    Effect.catchTags({
      MigrationError: (error) =>
        Effect.fail(new StorageError({ operation: "migrate", reason: error.message, cause: error })),
      SqlError: (error) => Effect.fail(fromCause(target, "migrate", error.cause)),
      ParseError: (error) =>
        Effect.fail(
          new StorageError({ operation: "migrate", reason: `unreadable schema version: ${error.message}` })
        )
    }),
    Effect.catchAllDefect((defect) => Effect.fail(fromCause(target, "migrate", causeOf(defect)))),
    Effect.provideService(SqlClientTag.SqlClient, sql)
  )
