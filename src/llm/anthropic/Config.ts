/**
 * The Anthropic provider configured from the environment: `ANTHROPIC_API_KEY` (read as a
 * `Redacted` value) and the optional `ANTHROPIC_BASE_URL`. A missing key does not fail the
 * layer; the provider's calls fail with a `ConfigError` naming it, so users of other providers
 * never need an Anthropic key.
 *
 * @since 0.1.0
 */
import { Config, Effect, Layer, Option, Redacted, Stream } from "effect"
import { ConfigError } from "../../Errors.js"
import type { Service } from "../../LlmProvider.js"
import { LlmProvider } from "../../LlmProvider.js"
import type { AnthropicOptions } from "./Provider.js"
import { make } from "./Provider.js"

const missingKey = new ConfigError({
  path: "ANTHROPIC_API_KEY",
  rule: "is not set; export your Anthropic API key (or set MNESIS_MOCK_LLM=1 to use the mock)"
})

/** A provider whose every call fails naming the missing variable. */
const withoutKey: Service = LlmProvider.of({ stream: () => Stream.fail(missingKey) })

/** An optional variable; a config provider that cannot read it at all fails naming it. */
const readEnv = <A>(name: string, config: Config.Config<A>) =>
  Effect.mapError(
    Config.option(config),
    () => new ConfigError({ path: name, rule: "could not be read from the environment" })
  )

/**
 * Builds the provider from the environment.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeConfig = (
  options: Omit<AnthropicOptions, "apiKey" | "baseURL"> = {}
): Effect.Effect<Service, ConfigError> =>
  Effect.gen(function*() {
    const apiKey = yield* readEnv("ANTHROPIC_API_KEY", Config.redacted("ANTHROPIC_API_KEY"))
    const baseURL = yield* readEnv("ANTHROPIC_BASE_URL", Config.string("ANTHROPIC_BASE_URL"))
    const key = Option.filter(apiKey, (value) => Redacted.value(value).trim() !== "")
    if (Option.isNone(key)) return withoutKey
    return yield* make({
      ...options,
      apiKey: key.value,
      baseURL: Option.getOrUndefined(Option.filter(baseURL, (url) => url.trim() !== ""))
    })
  })

/**
 * The provider configured from the environment (see {@link makeConfig}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<LlmProvider, ConfigError> = Layer.effect(LlmProvider, makeConfig())
