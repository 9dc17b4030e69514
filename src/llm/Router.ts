/**
 * The provider router: one `LlmProvider` that sends each request to the provider named by its
 * model's prefix — `anthropic/` (the Anthropic SDK); `openai/`, `azure/`, `gemini/`, `groq/`,
 * `mistral/`, `deepseek/`, `xai/`, `together_ai/`, `openrouter/`, `ollama/`, `openai-compat/`
 * (the Chat Completions wire format, see `OpenAiCompat`); and `mock/`. A bare model name is routed
 * by its family (`claude-…` → anthropic, `gpt-…` → openai, `gemini-…` → gemini…). An unknown
 * prefix fails the call with a `ConfigError`; a provider whose key is missing fails its calls with
 * a `ConfigError` naming the environment variable, so users of one provider never need another's
 * key.
 *
 * With `MNESIS_MOCK_LLM=1`, {@link layerFromEnv} routes every model to `MockLlm`.
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import { Effect, Layer, Stream } from "effect"
import { MnesisEnv } from "../Config.js"
import { ConfigError } from "../Errors.js"
import type { Service } from "../LlmProvider.js"
import { LlmProvider, providerOf } from "../LlmProvider.js"
import { parseModel } from "../ModelRegistry.js"
import * as Anthropic from "./anthropic/Config.js"
import * as MockLlm from "./MockLlm.js"
import type { EnvOverrides } from "./openai/Config.js"
import { fromEnv } from "./openai/Config.js"
import type { OpenAiCompatPrefix } from "./openai/Hosts.js"
import { PREFIXES as COMPAT_PREFIXES } from "./openai/Hosts.js"

/** The prefixes the router knows, in the order the error message lists them. */
export const PREFIXES = ["anthropic", ...COMPAT_PREFIXES, "mock"] as const
export type Prefix = "anthropic" | OpenAiCompatPrefix | "mock"

const isPrefix = (value: string): value is Prefix => (PREFIXES as ReadonlyArray<string>).includes(value)

/** The provider prefix of a model string, inferring it for bare names. */
export const prefixOf = (model: string): string => providerOf(model) || parseModel(model).provider

const unknownPrefix = (model: string) =>
  new ConfigError({
    path: "model",
    rule: `"${model}" names no known provider; write it as provider/model with one of ` +
      `${PREFIXES.map((p) => `${p}/`).join(", ")}`
  })

/**
 * Per-prefix additions to what the environment says (e.g. Gemini's `reasoningEffort`).
 *
 * @since 0.1.0
 */
export type RouterOptions = { readonly [P in OpenAiCompatPrefix]?: EnvOverrides }

/**
 * Builds the router from the environment (each provider reads its own keys).
 *
 * @since 0.1.0
 */
export const makeWith = (
  options: RouterOptions = {}
): Effect.Effect<Service, ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const providers = new Map<Prefix, Service>()
    providers.set("anthropic", yield* Anthropic.makeConfig())
    for (const prefix of COMPAT_PREFIXES) providers.set(prefix, yield* fromEnv(prefix, options[prefix]))
    providers.set("mock", (yield* MockLlm.make({ keepRequests: false })).provider)
    return LlmProvider.of({
      stream: (request) => {
        const prefix = prefixOf(request.model)
        const provider = isPrefix(prefix) ? providers.get(prefix) : undefined
        return provider === undefined ? Stream.fail(unknownPrefix(request.model)) : provider.stream(request)
      }
    })
  })

/**
 * The router with every provider configured from the environment alone.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<Service, ConfigError, HttpClient.HttpClient> = makeWith()

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<LlmProvider, ConfigError, HttpClient.HttpClient> = Layer.effect(
  LlmProvider,
  make
)

/**
 * The router with per-prefix additions (see {@link RouterOptions}).
 *
 * @since 0.1.0
 */
export const layerWith = (
  options: RouterOptions
): Layer.Layer<LlmProvider, ConfigError, HttpClient.HttpClient> =>
  Layer.effect(LlmProvider, makeWith(options))

/**
 * The router, or `MockLlm` for every model when `MNESIS_MOCK_LLM=1`.
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<LlmProvider, ConfigError, HttpClient.HttpClient> = Layer.unwrapEffect(
  Effect.map(
    Effect.mapError(
      MnesisEnv,
      () => new ConfigError({ path: "MNESIS_MOCK_LLM", rule: "could not be read from the environment" })
    ),
    (env) =>
      env.mockLlm
        ? Layer.effect(LlmProvider, Effect.map(MockLlm.make({ keepRequests: false }), (m) => m.provider))
        : layer
  )
)
