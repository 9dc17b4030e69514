/**
 * An `@effect/sql` client over Node's built-in SQLite (`node:sqlite`, Node 22.16+).
 *
 * Why not `@effect/sql-sqlite-node`: it pins better-sqlite3 12, which aborts at exit on Node 24
 * and compiles from source on every install. `node:sqlite` ships with Node itself (FTS5, WAL and
 * the busy timeout included), so installing mnesis builds nothing and loads no native addon. The
 * query layer stays `@effect/sql` (statements, transactions, the migrator): only the connection
 * below is ours, shaped like the upstream client — one connection per store, serialised by a
 * semaphore, prepared statements kept in a bounded cache.
 *
 * `node:sqlite` is imported lazily when a client is made, so importing mnesis loads no driver.
 *
 * @internal
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Client from "@effect/sql/SqlClient"
import type { Connection, Row } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import { Cache, Context, Duration, Effect, Scope } from "effect"
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite"

export interface NodeSqliteOptions {
  readonly filename: string
  readonly readonly?: boolean | undefined
  /** Journal mode WAL unless false (`:memory:` databases ignore it). */
  readonly walMode?: boolean | undefined
  /** How long a statement waits for another connection's lock before SQLITE_BUSY. */
  readonly busyTimeoutMs?: number | undefined
  readonly prepareCacheSize?: number | undefined
}

/** The primary SQLite result codes a caller can act on, by number (see sqlite3.h). */
const RESULT_CODES: Readonly<Record<number, string>> = {
  1: "SQLITE_ERROR",
  3: "SQLITE_PERM",
  5: "SQLITE_BUSY",
  6: "SQLITE_LOCKED",
  7: "SQLITE_NOMEM",
  8: "SQLITE_READONLY",
  10: "SQLITE_IOERR",
  11: "SQLITE_CORRUPT",
  13: "SQLITE_FULL",
  14: "SQLITE_CANTOPEN",
  19: "SQLITE_CONSTRAINT",
  26: "SQLITE_NOTADB"
}

/**
 * The SQLite result code of a driver error as a name (`SQLITE_BUSY`…), read from the numeric
 * `errcode` that `node:sqlite` attaches; extended codes fold into their primary code.
 */
export const sqliteErrorCode = (cause: unknown): string | undefined => {
  if (typeof cause !== "object" || cause === null || !("errcode" in cause)) return undefined
  const errcode = cause.errcode
  if (typeof errcode !== "number") return undefined
  return RESULT_CODES[errcode & 0xff] ?? `SQLITE_${errcode}`
}

const failure = (message: string) => (cause: unknown) => new SqlError({ cause, message })

/** Opens the database: the lazy import keeps the driver out of `import "mnesis"`. */
const open = (options: NodeSqliteOptions): Effect.Effect<DatabaseSync, SqlError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const { DatabaseSync } = await import("node:sqlite")
        return new DatabaseSync(options.filename, {
          readOnly: options.readonly ?? false,
          timeout: Math.max(0, Math.round(options.busyTimeoutMs ?? 30_000))
        })
      },
      catch: failure("Failed to open the database")
    }),
    (db) => Effect.sync(() => db.isOpen && db.close())
  )

const makeConnection = (options: NodeSqliteOptions): Effect.Effect<Connection, SqlError, Scope.Scope> =>
  Effect.gen(function*() {
    const db = yield* open(options)
    if (options.walMode !== false && options.filename !== ":memory:") {
      yield* Effect.try({
        try: () => db.exec("PRAGMA journal_mode = WAL"),
        catch: failure("Failed to enable WAL")
      })
    }

    const prepareCache = yield* Cache.make({
      capacity: options.prepareCacheSize ?? 200,
      timeToLive: Duration.minutes(10),
      lookup: (sql: string) =>
        Effect.try({ try: () => db.prepare(sql), catch: failure("Failed to prepare statement") })
    })

    // Both settings are per statement and statements are cached: set them on every run.
    const rows = (statement: StatementSync, params: ReadonlyArray<unknown>, arrays: boolean) =>
      Effect.withFiberRuntime<ReadonlyArray<Row>, SqlError>((fiber) => {
        try {
          statement.setReadBigInts(Context.get(fiber.currentContext, Client.SafeIntegers))
          statement.setReturnArrays(arrays)
          return Effect.succeed(statement.all(...bindable(params)))
        } catch (cause) {
          return Effect.fail(new SqlError({ cause, message: "Failed to execute statement" }))
        }
      })

    const run = (sql: string, params: ReadonlyArray<unknown>, arrays = false) =>
      Effect.flatMap(prepareCache.get(sql), (statement) => rows(statement, params, arrays))

    const withTransform = (
      effect: Effect.Effect<ReadonlyArray<Row>, SqlError>,
      transformRows: (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
    ) => transformRows === undefined ? effect : Effect.map(effect, transformRows)

    return {
      execute: (sql, params, transformRows) => withTransform(run(sql, params), transformRows),
      executeRaw: (sql, params) =>
        Effect.flatMap(prepareCache.get(sql), (statement) =>
          Effect.try({
            try: () => statement.run(...bindable(params)),
            catch: failure("Failed to execute statement")
          })),
      executeValues: (sql, params) => Effect.map(run(sql, params, true), toValueRows),
      executeUnprepared: (sql, params, transformRows) =>
        withTransform(
          Effect.flatMap(
            Effect.try({ try: () => db.prepare(sql), catch: failure("Failed to prepare statement") }),
            (statement) => rows(statement, params, false)
          ),
          transformRows
        ),
      executeStream: () => Effect.dieMessage("executeStream is not supported by the node:sqlite client")
    } satisfies Connection
  })

/** `node:sqlite` binds only null, numbers, bigints, strings and bytes; booleans go in as 0/1. */
const bindable = (params: ReadonlyArray<unknown>): Array<SQLInputValue> =>
  params.map((value): SQLInputValue => {
    if (
      value === null || typeof value === "number" || typeof value === "bigint" || typeof value === "string" ||
      value instanceof Uint8Array
    ) return value
    if (typeof value === "boolean") return value ? 1 : 0
    if (value === undefined) return null
    throw new TypeError(`cannot bind a ${typeof value} to a SQLite parameter`)
  })

const toValueRows = (rows: ReadonlyArray<Row>): ReadonlyArray<ReadonlyArray<unknown>> =>
  rows.map((row) => (Array.isArray(row) ? row : Object.values(row)))

/**
 * A `SqlClient` on one `node:sqlite` connection, closed with the scope. Statements run one at a
 * time; a transaction holds the connection until it ends.
 */
export const make = (options: NodeSqliteOptions): Effect.Effect<Client.SqlClient, SqlError, Scope.Scope> =>
  Effect.gen(function*() {
    const connection = yield* makeConnection(options)
    const semaphore = yield* Effect.makeSemaphore(1)
    const acquirer = semaphore.withPermits(1)(Effect.succeed(connection))
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(
          restore(semaphore.take(1)),
          Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, semaphore.release(1)))
        ),
        connection
      )
    )
    return yield* Client.make({
      acquirer,
      transactionAcquirer,
      compiler: Statement.makeCompilerSqlite(),
      spanAttributes: [["db.system.name", "sqlite"]]
    }).pipe(Effect.provide(Reactivity.layer))
  })
