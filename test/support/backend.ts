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
import type { Connection } from "@effect/sql/SqlConnection"
import { type Duration, Effect, Fiber, Layer, Option, type Scope, TestClock } from "effect"
import { DatabaseSync } from "node:sqlite"
import pg from "pg"
import type { StorageError } from "../../src/Errors.js"
import * as Layers from "../../src/Layers.js"
import type { CompactionStep, Storage, StoreOpenFailure } from "../../src/Storage.js"
import * as PostgresStore from "../../src/storage/postgres/PostgresStore.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
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
  /** Runs a statement outside the store (to plant rows an older release could have written). */
  readonly execute: (statement: string) => Effect.Effect<void>
  /**
   * The database's own consistency check, "ok" when it passes: SQLite's `integrity_check`, or on
   * PostgreSQL that no index of the schema was left invalid.
   */
  readonly integrity: Effect.Effect<string>
}

/** Statements of this process on PostgreSQL that have not answered yet (see `settle`). */
let pending = 0

const track = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.suspend(() => {
    pending++
    return Effect.ensuring(effect, Effect.sync(() => pending--))
  })

/** A connection whose statements are counted in `pending`. */
const counted = (connection: Connection): Connection => ({
  execute: (sql, params, transformRows) => track(connection.execute(sql, params, transformRows)),
  executeRaw: (sql, params) => track(connection.executeRaw(sql, params)),
  executeValues: (sql, params) => track(connection.executeValues(sql, params)),
  executeUnprepared: (sql, params, transformRows) =>
    track(connection.executeUnprepared(sql, params, transformRows)),
  executeStream: (sql, params, transformRows) => connection.executeStream(sql, params, transformRows)
})

/** A macrotask of the real event loop (TestClock does not hold it). */
const macrotask = Effect.async<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), 1)
  return Effect.sync(() => clearTimeout(timer))
})

/**
 * Lets forked fibers (event handlers, background rounds, a turn just forked) run until each waits
 * for the clock or for another fiber. SQLite answers a statement at once, so yielding is enough;
 * PostgreSQL answers over the network, in real time that TestClock does not move: there the
 * fibers also get to wait until no statement is pending.
 */
export const settle: Effect.Effect<void> = Effect.suspend(() => {
  if (postgresUrl === undefined) return Effect.repeatN(Effect.yieldNow(), 50)
  const loop = (quiet: number): Effect.Effect<void> =>
    quiet >= 2 ? Effect.void : Effect.zipRight(
      Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 50), macrotask),
      Effect.suspend(() => loop(pending === 0 ? quiet + 1 : 0))
    )
  return loop(0)
})

/**
 * Moves TestClock by `step` until `fiber` is done, letting fibers settle in between, and joins it:
 * a fiber that sleeps again after a store write (a round's next summary call) may register its
 * sleep only after one adjustment is over when the store answers in real time.
 */
export const adjustUntilDone = <A, E>(
  fiber: Fiber.Fiber<A, E>,
  step: Duration.DurationInput
): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    for (let moves = 0; moves < 1_000; moves++) {
      yield* settle
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.join(fiber)
  })

/** The store at a `SharedDatabase.location` (for worker processes). */
export const storeFor = (
  location: string,
  options: StoreOptions = {}
): Layer.Layer<Storage, StoreOpenFailure> =>
  location.startsWith("postgres://") || location.startsWith("postgresql://")
    ? PostgresStore.layer({ url: location, poolSize: 4, wrapConnection: counted, ...options })
    : SqliteStore.layer({ filename: location, ...options })

/** Runs `use` on a connection of its own to the SQLite file. */
const withFile = <A>(filename: string, readOnly: boolean, use: (db: DatabaseSync) => A) =>
  Effect.sync(() => {
    const db = new DatabaseSync(filename, { readOnly })
    try {
      return use(db)
    } finally {
      db.close()
    }
  })

/** A database for several handles: a fresh schema on PostgreSQL, a temporary file on SQLite. */
export const sharedDatabase: Effect.Effect<SharedDatabase, never, Scope.Scope> = postgresUrl === undefined
  ? Effect.map(tempDbPath, (location): SharedDatabase => ({
    location,
    layer: (options) => storeFor(location, options),
    execute: (statement) => withFile(location, false, (db) => void db.exec(statement)),
    integrity: withFile(
      location,
      true,
      (db) => String(db.prepare("PRAGMA integrity_check").get()?.["integrity_check"])
    )
  }))
  : Effect.map(freshSchema(postgresUrl), ({ schema, url: location }): SharedDatabase => ({
    location,
    layer: (options) => storeFor(location, options),
    execute: (statement) => Effect.asVoid(adminQuery(location, statement)),
    integrity: Effect.map(
      adminQuery(
        location,
        `SELECT count(*)::int AS invalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT i.indisvalid`,
        [schema]
      ),
      (rows) => rows[0]?.["invalid"] === 0 ? "ok" : `${String(rows[0]?.["invalid"])} invalid indexes`
    )
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
