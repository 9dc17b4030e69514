/**
 * The Anthropic provider: a provider-neutral {@link LlmRequest} sent through the official
 * `@anthropic-ai/sdk` as a streaming Messages API call, its server-sent events turned into live
 * {@link LlmEvent}s (`Events.ts`), and every SDK failure mapped once (`Failures.ts`).
 *
 * Retries belong to `llm/Retry.ts`, so the SDK's own retries are switched off. The API key is a
 * `Redacted` value: it is handed to the SDK and nowhere else, and scrubbed from every error text.
 *
 * @since 0.1.0
 */
import { Anthropic } from "@anthropic-ai/sdk"
import { Chunk, Clock, Duration, Effect, Either, Layer, Option, Redacted, Stream } from "effect"
import type { LlmError } from "../../Errors.js"
import { LlmConnectionError, LlmTimeout } from "../../Errors.js"
import type { LlmEvent, LlmFailure, LlmRequest, Service } from "../../LlmProvider.js"
import { LlmProvider } from "../../LlmProvider.js"
import { redactorFor } from "../shared/ProviderErrors.js"
import { MessageAssembler } from "./Events.js"
import type { FailureMapper, Phase } from "./Failures.js"
import { failureMapper, PROVIDER } from "./Failures.js"
import { toParams } from "./Request.js"
import { readEvent } from "./Wire.js"

const DEFAULT_BASE_URL = "https://api.anthropic.com"
const DEFAULT_TIMEOUT: Duration.Duration = Duration.minutes(10)
/** The largest delay a Node timer can hold; longer timeouts are clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1

// ---------------------------------------------------------------------------------------------
// Options and constructors
// ---------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface AnthropicOptions {
  /** Handed to the SDK, which sends it with each request; never logged, scrubbed from error details. */
  readonly apiKey: Redacted.Redacted<string>
  /** Defaults to `https://api.anthropic.com`; override for a proxy or a gateway. */
  readonly baseURL?: string | undefined
  /**
   * How long to wait for the response headers, and then for each streamed event. Default
   * 10 minutes. Anthropic keeps healthy streams alive with `ping` events, which do not count
   * as events here: lower this only when you want a stalled stream to fail sooner.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Extra headers sent with every request (e.g. `anthropic-beta`). */
  readonly defaultHeaders?: Readonly<Record<string, string>> | undefined
}

/**
 * Builds the provider. The SDK client holds no resource that needs closing (it uses the
 * global `fetch`), so no scope is required.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: AnthropicOptions): Effect.Effect<Service> =>
  Effect.sync(() => {
    const timeoutMs = clampTimeout(options.timeout)
    const client = new Anthropic({
      apiKey: Redacted.value(options.apiKey),
      // Explicit so the SDK does not silently pick up ANTHROPIC_BASE_URL behind `layer`'s back;
      // `layerConfig` reads that variable itself.
      baseURL: options.baseURL ?? DEFAULT_BASE_URL,
      timeout: timeoutMs,
      // mnesis's Retry module owns retries (with events and the configured backoff).
      maxRetries: 0,
      // Every failure surfaces as a typed error, so the SDK's own logging is off. (It still
      // prints deprecated-model notices with console.warn; no option turns those off.)
      logLevel: "off",
      ...(options.defaultHeaders === undefined ? {} : { defaultHeaders: { ...options.defaultHeaders } })
    })
    const failures = failureMapper(redactorFor(options.apiKey), timeoutMs)
    return LlmProvider.of({
      stream: (request) => streamMessages(client, failures, request, Duration.millis(timeoutMs))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: AnthropicOptions): Layer.Layer<LlmProvider> =>
  Layer.effect(LlmProvider, make(options))

const clampTimeout = (input: Duration.DurationInput | undefined): number => {
  const millis = Duration.toMillis(input === undefined ? DEFAULT_TIMEOUT : Duration.decode(input))
  // The SDK wants a positive integer; a NaN or infinite duration means "as long as possible".
  if (!(millis < MAX_TIMER_MS)) return MAX_TIMER_MS
  return Math.max(1, Math.ceil(millis))
}

// ---------------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------------

/** Runs one SDK promise, mapping whatever it throws to a provider error. */
const fromSdk = <A>(
  failures: FailureMapper,
  phase: Phase,
  evaluate: () => Promise<A>
): Effect.Effect<A, LlmError> =>
  Effect.tryPromise({ try: evaluate, catch: (cause) => cause }).pipe(
    Effect.catchAll((cause) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(failures(cause, phase, now)))
    )
  )

const streamMessages = (
  client: Anthropic,
  failures: FailureMapper,
  request: LlmRequest,
  idleTimeout: Duration.Duration
): Stream.Stream<LlmEvent, LlmFailure> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const params = toParams(request)
      // One controller per call: closing the stream's scope (completion, failure or fiber
      // interruption) aborts the HTTP request, whether it waits for headers or for body bytes.
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (controller) => Effect.sync(() => controller.abort())
      )
      const response = yield* fromSdk(
        failures,
        "request",
        () => client.messages.create(params, { signal: controller.signal })
      )
      const iterator = response[Symbol.asyncIterator]()
      const assembler = new MessageAssembler()

      const pull: Effect.Effect<Chunk.Chunk<LlmEvent>, Option.Option<LlmError>> = Effect.suspend(() => {
        // Stop reading at message_stop; anything after it is not part of the message.
        if (assembler.finished) return Effect.fail(Option.none())
        return fromSdk(failures, "stream", () => iterator.next()).pipe(
          Effect.flatMap((next): Effect.Effect<Chunk.Chunk<LlmEvent>, LlmError> => {
            if (next.done === true) {
              return Effect.fail(
                new LlmConnectionError({
                  provider: PROVIDER,
                  detail: "the response stream ended before message_stop (the message is incomplete)"
                })
              )
            }
            return Either.match(readEvent(next.value), {
              // A garbled event is a transport fault (a proxy cut or mixed the body): retryable,
              // as with the OpenAI-compatible provider.
              onLeft: (reason) =>
                Effect.fail(
                  new LlmConnectionError({
                    provider: PROVIDER,
                    detail: `the response stream carried an event mnesis could not read: ${reason}`
                  })
                ),
              onRight: (event) =>
                Effect.succeed(
                  Option.match(event, {
                    onNone: () => Chunk.empty<LlmEvent>(),
                    onSome: (event) => Chunk.fromIterable(assembler.accept(event))
                  })
                )
            })
          }),
          Effect.mapError(Option.some)
        )
      })

      return Stream.repeatEffectChunkOption(pull).pipe(
        // The SDK's timeout covers the headers only; this one catches a stream that stalls.
        Stream.timeoutFail(
          () =>
            new LlmTimeout({
              provider: PROVIDER,
              detail: `no streamed event within ${Duration.format(idleTimeout)}`
            }),
          idleTimeout
        )
      )
    })
  ).pipe(Stream.withSpan("Anthropic.stream", { attributes: { "llm.model": request.model } }))
