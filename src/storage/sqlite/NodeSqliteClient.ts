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
 * Two departures, both for several writers: a transaction begins with `BEGIN IMMEDIATE`, so it
 * takes the write lock before its first read (a deferred transaction that read first could not
 * upgrade once another connection had written, and would fail at once); and a statement that finds
 * the database locked (SQLITE_BUSY) waits asynchronously and tries again until the busy timeout,
 * instead of SQLite's own busy handler, which would block the whole thread (node:sqlite is
 * synchronous) — including the fiber of another connection in this process that holds the lock.
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
import { Context, Effect, Random, Scope } from "effect"
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite"
import type { SyncConnection } from "../Program.js"

export interface NodeSqliteOptions {
  readonly filename: string
  readonly readonly?: boolean | undefined
  /** Journal mode WAL unless false (`:memory:` databases ignore it). */
  readonly walMode?: boolean | undefined
  /** How long a statement waits for another connection's lock before SQLITE_BUSY. */
  readonly busyTimeoutMs?: number | undefined
  readonly prepareCacheSize?: number | undefined
  /** Wraps the connection, e.g. to inject failures in tests. */
  readonly wrapConnection?: ((connection: SyncConnection) => Connection) | undefined
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

/** Opens the database: the lazy import keeps the driver out of `import "mnesis"`. */
const open = (options: NodeSqliteOptions): Effect.Effect<DatabaseSync, SqlError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const { DatabaseSync } = await import("node:sqlite")
        // no busy handler of SQLite's own: a locked database is waited for asynchronously (see above)
        return new DatabaseSync(options.filename, { readOnly: options.readonly ?? false, timeout: 0 })
      },
      catch: (cause) => new SqlError({ cause, message: "Failed to open the database" })
    }),
    (db) => Effect.sync(() => db.isOpen && db.close())
  )

const isBusy = (cause: unknown) => sqliteErrorCode(cause) === "SQLITE_BUSY"

/** Sleeps in real time: another process holding the lock does not follow a test's clock. */
const pause = (ms: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), ms)
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * A prepared statement with the settings last applied to it: `setReadBigInts` and
 * `setReturnArrays` cost as much as a small statement, so they are called only on a change.
 */
interface Prepared {
  readonly statement: StatementSync
  /** False for statements without result columns (INSERT, UPDATE without RETURNING, BEGIN…): run, not all. */
  readonly returnsRows: boolean
  safeIntegers: boolean
  arrays: boolean
}

const preparedOf = (statement: StatementSync): Prepared => ({
  statement,
  returnsRows: statement.columns().length > 0,
  safeIntegers: false,
  arrays: false
})

const NO_ROWS: ReadonlyArray<Row> = []

const runPrepared = (
  prepared: Prepared,
  params: ReadonlyArray<unknown>,
  arrays: boolean,
  safeIntegers: boolean
): ReadonlyArray<Row> => {
  const { statement } = prepared
  if (!prepared.returnsRows) {
    statement.run(...bindable(params))
    return NO_ROWS
  }
  if (prepared.safeIntegers !== safeIntegers) {
    statement.setReadBigInts(safeIntegers)
    prepared.safeIntegers = safeIntegers
  }
  if (prepared.arrays !== arrays) {
    statement.setReturnArrays(arrays)
    prepared.arrays = arrays
  }
  return statement.all(...bindable(params))
}

/** The statements of transaction control (few distinct texts, worth keeping prepared). */
const TRANSACTION_CONTROL = /^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/

/**
 * Runs `attempt`; while it finds the database locked, waits (1, 2, 4 … 50 ms, jittered) and tries
 * again until `timeoutMs` have passed. Retrying is safe: every write transaction holds its lock
 * from `BEGIN IMMEDIATE` on, so a statement can only find the database locked before any of its
 * transaction's writes (or at a COMMIT, which SQLite lets the caller retry).
 */
const attemptNow = <A>(timeoutMs: number, message: string, attempt: () => A): Effect.Effect<A, SqlError> => {
  // the common case first, without the retry loop's allocations
  try {
    return Effect.succeed(attempt())
  } catch (cause) {
    if (!isBusy(cause)) return Effect.fail(new SqlError({ cause, message }))
  }
  let deadline: number | undefined
  let delay = 1
  const retry: Effect.Effect<A, SqlError> = Effect.suspend(() => {
    try {
      return Effect.succeed(attempt())
    } catch (cause) {
      const now = Date.now()
      deadline ??= now + timeoutMs
      if (!isBusy(cause) || now >= deadline) return Effect.fail(new SqlError({ cause, message }))
      const wait = delay
      delay = Math.min(delay * 2, 50)
      return Effect.flatMap(
        Random.nextRange(0.5, 1.5),
        (jitter) => Effect.zipRight(pause(wait * jitter), retry)
      )
    }
  })
  return Effect.zipRight(pause(1), retry)
}

