/**
 * The store layer a configuration names: the one place that maps `store.backend` to a backend
 * module, so `MnesisLive` and `MnesisTest` name none. Backends load their database driver only
 * when their layer is built.
 *
 * @internal
 */
import type { Layer } from "effect"
import { Duration } from "effect"
import type { StoreConfig } from "../Config.js"
import type { Storage, StoreOpenFailure } from "../Storage.js"
import * as PostgresStore from "./postgres/PostgresStore.js"
import * as SqliteStore from "./sqlite/SqliteStore.js"

/** The store configured by the `store` section of `MnesisConfig`. */
export const fromConfig = (store: StoreConfig): Layer.Layer<Storage, StoreOpenFailure> => {
  switch (store.backend) {
    case "sqlite":
      return SqliteStore.layer({
        filename: store.dbPath,
        walMode: store.walMode,
        busyTimeoutMs: Duration.toMillis(store.busyTimeout)
      })
    case "postgres":
      return PostgresStore.layer({
        url: store.url,
        poolSize: store.poolSize,
        statementTimeoutMs: Duration.toMillis(store.statementTimeout),
        ssl: store.ssl ? true : undefined
      })
  }
}

/** The default store of tests and examples: the embedded one, in memory. */
export const memory: Layer.Layer<Storage, StoreOpenFailure> = SqliteStore.layerMemory
