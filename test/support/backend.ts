/**
 * The store tests run on, chosen by the environment: SQLite (in memory, or a temporary file when
 * several handles share a database) by default; PostgreSQL when `MNESIS_TEST_DATABASE_URL` is set
 * (`npm run test:pg` sets it), each database a fresh schema of that server, dropped afterwards, so
 * tests never see each other's rows.
 *
 * Suites that must hold on every backend (sessions, compaction) take their layers from here:
 * `MnesisTest` and `makeTest` as in `src/Layers.ts`, and `sharedDatabase` where the test opens
 * one database more than once (several layers, or worker processes).
 */
import { Effect, Layer, type Scope } from "effect"
import pg from "pg"
import * as Layers from "../../src/Layers.js"
import type { CompactionStep, Storage, StoreOpenFailure } from "../../src/Storage.js"
import * as PostgresStore from "../../src/storage/postgres/PostgresStore.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import type { StorageError } from "../../src/Errors.js"
import { tempDbPath } from "./storage.js"

const url = process.env["MNESIS_TEST_DATABASE_URL"]?.trim()

/** The PostgreSQL server tests use, when one is given. */
export const postgresUrl: string | undefined = url === undefined || url === "" ? undefined : url

/** The backend the store suites run on. */
export const backend: "sqlite" | "postgres" = postgresUrl === undefined ? "sqlite" : "postgres"

let schemas = 0

/** Runs one statement on the test server with a connection of its own. */
export const adminQuery = (serverUrl: string, text: string, params: ReadonlyArray<unknown> = []) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: serverUrl })
    await client.connect()
    try {
      return (await client.query(text, [...params])).rows as ReadonlyArray<Record<string, unknown>>
    } finally {
      await client.end()
    }
  })

/** The URL of `serverUrl` with its connections' search_path set to `schema`. */
export const withSchema = (serverUrl: string, schema: string) => {
  const parsed = new URL(serverUrl)
  parsed.searchParams.set("options", `-c search_path=${schema}`)
  return parsed.toString()
}

/**
 * A fresh, empty schema on the test server (its URL and name), dropped with everything in it
 * when the scope closes.
 */
export const freshSchema = (serverUrl: string): Effect.Effect<
  { readonly url: string; readonly schema: string },
  never,
  Scope.Scope
> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const schema = `t_${process.pid}_${++schemas}_${Math.random().toString(36).slice(2, 8)}`
      return Effect.as(
        adminQuery(serverUrl, `CREATE SCHEMA ${schema}`),
        { url: withSchema(serverUrl, schema), schema }
      )
    }),
    ({ schema }) => adminQuery(serverUrl, `DROP SCHEMA ${schema} CASCADE`)
  )

/** Options a test may give a store it opens. */
export interface StoreOptions {
  readonly onCompactionStep?: ((step: CompactionStep) => Effect.Effect<void, StorageError>) | undefined
}

/** One database that several store layers (or processes) open; removed when the scope closes. */
export interface SharedDatabase {
  /** A new store on this database. */
  readonly layer: (options?: StoreOptions) => Layer.Layer<Storage, StoreOpenFailure>
  /** Where it is, for a worker process: a SQLite file path or a PostgreSQL URL (see `storeFor`). */
  readonly location: string
}

/** The store at a `SharedDatabase.location` (for worker processes). */
export const storeFor = (location: string, options: StoreOptions = {}): Layer.Layer<Storage, StoreOpenFailure> =>
  location.startsWith("postgres://") || location.startsWith("postgresql://")
    ? PostgresStore.layer({ url: location, poolSize: 4, ...options })
    : SqliteStore.layer({ filename: location, ...options })

/** A database for several handles: a fresh schema on PostgreSQL, a temporary file on SQLite. */
export const sharedDatabase: Effect.Effect<SharedDatabase, never, Scope.Scope> = postgresUrl === undefined
  ? Effect.map(tempDbPath, (location) => ({ location, layer: (options) => storeFor(location, options) }))
  : Effect.map(freshSchema(postgresUrl), ({ url: location }) => ({
    location,
    layer: (options) => storeFor(location, options)
  }))

/** A store of its own for one test: SQLite in memory, or PostgreSQL on a fresh schema. */
export const testStore = (options: StoreOptions = {}): Layer.Layer<Storage, StoreOpenFailure> =>
  postgresUrl === undefined
    ? options.onCompactionStep === undefined
      ? SqliteStore.layerMemory
      : SqliteStore.layer({ filename: ":memory:", onCompactionStep: options.onCompactionStep })
    : Layer.unwrapScoped(Effect.map(sharedDatabase, (database) => database.layer(options)))

/** `makeTest` of src/Layers.ts with the backend's store when the test names none. */
export const makeTest = (options: Layers.TestOptions = {}) =>
  Layers.makeTest({ ...options, storage: options.storage ?? testStore() })

/** `MnesisTest` of src/Layers.ts on the backend's store. */
export const MnesisTest = makeTest()
