/**
 * The PostgreSQL store: one database shared by many workers on many machines, through a pool of
 * connections (`@effect/sql-pg` over the `pg` driver). The rules are the shared ones (SqlStore.ts):
 * every write is one transaction whose first statement writes the session row, so writers of one
 * session — in this process or another — wait for each other on that row lock, and seq and turn
 * numbers are taken under it. This module owns only connecting, the PostgreSQL dialect, its
 * migrations and its errors.
 *
 * The driver is loaded when the store is built, never when `mnesis` is imported: a program that
 * never opens a PostgreSQL store needs neither `pg` nor `@effect/sql-pg` installed.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import type { SqlClient } from "@effect/sql"
import { SqlClient as SqlClientTag } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, Redacted, type Scope } from "effect"
import type { ConnectionOptions } from "node:tls"
import type { StorageError } from "../../Errors.js"
import { StorageError as StorageErrorClass } from "../../Errors.js"
import type { CompactionStep, Service, StoreOpenFailure } from "../../Storage.js"
import { Storage } from "../../Storage.js"
import { makeRun } from "../Program.js"
import * as SqlStore from "../SqlStore.js"
import * as Dialect from "./dialect.js"
import { causeMessage, causeOf, fromCause, migrate } from "./open.js"

export interface Options {
  /**
   * A connection URL, `postgres://user:password@host:port/database` (libpq parameters such as
   * `?sslmode=require` or `?options=-c%20search_path%3Dmy_schema` are understood).
   */
  readonly url: string | Redacted.Redacted<string>
  /** Connections this process keeps open at most (default 10). */
  readonly poolSize?: number | undefined
  /**
   * Milliseconds any statement may run — waiting for another writer's row lock included — before
   * PostgreSQL cancels it (default 30 s; 0 turns the limit off).
   */
  readonly statementTimeoutMs?: number | undefined
  /** TLS: `true`, or Node's TLS options (`{ ca, rejectUnauthorized }`…); off by default. */
  readonly ssl?: boolean | ConnectionOptions | undefined
  /** Milliseconds to wait for a connection to open (default 10 s). */
  readonly connectTimeoutMs?: number | undefined
  /** The `application_name` PostgreSQL shows for these connections (default "mnesis"). */
  readonly applicationName?: string | undefined
  /** Test hook: runs before each step of a compaction commit, inside its transaction. */
  readonly onCompactionStep?: ((step: CompactionStep) => Effect.Effect<void, StorageError>) | undefined
  /** Test hook: wraps each connection the store uses (to count or fail statements). */
  readonly wrapConnection?: ((connection: Connection) => Connection) | undefined
}

/** Where a URL points, without its credentials (for messages). */
const describe = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `postgres://${parsed.host}${parsed.pathname}`
  } catch {
    return "postgres (an unparsable url)"
  }
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000

/** The driver, loaded on first use. */
const loadDriver = (target: string) =>
  Effect.tryPromise({
    try: () => Promise.all([import("pg"), import("@effect/sql-pg/PgClient")]),
    catch: (cause) =>
      new StorageErrorClass({
        operation: "open",
        reason: `the PostgreSQL driver could not be loaded for ${target} (${
          causeMessage(cause)
        }); install it with \`npm install @effect/sql-pg\``,
        cause
      })
  })

/** `bigint` and `numeric` values as numbers: the store's counts, times and totals fit in a double. */
const parseNumber = (value: string) => Number(value)
const INT8 = 20
const NUMERIC = 1700

/** A client whose connections are wrapped (fault injection), over the same pool and compiler. */
const wrapped = (
  client: SqlClient.SqlClient,
  compiler: Parameters<typeof SqlClientTag.make>[0]["compiler"],
  wrap: (connection: Connection) => Connection
) =>
  SqlClientTag.make({
    // uninterruptible: `reserve` cannot be cancelled while it waits for the pool, and a connection
    // handed to an interrupted statement would never return to it
    acquirer: Effect.uninterruptible(Effect.map(client.reserve, wrap)),
    transactionAcquirer: Effect.uninterruptible(Effect.map(client.reserve, wrap)),
    compiler,
    spanAttributes: [["db.system.name", "postgresql"]]
  })

/**
 * The PostgreSQL store as a scoped effect: the pool closes with the scope.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, StoreOpenFailure, Scope.Scope> =>
  Effect.gen(function*() {
    const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
    const target = describe(url)
    const [pg, PgClient] = yield* loadDriver(target)
    const statementTimeout = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS
    // this pool's parsers only: the process' other users of `pg` keep theirs
    const types = new pg.TypeOverrides()
    types.setTypeParser(INT8, parseNumber)
    types.setTypeParser(NUMERIC, parseNumber)
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new pg.Pool({
          connectionString: url,
          max: options.poolSize ?? 10,
          ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
          ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
          connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
          application_name: options.applicationName ?? "mnesis",
          types
        })
        // an idle connection the server closed: the pool replaces it; a query on it reports its own error
        pool.on("error", () => undefined)
        return pool
      }),
      (pool) => Effect.promise(() => pool.end())
    )
    const open = <A>(effect: Effect.Effect<A, SqlError, Scope.Scope | Reactivity.Reactivity>) =>
      effect.pipe(
        Effect.provide(Reactivity.layer),
        Effect.catchTag("SqlError", (error) => Effect.fail(fromCause(target, "open", error.cause)))
      )
    const base = yield* open(PgClient.fromPool({ acquire: Effect.succeed(pool) }))
    const sql = options.wrapConnection === undefined
      ? base
      : yield* open(wrapped(base, PgClient.makeCompiler(), options.wrapConnection))
    yield* sql`SELECT 1`.pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(fromCause(target, "open", error.cause)))
    )
    yield* migrate(sql, target)
    return yield* SqlStore.make(Dialect.make(sql, makeRun({})), {
      fromSqlError: (operation: string, error: SqlError) => fromCause(target, operation, error.cause),
      fromDefect: (operation, defect) => fromCause(target, operation, causeOf(defect)),
      onCompactionStep: options.onCompactionStep
    }).pipe(Effect.provideService(SqlClientTag.SqlClient, sql))
  })

/**
 * PostgreSQL at `url`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Storage, StoreOpenFailure> =>
  Layer.scoped(Storage, make(options))