const withBusyRetry = <A>(timeoutMs: number, message: string, attempt: () => A): Effect.Effect<A, SqlError> =>
  Effect.suspend(() => attemptNow(timeoutMs, message, attempt))

const makeConnection = (options: NodeSqliteOptions): Effect.Effect<Connection, SqlError, Scope.Scope> =>
  Effect.gen(function*() {
    const db = yield* open(options)
    const timeoutMs = Math.max(0, Math.round(options.busyTimeoutMs ?? 30_000))
    const inMemory = options.filename === ":memory:" || options.filename.includes("vfs=memdb")
    if (options.walMode !== false && !inMemory) {
      yield* withBusyRetry(timeoutMs, "Failed to enable WAL", () => db.exec("PRAGMA journal_mode = WAL"))
    }

    // A plain map in least-recently-used order: cheaper per statement than an Effect `Cache`.
    const capacity = options.prepareCacheSize ?? 200
    const prepared = new Map<string, Prepared>()
    const prepare = (sql: string): Prepared => {
      const cached = prepared.get(sql)
      if (cached !== undefined) {
        prepared.delete(sql)
        prepared.set(sql, cached)
        return cached
      }
      const fresh = preparedOf(db.prepare(sql))
      prepared.set(sql, fresh)
      if (prepared.size > capacity) prepared.delete(prepared.keys().next().value!)
      return fresh
    }

    const rows = (sql: string, params: ReadonlyArray<unknown>, arrays: boolean, cache: boolean) =>
      Effect.withFiberRuntime<ReadonlyArray<Row>, SqlError>((fiber) => {
        const safeIntegers = Context.get(fiber.currentContext, Client.SafeIntegers)
        return attemptNow(
          timeoutMs,
          "Failed to execute statement",
          () => runPrepared(cache ? prepare(sql) : preparedOf(db.prepare(sql)), params, arrays, safeIntegers)
        )
      })

    const withTransform = (
      effect: Effect.Effect<ReadonlyArray<Row>, SqlError>,
      transformRows: (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined
    ) => transformRows === undefined ? effect : Effect.map(effect, transformRows)

    /**
     * Transaction control comes as "unprepared" statements; its few texts are cached like the
     * rest. A COMMIT that fails leaves the transaction open in SQLite: it is rolled back, so the
     * connection stays usable.
     */
    const unprepared = (sql: string, params: ReadonlyArray<unknown>) => {
      const statement = rows(sql, params, false, TRANSACTION_CONTROL.test(sql))
      return sql !== "COMMIT"
        ? statement
        : Effect.tapError(statement, () => Effect.sync(() => db.isTransaction && db.exec("ROLLBACK")))
    }

    const connection: SyncConnection = {
      execute: (sql, params, transformRows) => withTransform(rows(sql, params, false, true), transformRows),
      executeRaw: (sql, params) =>
        withBusyRetry(
          timeoutMs,
          "Failed to execute statement",
          () => prepare(sql).statement.run(...bindable(params))
        ),
      executeValues: (sql, params) => Effect.map(rows(sql, params, true, true), toValueRows),
      executeUnprepared: (sql, params, transformRows) =>
        withTransform(unprepared(sql, params), transformRows),
      executeStream: () => Effect.dieMessage("executeStream is not supported by the node:sqlite client"),
      // for write transactions run at once (storage/Program.ts): only their BEGIN can find the
      // database locked, and the caller then takes the Effect path, which waits
      executeSync: (sql, params) => runPrepared(prepare(sql), params, false, false),
      executeValuesSync: (sql, params) => toValueRows(runPrepared(prepare(sql), params, true, false)),
      inTransaction: () => db.isTransaction
    }
    return options.wrapConnection?.(connection) ?? connection
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
  Effect.map(makeWithConnection(options), ({ client }) => client)

/**
 * The client and its one connection (wrapped, when `wrapConnection` is given), for callers that
 * run whole transactions synchronously on it (storage/Program.ts).
 */
export const makeWithConnection = (
  options: NodeSqliteOptions
): Effect.Effect<
  { readonly client: Client.SqlClient; readonly connection: Connection },
  SqlError,
  Scope.Scope
> =>
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
    const client = yield* Client.make({
      acquirer,
      transactionAcquirer,
      compiler: Statement.makeCompilerSqlite(),
      beginTransaction: "BEGIN IMMEDIATE",
      spanAttributes: [["db.system.name", "sqlite"]]
    }).pipe(Effect.provide(Reactivity.layer))
    return { client, connection }
  })
