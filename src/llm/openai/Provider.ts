/**
 * The Chat Completions provider: OpenAI, Azure OpenAI, Gemini, Groq, Mistral, DeepSeek, xAI,
 * Together AI, OpenRouter, Ollama and any server that speaks the API, over `@effect/platform`'s
 * `HttpClient` with a streamed (SSE) response. Each host's departures from OpenAI's wire format
 * are named in its {@link WireDialect} (`Hosts.ts`).
 *
 * `HttpClient` stays a requirement, as in Effect's own AI packages: provide
 * `NodeHttpClient.layerUndici` or `FetchHttpClient.layer`.
 *
 * @since 0.1.0
 */
import type { HttpClientResponse } from "@effect/platform"
import { Headers, HttpClient, HttpClientRequest } from "@effect/platform"
import { Duration, Effect, Either, Layer, Option, Random, Redacted, Stream } from "effect"
import type { LlmError } from "../../Errors.js"
import { LlmConnectionError, LlmTimeout } from "../../Errors.js"
import type { LlmEvent, LlmRequest, Service } from "../../LlmProvider.js"
import { LlmProvider, modelNameOf } from "../../LlmProvider.js"
import { redactorFor, retryAfter } from "../shared/ProviderErrors.js"
import { makeEventAssembler } from "./Events.js"
import { errorForResponse, errorForTransport, errorInfoOf } from "./Failures.js"
import type { MaxTokensParam, WireDialect } from "./Hosts.js"
import { AZURE_DEFAULT_API_VERSION, dialectOf } from "./Hosts.js"
import { toChatBody } from "./Request.js"
import { makeSignatureStore } from "./Signatures.js"
import { sseData } from "./Sse.js"
import { decodeStreamChunk } from "./Wire.js"

/**
 * One endpoint. Settings left out take the defaults of the host named by `provider` (see
 * `hosts`), or OpenAI's plain dialect for other names.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Names the provider in errors and spans (`openai`, `ollama`, …) and picks the defaults. */
  readonly provider: string
  /**
   * The API root: the part before `/chat/completions` (e.g. `https://api.openai.com/v1`), or
   * for Azure the resource endpoint (`https://<resource>.openai.azure.com`).
   */
  readonly baseURL: string
  /** Sent as `Authorization: Bearer` (or Azure's `api-key`); omit it for servers without authentication. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /**
   * Longest wait for the response to start and, once it streams, between two pieces of it.
   * Default 10 minutes: reasoning models can think for minutes before their first token.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Extra request headers (e.g. OpenRouter's `HTTP-Referer`, a gateway's own key). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly maxTokensParam?: MaxTokensParam | undefined
  readonly streamUsage?: boolean | undefined
  readonly auth?: WireDialect["auth"] | undefined
  readonly route?: WireDialect["route"] | undefined
  readonly thoughtSignatures?: boolean | undefined
  /** Azure's `api-version` (default `2024-10-21`). */
  readonly apiVersion?: string | undefined
  /** Sent as `reasoning_effort` on every request (`low`, `medium`, `high`…; Gemini also `none`). */
  readonly reasoningEffort?: string | undefined
}

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

/** Where one request goes: the chat route, or an Azure deployment's. */
const urlFor = (
  base: string,
  dialect: WireDialect,
  apiVersion: string,
  model: string
): string => {
  const root = base.trim().replace(/\/+$/, "")
  if (dialect.route === "chat-completions") return `${root}/chat/completions`
  // The model part of `azure/<deployment>` is the deployment name.
  const resource = root.replace(/\/openai$/, "")
  return `${resource}/openai/deployments/${encodeURIComponent(modelNameOf(model))}/chat/completions` +
    `?api-version=${encodeURIComponent(apiVersion)}`
}

/** A made-up call id, unique across responses: `call_<random>_<n>`. */
const callIds = Effect.map(Random.nextIntBetween(0, 36 ** 6), (salt) => {
  let n = 0
  const prefix = `call_${salt.toString(36).padStart(6, "0")}`
  return () => `${prefix}_${n++}`
})

