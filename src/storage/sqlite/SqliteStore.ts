/**
 * The SQLite store: one file (or memory), opened through Node's built-in `node:sqlite`, with WAL,
 * foreign keys, an asynchronous busy wait and versioned migrations. The rules are the shared ones
 * (SqlStore.ts); this module owns only opening, the SQLite dialect and its errors.
 *
 * @since 0.1.0
 */
import type { SqlClient } from "@effect/sql"
import { SqlClient as SqlClientTag } from "@effect/sql"
import type { Connection } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, type Scope } from "effect"
import { resolveDbPath } from "../../Config.js"
import type { StorageError } from "../../Errors.js"
import type { CompactionStep, Service, StoreOpenFailure } from "../../Storage.js"
import { Storage } from "../../Storage.js"
import { makeRun, type SyncConnection } from "../Program.js"
import * as SqlStore from "../SqlStore.js"
import * as Dialect from "./dialect.js"
import * as NodeSqliteClient from "./NodeSqliteClient.js"
import { causeOf, fromCause, migrate, preflight } from "./open.js"

export interface Options {
  /**
   * A file path (`~` is expanded; the parent directory is created), `:memory:`, or a SQLite URI
   * (`file:…`, used as given: `file:/name?vfs=memdb` is an in-memory database that every
   * connection of this process opening the same URI shares).
   */
  readonly filename: string
  readonly walMode?: boolean | undefined
  /** Milliseconds a writer waits for another connection's lock before failing (default 30 s). */
  readonly busyTimeoutMs?: number | undefined
  /** Test hook: runs before each step of a compaction commit, inside its transaction. */
  readonly onCompactionStep?: ((step: CompactionStep) => Effect.Effect<void, StorageError>) | undefined
  /** Test hook: wraps the database connection (to count or fail statements, whatever the backend). */
  readonly wrapConnection?: ((connection: SyncConnection) => Connection) | undefined
}

/**
 * The store over an open client: pragmas, migrations, then the shared rules with SQLite's dialect.
 * Two stores made over one client share its connection (and so its transactions' order).
 */
export const fromClient = (
  sql: SqlClient.SqlClient,
  options: Pick<Options, "filename" | "onCompactionStep"> & {
    /** The client's connection, to run write transactions on at once (see storage/Program.ts). */
    readonly connection?: Connection | undefined
  }
): Effect.Effect<Service, StoreOpenFailure> =>
  Effect.gen(function*() {
    const path = options.filename
    yield* Effect.all([sql`PRAGMA foreign_keys = ON`, sql`PRAGMA synchronous = NORMAL`]).pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(fromCause(path, "open", error.cause)))
    )
    yield* migrate(sql, path)
    return yield* SqlStore.make(Dialect.make(sql, makeRun({ connection: options.connection })), {
      fromSqlError: (operation: string, error: SqlError) => fromCause(path, operation, error.cause),
      fromDefect: (operation, defect) => fromCause(path, operation, causeOf(defect)),
      onCompactionStep: options.onCompactionStep,
      connection: options.connection
    }).pipe(Effect.provideService(SqlClientTag.SqlClient, sql))
  })

/**
 * The SQLite store as a scoped effect (the connection closes with the scope).
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, StoreOpenFailure, Scope.Scope> =>
  Effect.gen(function*() {
    const uri = options.filename.startsWith("file:")
    const filename = uri ? options.filename : resolveDbPath(options.filename)
    if (!uri) yield* preflight(filename)
    const { client, connection } = yield* NodeSqliteClient.makeWithConnection({
      filename,
      walMode: options.walMode,
      busyTimeoutMs: options.busyTimeoutMs,
      wrapConnection: options.wrapConnection
    }).pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(fromCause(filename, "open", error.cause))),
      Effect.catchAllDefect((defect) => Effect.fail(fromCause(filename, "open", defect)))
    )
    return yield* fromClient(client, { filename, onCompactionStep: options.onCompactionStep, connection })
  })

/**
 * SQLite at `filename`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Storage, StoreOpenFailure> =>
  Layer.scoped(Storage, make(options))

/**
 * SQLite in memory: the same SQL as the file store, gone when the layer's scope closes.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Storage, StoreOpenFailure> = Layer.suspend(() =>
  layer({ filename: ":memory:" })
)
