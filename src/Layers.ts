/**
 * The two application-level bundles: `MnesisLive` (the configured store, the provider router,
 * configuration from the environment) and `MnesisTest` (the embedded store in memory and `MockLlm`).
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer } from "effect"
import * as Compactor from "./Compactor.js"
import type { MnesisConfigOverrides } from "./Config.js"
import { Settings } from "./Config.js"
import * as ContextBuilder from "./ContextBuilder.js"
import * as Events from "./Events.js"
import * as MockLlm from "./llm/MockLlm.js"
import * as Router from "./llm/Router.js"
import * as Operators from "./Operators.js"
import type * as Storage from "./Storage.js"
import * as StoreLayers from "./storage/layers.js"
import * as Tokenizer from "./Tokenizer.js"

/** Services that need nothing but themselves. */
const core = Layer.mergeAll(Tokenizer.layer, Events.layer, ContextBuilder.layer)

/**
 * Assembles the services a session needs (and the operators) from the three that vary:
 * configuration, the store and the model. Use it to plug in your own `LlmProvider` implementation or store layer.
 *
 * @since 0.1.0
 */
export const makeLayer = <P, EC, ES, EP, RP>(parts: {
  readonly settings: Layer.Layer<Settings, EC>
  readonly storage: Layer.Layer<Storage.Storage, ES>
  readonly provider: Layer.Layer<P, EP, RP>
}) =>
  Operators.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        core,
        parts.settings,
        parts.storage,
        Compactor.layer.pipe(Layer.provideMerge(parts.provider))
      )
    )
  )

/**
 * The live bundle with configuration overrides. `MNESIS_DB_PATH` overrides `store.dbPath`;
 * `MNESIS_MOCK_LLM=1` answers every model with `MockLlm`.
 *
 * @since 0.1.0
 */
export const makeLive = (config: MnesisConfigOverrides = {}) => {
  const settings = Settings.layerFromEnv(config)
  const storage = Layer.unwrapEffect(Effect.map(Settings, (s) => StoreLayers.fromConfig(s.store))).pipe(
    Layer.provide(settings)
  )
  const provider = Router.layerFromEnv.pipe(Layer.provide(NodeHttpClient.layerUndici))
  return makeLayer({ settings, storage, provider })
}

/**
 * Everything a session needs, configured from the environment.
 *
 * @since 0.1.0
 */
export const MnesisLive = makeLive()

export interface TestOptions {
  readonly config?: MnesisConfigOverrides | undefined
  readonly mock?: MockLlm.MockOptions | undefined
  /** Another store (a temporary file, or one with a fault-injection hook); in memory by default. */
  readonly storage?: Layer.Layer<Storage.Storage, Storage.StoreOpenFailure> | undefined
}

/**
 * The test bundle: the embedded store in memory, `MockLlm` (scriptable through `MockLlmControl`).
 *
 * @since 0.1.0
 */
export const makeTest = (options: TestOptions = {}) => {
  return makeLayer({
    settings: Settings.layer(options.config),
    storage: options.storage ?? StoreLayers.memory,
    provider: MockLlm.layer(options.mock)
  })
}

/**
 * @since 0.1.0
 */
export const MnesisTest = makeTest()