/**
 * Builds the provider for one endpoint.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (client) => makeWithClient(client, options))

const makeWithClient = (client: HttpClient.HttpClient, options: Options): Service => {
  const provider = options.provider
  const defaults = dialectOf(provider)
  const dialect: WireDialect = {
    maxTokensParam: options.maxTokensParam ?? defaults.maxTokensParam,
    streamUsage: options.streamUsage ?? defaults.streamUsage,
    auth: options.auth ?? defaults.auth,
    route: options.route ?? defaults.route,
    thoughtSignatures: options.thoughtSignatures ?? defaults.thoughtSignatures
  }
  const apiVersion = options.apiVersion ?? AZURE_DEFAULT_API_VERSION
  const timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
  const redact = redactorFor(options.apiKey)
  const signatures = dialect.thoughtSignatures ? makeSignatureStore() : undefined
  // Interrupting the consumer closes the stream's scope, and this aborts the HTTP request.
  const scopedClient = HttpClient.withScope(client)

  const timedOut = (what: string, url: string) => () =>
    new LlmTimeout({ provider, detail: `${what} within ${Duration.format(timeout)} (${safeUrl(url)})` })

  const authorize = (request: HttpClientRequest.HttpClientRequest) => {
    if (options.apiKey === undefined) return request
    return dialect.auth === "api-key"
      ? HttpClientRequest.setHeader(request, "api-key", Redacted.value(options.apiKey))
      : HttpClientRequest.bearerToken(request, options.apiKey)
  }

  const send = (request: LlmRequest, url: string) => {
    const body = toChatBody(request, {
      dialect,
      reasoningEffort: options.reasoningEffort,
      signatureOf: signatures?.get
    })
    const httpRequest = HttpClientRequest.post(url).pipe(
      HttpClientRequest.setHeaders(options.headers ?? {}),
      HttpClientRequest.accept("text/event-stream"),
      HttpClientRequest.bodyUnsafeJson(body),
      authorize
    )
    return scopedClient.execute(httpRequest).pipe(
      Effect.mapError((error) => errorForTransport(provider, error, redact)),
      Effect.timeoutFail({ duration: timeout, onTimeout: timedOut("no response", url) }),
      // The HTTP client's span records request headers; Azure's key header must show as redacted.
      Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, "api-key"])
    )
  }

  const failureOf = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<never, LlmError> =>
    Effect.gen(function*() {
      const body = yield* response.text.pipe(
        Effect.timeout(timeout),
        // The status still classifies the failure; the detail says the body was lost rather than empty.
        Effect.catchAll((error) =>
          Effect.succeed(`(the error response's body could not be read: ${error._tag})`)
        )
      )
      const hint = yield* retryAfter((name) => response.headers[name])
      return yield* Effect.fail(
        errorForResponse(
          provider,
          response.status,
          errorInfoOf(response.status, redact(body)),
          Option.getOrUndefined(hint)
        )
      )
    })

  const eventsOf = (
    response: HttpClientResponse.HttpClientResponse,
    url: string,
    newCallId: () => string
  ): Stream.Stream<LlmEvent, LlmError> =>
    Stream.suspend(() => {
      const assembler = makeEventAssembler({ provider, redact, newCallId, onSignature: signatures?.remember })
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
        Stream.timeoutFail(timedOut("no data from the stream", url), timeout),
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
        const url = urlFor(options.baseURL, dialect, apiVersion, request.model)
        const newCallId = yield* callIds
        yield* Effect.logDebug("sending chat completion request")
        const response = yield* send(request, url)
        if (response.status < 200 || response.status >= 300) return yield* failureOf(response)
        return eventsOf(response, url, newCallId)
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
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LlmProvider, never, HttpClient.HttpClient> =>
  Layer.effect(LlmProvider, make(options))
