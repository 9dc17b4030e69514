/**
 * Which database the command reads, and opening it as a `Storage` layer. Every command reads and
 * writes through the `Storage` interface only, so it works on any backend the library has.
 *
 * The location is `--db`, else `MNESIS_DATABASE_URL`, else `MNESIS_DB_PATH`, else the library's
 * default file. A `postgres://` URL opens the PostgreSQL store. A file that does not exist is an
 * error, never a new empty database (a typo in a path would otherwise look like a database with no
 * sessions); only `import` may create one.
 *
 * @internal
 */
import { Config, Effect, Layer, Option, Redacted } from "effect"
import * as NodeFs from "node:fs"
import { defaultFileStore, envError, resolveDbPath } from "../Config.js"
import type { ConfigError, SchemaTooNew } from "../Errors.js"
import * as Storage from "../Storage.js"
import * as PostgresStore from "../storage/postgres/PostgresStore.js"
import * as SqliteStore from "../storage/sqlite/SqliteStore.js"
import { DatabaseNotFound, UnsupportedDatabase } from "./errors.js"

export type Location =
  | { readonly kind: "file"; readonly path: string; readonly source: string }
  | { readonly kind: "url"; readonly url: string; readonly source: string }

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
const POSTGRES_SCHEME = /^postgres(?:ql)?:\/\//i

/** An unset or blank variable reads as absent (`MNESIS_DB_PATH= mnesis …`). */
const variable = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Config.map(Option.filter((value) => value.trim() !== ""))
  )

const classify = (value: string, source: string): Location =>
  URL_SCHEME.test(value)
    ? { kind: "url", url: value, source }
    : { kind: "file", path: resolveDbPath(value), source }

/** Where the database is, from the `--db` option and the environment. */
export const locate = (db: Option.Option<string>): Effect.Effect<Location, ConfigError> =>
  Effect.gen(function*() {
    if (Option.isSome(db) && db.value.trim() !== "") return classify(db.value.trim(), "--db")
    const url = yield* variable("MNESIS_DATABASE_URL")
    if (Option.isSome(url)) return classify(url.value.trim(), "MNESIS_DATABASE_URL")
    const path = yield* variable("MNESIS_DB_PATH")
    if (Option.isSome(path)) return classify(path.value.trim(), "MNESIS_DB_PATH")
    return classify(defaultFileStore.dbPath, "default")
  }).pipe(Effect.mapError(envError))

/** How the location reads in messages. */
export const describeLocation = (location: Location): string =>
  location.kind === "file" ? location.path : location.url.replace(/\/\/[^@/]*@/, "//…@")

/**
 * The store at `location`. A missing file fails with `DatabaseNotFound` unless `create` is set.
 */
export const layer = (
  location: Location,
  options: { readonly create?: boolean } = {}
): Layer.Layer<
  Storage.Storage,
  DatabaseNotFound | UnsupportedDatabase | Storage.StoreFailure | SchemaTooNew
> =>
  Layer.unwrapEffect(Effect.suspend((): Effect.Effect<
    Layer.Layer<Storage.Storage, Storage.StoreFailure | SchemaTooNew>,
    DatabaseNotFound | UnsupportedDatabase
  > => {
    if (location.kind === "url") {
      // The server keeps the database; opening it migrates its schema, as a program would.
      return POSTGRES_SCHEME.test(location.url)
        ? Effect.succeed(PostgresStore.layer({ url: Redacted.make(location.url) }))
        : Effect.fail(
          new UnsupportedDatabase({ location: describeLocation(location), source: location.source })
        )
    }
    if (options.create !== true && !NodeFs.existsSync(location.path)) {
      return Effect.fail(new DatabaseNotFound({ path: location.path, source: location.source }))
    }
    return Effect.succeed(SqliteStore.layer({
      filename: location.path,
      walMode: defaultFileStore.walMode,
      busyTimeoutMs: 30_000
    }))
  }))

/** Bytes the database takes on disk (with its write-ahead log), when it is a file. */
export const sizeOnDisk = (location: Location): number | undefined => {
  if (location.kind !== "file") return undefined
  let total = 0
  for (const suffix of ["", "-wal"]) {
    try {
      total += NodeFs.statSync(location.path + suffix).size
    } catch {
      // no write-ahead log right now
    }
  }
  return total
}

/**
 * Runs `use` with the store at the location the options name; the store closes after it.
 */
export const withStore = <A, E, R>(
  db: Option.Option<string>,
  use: (store: Storage.Service, location: Location) => Effect.Effect<A, E, R>,
  options: { readonly create?: boolean } = {}
) =>
  Effect.flatMap(
    locate(db),
    (location) =>
      Effect.flatMap(Storage.Storage, (store) => use(store, location)).pipe(
        Effect.provide(layer(location, options))
      )
  )
