/**
 * The one place model calls are observed: a wrapper around any `LlmProvider` that gives every
 * call a span following the OpenTelemetry GenAI semantic conventions and records the call's
 * tokens, cost and duration in `Metrics`. The session and the compactor wrap the provider they
 * are given, so every provider — the router's, `MockLlm`, a bridge, one of your own — is observed
 * the same way, once.
 *
 * The span is named `chat <model>` (kind client) and carries `gen_ai.operation.name`,
 * `gen_ai.provider.name` (and the older `gen_ai.system`), `gen_ai.request.model`,
 * `gen_ai.request.max_tokens`, `gen_ai.request.temperature`, `gen_ai.conversation.id` (the session),
 * then `gen_ai.response.model`, `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens`
 * (every input token, cached or not), `gen_ai.usage.output_tokens`,
 * `gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.cache_creation.input_tokens`, and on
 * failure `error.type` (the error's tag). mnesis adds `mnesis.model`, `mnesis.purpose` and
 * `mnesis.cost.usd`. Prompts and replies are never recorded.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Ref, Stream } from "effect"
import type { TokenUsage } from "../../Domain.js"
import type { LlmEvent, LlmFailure, LlmRequest, Service } from "../../LlmProvider.js"
import * as Metrics from "../../Metrics.js"
import type { ModelInfo } from "../../ModelRegistry.js"
import { costOf, lookupQuiet, parseModel } from "../../ModelRegistry.js"

const providerName = Metrics.providerName

export interface InstrumentOptions {
  /** What the calls are for (a metric tag and span attribute). */
  readonly purpose: Metrics.Purpose
  /** The session the calls belong to (`gen_ai.conversation.id`). */
  readonly conversationId?: string | undefined
  /**
   * The registry entry to price calls with, for requests to its model; other models are looked up.
   * The session passes its own, so the metric's cost is the cost it records.
   */
  readonly info?: ModelInfo | undefined
}

/** What one call has reported so far. */
interface CallState {
  readonly usage: TokenUsage | undefined
  readonly finished: boolean
  readonly errorType: string | undefined
}

const requestAttributes = (request: LlmRequest, options: InstrumentOptions): Record<string, unknown> => {
  const provider = providerName(request.model)
  return {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": provider,
    "gen_ai.system": provider,
    "gen_ai.request.model": parseModel(request.model).name,
    "gen_ai.request.max_tokens": request.maxTokens,
    ...(request.temperature === undefined ? {} : { "gen_ai.request.temperature": request.temperature }),
    ...(options.conversationId === undefined ? {} : { "gen_ai.conversation.id": options.conversationId }),
    "mnesis.model": request.model,
    "mnesis.purpose": options.purpose
  }
}

/**
 * `provider` with a GenAI span and metrics on every call. Wrapping twice does not observe twice.
 *
 * @since 0.1.0
 */
export const instrument = (provider: Service, options: InstrumentOptions): Service => {
  if (instrumented.has(provider)) return provider
  const observed: Service = { stream: (request) => observe(provider, request, options) }
  instrumented.add(observed)
  return observed
}

/** Providers this module made, so an instrumented provider is never wrapped again. */
const instrumented = new WeakSet<Service>()

const observe = (
  provider: Service,
  request: LlmRequest,
  options: InstrumentOptions
): Stream.Stream<LlmEvent, LlmFailure> =>
  Stream.unwrap(Effect.gen(function*() {
    const tags = {
      provider: providerName(request.model),
      model: parseModel(request.model).name,
      purpose: options.purpose
    }
    const info = options.info !== undefined && options.info.model === request.model
      ? options.info
      : yield* lookupQuiet(request.model)
    const state = yield* Ref.make<CallState>({ usage: undefined, finished: false, errorType: undefined })
    const started = yield* Clock.currentTimeMillis

    const onEvent = (event: LlmEvent): Effect.Effect<void> => {
      switch (event.type) {
        case "usage": {
          const usage = event.usage
          const usd = costOf(usage, info)
          return Effect.all([
            Ref.update(state, (s) => ({ ...s, usage })),
            Effect.annotateCurrentSpan({
              "gen_ai.usage.input_tokens": usage.input + usage.cacheRead + usage.cacheWrite,
              "gen_ai.usage.output_tokens": usage.output,
              "gen_ai.usage.cache_read.input_tokens": usage.cacheRead,
              "gen_ai.usage.cache_creation.input_tokens": usage.cacheWrite,
              "mnesis.cost.usd": usd
            }),
            Metrics.recordUsage(tags, usage, usd)
          ], { discard: true })
        }
        case "finish":
          return Effect.zipRight(
            Ref.update(state, (s) => ({ ...s, finished: true })),
            Effect.annotateCurrentSpan({
              "gen_ai.response.model": event.model ?? tags.model,
              "gen_ai.response.finish_reasons": [event.reason]
            })
          )
        default:
          return Effect.void
      }
    }

    const onError = (error: LlmFailure) =>
      Effect.zipRight(
        Ref.update(state, (s) => ({ ...s, errorType: error._tag })),
        Effect.annotateCurrentSpan("error.type", error._tag)
      )

    // A stream that stopped before `finish` without an error was cut or interrupted.
    const onEnd = Effect.gen(function*() {
      const { errorType, finished } = yield* Ref.get(state)
      const error = errorType ?? (finished ? undefined : "incomplete")
      if (error !== undefined && errorType === undefined) {
        yield* Effect.annotateCurrentSpan("error.type", error)
      }
      const ended = yield* Clock.currentTimeMillis
      yield* Metrics.recordCall(tags, Duration.millis(ended - started), error)
    })

    return provider.stream(request).pipe(
      Stream.tap(onEvent),
      Stream.tapError(onError),
      Stream.ensuring(onEnd),
      Stream.withSpan(`chat ${tags.model}`, {
        kind: "client",
        attributes: requestAttributes(request, options),
        captureStackTrace: false
      })
    )
  }))
