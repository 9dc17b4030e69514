/**
 * The OpenAI-compatible provider: OpenAI, OpenRouter, Ollama and any server that speaks the Chat
 * Completions API, over `@effect/platform`'s `HttpClient` with a streamed (SSE) response.
 *
 * `HttpClient` stays a requirement, as in Effect's own AI packages: provide
 * `NodeHttpClient.layerUndici` or `FetchHttpClient.layer`.
 *
 * @example
 * ```ts
 * const provider = OpenAiCompat.layerConfig("openai").pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 */
import type { HttpClientResponse } from "@effect/platform"
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Either, Layer, Option, Stream } from "effect"
import type * as Redacted from "effect/Redacted"
import type { ConfigError, LlmError } from "../Errors.js"
import { LlmConnectionError, LlmTimeout } from "../Errors.js"
import type { LlmEvent, LlmRequest, Service } from "../LlmProvider.js"
import { LlmProvider, modelNameOf } from "../LlmProvider.js"
import type { MaxTokensParam, OpenAiCompatPrefix } from "./openai/Endpoints.js"
import { readEndpoint } from "./openai/Endpoints.js"
import { makeEventAssembler } from "./openai/EventAssembler.js"
import {
  errorForStatus,
  errorForTransport,
  errorInfoOf,
  redactorFor,
  retryAfterMillis
} from "./openai/HttpErrors.js"
import { toChatBody } from "./openai/RequestBody.js"
import { sseData } from "./openai/SseData.js"
import { decodeStreamChunk } from "./openai/Wire.js"

export {
  /** @since 0.1.0 */
  endpoints,
  /** @since 0.1.0 */
  isOpenAiCompatPrefix
} from "./openai/Endpoints.js"
export type { EndpointSpec, MaxTokensParam, OpenAiCompatPrefix } from "./openai/Endpoints.js"

/**
 * One endpoint.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Names the provider in errors and spans (`openai`, `ollama`, …). */
  readonly provider: string
  /** The API root, the part before `/chat/completions` (e.g. `https://api.openai.com/v1`). */
  readonly baseURL: string
  /** Sent as `Authorization: Bearer`; omit it for servers without authentication. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /**
   * Longest wait for the response to start and, once it streams, between two pieces of it.
   * Default 10 minutes: reasoning models can think for minutes before their first token.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Extra request headers (e.g. OpenRouter's `HTTP-Referer`, a gateway's own key). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Defaults to `max_completion_tokens` for the `openai` provider and `max_tokens` elsewhere. */
  readonly maxTokensParam?: MaxTokensParam | undefined
}

/** What {@link fromEnv} lets the caller add to what the environment says. */
export type EnvOverrides = Pick<Options, "timeout" | "headers">

const DEFAULT_TIMEOUT = Duration.minutes(10)

/** The marker after the last chunk. */
const DONE = "[DONE]"

/** The API root with the credentials part removed, for error messages. */
const safeUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.username = ""
    parsed.password = ""
    return parsed.toString()
  } catch {
    return url
  }
}

/**
 * Builds the provider for one endpoint.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => makeWithClient(client, options))

const makeWithClient = (client: HttpClient.HttpClient, options: Options): Service => {
  const provider = options.provider
  const timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
  const url = `${options.baseURL.replace(/\/+$/, "")}/chat/completions`
  const maxTokensParam = options.maxTokensParam ??
    (provider === "openai" ? "max_completion_tokens" : "max_tokens")
  const redact = redactorFor(options.apiKey)
  // Interrupting the consumer closes the stream's scope, and this aborts the HTTP request.
  const scopedClient = HttpClient.withScope(client)

  const timedOut = (what: string) => () =>
    new LlmTimeout({ provider, detail: `${what} within ${Duration.format(timeout)} (${safeUrl(url)})` })

  const send = (request: LlmRequest) => {
    const base = HttpClientRequest.post(url).pipe(
      HttpClientRequest.setHeaders(options.headers ?? {}),
      HttpClientRequest.accept("text/event-stream"),
      HttpClientRequest.bodyUnsafeJson(toChatBody(request, maxTokensParam))
    )
    const httpRequest = options.apiKey === undefined
      ? base
      : HttpClientRequest.bearerToken(base, options.apiKey)
    return scopedClient.execute(httpRequest).pipe(
      Effect.mapError((error) => errorForTransport(provider, error, redact)),
      Effect.timeoutFail({ duration: timeout, onTimeout: timedOut("no response") })
    )
  }

  const failureOf = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<never, LlmError> =>
    Effect.gen(function*() {
      const body = yield* response.text.pipe(
        Effect.timeout(timeout),
        Effect.orElseSucceed(() => "")
      )
      const retryAfter = yield* retryAfterMillis(response.headers)
      return yield* Effect.fail(
        errorForStatus(provider, response.status, errorInfoOf(response.status, redact(body)), retryAfter)
      )
    })

  const eventsOf = (response: HttpClientResponse.HttpClientResponse): Stream.Stream<LlmEvent, LlmError> =>
    Stream.suspend(() => {
      const assembler = makeEventAssembler(provider, redact)
      let sawDone = false
      const step = (data: Option.Option<string>): Either.Either<ReadonlyArray<LlmEvent>, LlmError> => {
        if (Option.isNone(data)) return assembler.onEnd(sawDone)
        if (data.value === DONE) {
          sawDone = true
          return Either.right([])
        }
        return Either.flatMap(
          Either.mapLeft(decodeStreamChunk(data.value), () =>
            // A garbled chunk is a transport fault (a proxy cut or mixed the body), worth a retry.
            new LlmConnectionError({
              provider,
              detail: `malformed stream chunk: ${truncate(redact(data.value))}`
            })),
          assembler.onChunk
        )
      }
      return response.stream.pipe(
        Stream.mapError((error) => errorForTransport(provider, error, redact)),
        // Measured on the raw body, so SSE keep-alive comments count as signs of life.
        Stream.timeoutFail(timedOut("no data from the stream"), timeout),
        Stream.decodeText(),
        sseData(provider),
        Stream.takeUntil((data) => data === DONE),
        Stream.map(Option.some),
        Stream.concat(Stream.succeed(Option.none<string>())),
        Stream.mapConcatEffect(step)
      )
    })

  const stream = (request: LlmRequest): Stream.Stream<LlmEvent, LlmError> =>
    Stream.unwrapScoped(
      Effect.gen(function*() {
        yield* Effect.logDebug("sending chat completion request")
        const response = yield* send(request)
        if (response.status < 200 || response.status >= 300) return yield* failureOf(response)
        return eventsOf(response)
      }).pipe(Effect.annotateLogs({ provider, model: request.model }))
    ).pipe(
      Stream.withSpan("OpenAiCompat.stream", {
        attributes: { provider, model: modelNameOf(request.model) }
      })
    )

  return { stream }
}

const truncate = (text: string): string => text.length > 200 ? `${text.slice(0, 200)}…` : text

/**
 * A provider whose every call fails with the same configuration error. Missing settings surface on
 * use, not when the layer is built, so unused prefixes need no configuration.
 */
const failing = (error: ConfigError): Service => ({ stream: () => Stream.fail(error) })

/**
 * Builds the provider of one prefix from the environment (see `endpoints` for the variables). A
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
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LlmProvider, never, HttpClient.HttpClient> =>
  Layer.effect(LlmProvider, make(options))

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
