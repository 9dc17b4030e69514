/**
 * The OpenAI-compatible endpoints mnesis knows by model prefix, and how each one is configured
 * from the environment. Reading the environment never fails: a missing required variable is
 * returned as a `ConfigError` that the provider raises on its first call, so an application that
 * never uses `openai/` models does not need `OPENAI_API_KEY`.
 *
 * @since 0.1.0
 */
import { Config, Effect, Either, Option, Redacted } from "effect"
import { ConfigError } from "../../Errors.js"

/** Which request field carries the output limit. */
export type MaxTokensParam = "max_tokens" | "max_completion_tokens"

/** How one prefix finds its base URL and API key. */
export interface EndpointSpec {
  /** Used when `baseUrlEnv` is absent or unset; without it the variable is required. */
  readonly defaultBaseURL?: string
  readonly baseUrlEnv?: string
  readonly apiKeyEnv?: string
  readonly apiKeyRequired: boolean
  readonly maxTokensParam: MaxTokensParam
  /** Ends the "is not set" rule: what the user should do. */
  readonly hint: string
}

/**
 * The prefix table. Keys are the `provider` part of `provider/model` (`openai/gpt-4.1` → `openai`).
 *
 * @since 0.1.0
 */
export const endpoints = {
  openai: {
    defaultBaseURL: "https://api.openai.com/v1",
    apiKeyEnv: "OPENAI_API_KEY",
    apiKeyRequired: true,
    // Newer OpenAI models (o-series, gpt-5) reject `max_tokens`; every current one accepts this.
    maxTokensParam: "max_completion_tokens",
    hint: "export your OpenAI API key (https://platform.openai.com/api-keys) to use openai/ models"
  },
  openrouter: {
    defaultBaseURL: "https://openrouter.ai/api/v1",
    apiKeyEnv: "OPENROUTER_API_KEY",
    apiKeyRequired: true,
    maxTokensParam: "max_tokens",
    hint: "export your OpenRouter API key (https://openrouter.ai/keys) to use openrouter/ models"
  },
  ollama: {
    defaultBaseURL: "http://127.0.0.1:11434/v1",
    baseUrlEnv: "OLLAMA_BASE_URL",
    apiKeyRequired: false,
    maxTokensParam: "max_tokens",
    hint: "set it to the server's OpenAI-compatible URL, e.g. http://127.0.0.1:11434/v1"
  },
  "openai-compat": {
    baseUrlEnv: "OPENAI_COMPAT_BASE_URL",
    apiKeyEnv: "OPENAI_COMPAT_API_KEY",
    apiKeyRequired: false,
    maxTokensParam: "max_tokens",
    hint: "set it to the base URL of your OpenAI-compatible server (the part before /chat/completions), " +
      "e.g. http://127.0.0.1:8000/v1, to use openai-compat/ models"
  }
} as const satisfies Record<string, EndpointSpec>

export type OpenAiCompatPrefix = keyof typeof endpoints

/** True for the prefixes this provider serves. */
export const isOpenAiCompatPrefix = (prefix: string): prefix is OpenAiCompatPrefix =>
  Object.prototype.hasOwnProperty.call(endpoints, prefix)

/** What one endpoint needs to be called; the result of reading the environment. */
export interface EndpointSettings {
  readonly provider: string
  readonly baseURL: string
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly maxTokensParam: MaxTokensParam
}

const notSet = (name: string, spec: EndpointSpec) =>
  new ConfigError({ path: name, rule: `is not set; ${spec.hint}` })

/** An optional variable; blank values (`OPENAI_API_KEY=`) count as unset. */
const optionalVar = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Config.map(Option.filter((value) => value.trim() !== "")),
    // A variable we cannot read at all is treated like an unset one: the error names it either way.
    Effect.orElseSucceed(() => Option.none<string>())
  )

/**
 * Reads the base URL and key of one prefix from the environment (through Effect `Config`, so tests
 * control it with `ConfigProvider.fromMap`). Keys are wrapped in `Redacted` as soon as they are read.
 *
 * @since 0.1.0
 */
export const readEndpoint = (
  prefix: OpenAiCompatPrefix
): Effect.Effect<Either.Either<EndpointSettings, ConfigError>> =>
  Effect.gen(function*() {
    const spec: EndpointSpec = endpoints[prefix]
    const baseURL = spec.baseUrlEnv === undefined
      ? Option.none<string>()
      : yield* optionalVar(spec.baseUrlEnv)
    const resolvedBase = Option.orElse(baseURL, () => Option.fromNullable(spec.defaultBaseURL))
    if (Option.isNone(resolvedBase)) return Either.left(notSet(spec.baseUrlEnv ?? "", spec))
    const apiKey = spec.apiKeyEnv === undefined ? Option.none<string>() : yield* optionalVar(spec.apiKeyEnv)
    if (spec.apiKeyRequired && Option.isNone(apiKey)) return Either.left(notSet(spec.apiKeyEnv ?? "", spec))
    return Either.right({
      provider: prefix,
      baseURL: resolvedBase.value,
      apiKey: Option.getOrUndefined(Option.map(apiKey, Redacted.make)),
      maxTokensParam: spec.maxTokensParam
    })
  })
