/**
 * The provider router: one `LlmProvider` that sends each request to the provider named by its
 * model's prefix — `anthropic/` (the Anthropic SDK), `openai/`, `openrouter/`, `ollama/`,
 * `openai-compat/` (the OpenAI-compatible HTTP API) and `mock/`. A bare model name is routed by
 * its family (`claude-…` → anthropic, `gpt-…` → openai). An unknown prefix fails the call with a
 * `ConfigError`; a provider whose key is missing fails its calls with a `ConfigError` naming the
 * environment variable, so users of one provider never need another's key.
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
import * as Anthropic from "./Anthropic.js"
import * as MockLlm from "./MockLlm.js"
import * as OpenAiCompat from "./OpenAiCompat.js"

/** The prefixes the router knows, in the order the error message lists them. */
export const PREFIXES = ["anthropic", "openai", "openrouter", "ollama", "openai-compat", "mock"] as const
export type Prefix = typeof PREFIXES[number]

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
 * Builds the router from the environment (each provider reads its own keys).
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<Service, ConfigError, HttpClient.HttpClient> = Effect.gen(function*() {
  const providers: Record<Prefix, Service> = {
    anthropic: yield* Anthropic.makeConfig(),
    openai: yield* OpenAiCompat.fromEnv("openai"),
    openrouter: yield* OpenAiCompat.fromEnv("openrouter"),
    ollama: yield* OpenAiCompat.fromEnv("ollama"),
    "openai-compat": yield* OpenAiCompat.fromEnv("openai-compat"),
    mock: (yield* MockLlm.make({ keepRequests: false })).provider
  }
  return LlmProvider.of({
    stream: (request) => {
      const prefix = prefixOf(request.model)
      return isPrefix(prefix) ? providers[prefix].stream(request) : Stream.fail(unknownPrefix(request.model))
    }
  })
})

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<LlmProvider, ConfigError, HttpClient.HttpClient> = Layer.effect(
  LlmProvider,
  make
)

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
