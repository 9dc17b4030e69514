/**
 * Reads one host's settings from the environment (through Effect `Config`, so tests control it
 * with `ConfigProvider.fromMap`). Reading never fails: a missing required variable is returned as
 * a `ConfigError` that the provider raises on its first call, so an application that never uses
 * `groq/` models does not need `GROQ_API_KEY`.
 *
 * @since 0.1.0
 */
import type { HttpClient } from "@effect/platform"
import { Config, Effect, Either, Layer, Option, Redacted, Stream } from "effect"
import { ConfigError } from "../../Errors.js"
import type { Service } from "../../LlmProvider.js"
import { LlmProvider } from "../../LlmProvider.js"
import type { HostSpec, OpenAiCompatPrefix, WireDialect } from "./Hosts.js"
import { hosts } from "./Hosts.js"
import type { Options } from "./Provider.js"
import { make } from "./Provider.js"

/**
 * What one host needs to be called: the result of reading the environment.
 *
 * @since 0.1.0
 */
export interface EndpointSettings extends WireDialect {
  readonly provider: string
  readonly baseURL: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Azure's `api-version`. */
  readonly apiVersion?: string | undefined
}

const notSet = (name: string, spec: HostSpec) => {
  const others = (spec.apiKeyEnv ?? []).filter((other) => other !== name)
  const alternatives = name === spec.apiKeyEnv?.[0] && others.length > 0 ? ` (nor ${others.join(", ")})` : ""
  return new ConfigError({ path: name, rule: `is not set${alternatives}; ${spec.hint}` })
}

/** An optional variable; blank values (`GROQ_API_KEY=`) count as unset. */
const optionalVar = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Config.map(Option.filter((value) => value.trim() !== "")),
    // A variable we cannot read at all is treated like an unset one (the error for a missing one names
    // it either way), after a warning that says why.
    Effect.catchAll((error) =>
      Effect.as(
        Effect.logWarning(`could not read ${name}; treating it as unset`, error),
        Option.none<string>()
      )
    )
  )

/** The first of the variables that is set. */
const firstSet = (names: ReadonlyArray<string>): Effect.Effect<Option.Option<string>> =>
  Effect.reduce(
    names,
    Option.none<string>(),
    (found, name) => Option.isSome(found) ? Effect.succeed(found) : optionalVar(name)
  )

/**
 * Reads the base URL, key (wrapped in `Redacted` as soon as it is read) and, for Azure, the API
 * version of one prefix.
 *
 * @since 0.1.0
 */
export const readEndpoint = (
  prefix: OpenAiCompatPrefix
): Effect.Effect<Either.Either<EndpointSettings, ConfigError>> =>
  Effect.gen(function*() {
    const spec: HostSpec = hosts[prefix]
    const baseURL = spec.baseUrlEnv === undefined
      ? Option.none<string>()
      : yield* optionalVar(spec.baseUrlEnv)
    const resolvedBase = Option.orElse(baseURL, () => Option.fromNullable(spec.defaultBaseURL))
    if (Option.isNone(resolvedBase)) return Either.left(notSet(spec.baseUrlEnv ?? "", spec))
    const keyNames = spec.apiKeyEnv ?? []
    const apiKey = yield* firstSet(keyNames)
    if (spec.apiKeyRequired && Option.isNone(apiKey)) return Either.left(notSet(keyNames[0] ?? "", spec))
    const apiVersion = spec.apiVersionEnv === undefined
      ? Option.none<string>()
      : yield* optionalVar(spec.apiVersionEnv)
    return Either.right({
      provider: prefix,
      baseURL: resolvedBase.value.trim(),
      apiKey: Option.getOrUndefined(Option.map(apiKey, (key) => Redacted.make(key.trim()))),
      apiVersion: Option.getOrUndefined(
        Option.orElse(apiVersion, () => Option.fromNullable(spec.defaultApiVersion))
      ),
      maxTokensParam: spec.maxTokensParam,
      streamUsage: spec.streamUsage,
      auth: spec.auth,
      route: spec.route,
      thoughtSignatures: spec.thoughtSignatures
    })
  })

/**
 * What {@link fromEnv} lets the caller add to what the environment says.
 *
 * @since 0.1.0
 */
export type EnvOverrides = Pick<Options, "timeout" | "headers" | "reasoningEffort">

/**
 * A provider whose every call fails with the same configuration error. Missing settings surface on
 * use, not when the layer is built, so unused prefixes need no configuration.
 */
const failing = (error: ConfigError): Service => ({ stream: () => Stream.fail(error) })

/**
 * Builds the provider of one prefix from the environment (see `hosts` for the variables). A
 * missing required variable makes every `stream` fail with a `ConfigError` naming it.
 *
 * @since 0.1.0
 */
export const fromEnv = (
  prefix: OpenAiCompatPrefix,
  overrides: EnvOverrides = {}
): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.flatMap(readEndpoint(prefix), (settings) =>
    Either.match(settings, {
      onLeft: (error) => Effect.succeed(failing(error)),
      onRight: (endpoint) => make({ ...endpoint, ...overrides })
    }))

/**
 * The provider of one prefix, configured from the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  prefix: OpenAiCompatPrefix,
  overrides: EnvOverrides = {}
): Layer.Layer<LlmProvider, never, HttpClient.HttpClient> =>
  Layer.effect(LlmProvider, fromEnv(prefix, overrides))
