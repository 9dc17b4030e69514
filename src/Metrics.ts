/**
 * mnesis's metrics, as Effect `Metric`s: read them with `Metric.value`, or export them with
 * `@effect/opentelemetry` (see docs/telemetry.md). Durations are in seconds, as OpenTelemetry's
 * conventions ask; token counts and costs are plain numbers.
 *
 * | metric | kind | tags |
 * | --- | --- | --- |
 * | `mnesis.llm.tokens` | counter | `mnesis.token.kind` (input, output, cache_read, cache_write), `gen_ai.provider.name`, `gen_ai.request.model`, `mnesis.purpose` (turn, compaction) |
 * | `mnesis.llm.cost` | counter (USD) | `gen_ai.provider.name`, `gen_ai.request.model`, `mnesis.purpose` |
 * | `gen_ai.client.operation.duration` | histogram (s) | `gen_ai.operation.name`, `gen_ai.provider.name`, `gen_ai.request.model`, `error.type` on failures |
 * | `gen_ai.client.token.usage` | histogram | `gen_ai.token.type` (input, output), `gen_ai.provider.name`, `gen_ai.request.model` |
 * | `mnesis.turn.duration` | histogram (s) | `mnesis.outcome` (ok, or the error's tag) |
 * | `mnesis.context.tokens` | histogram | — (the context each turn sent) |
 * | `mnesis.compaction.rounds` | counter | `mnesis.compaction.level` (1, 2, 3, none), `mnesis.compaction.outcome` (committed, skipped, failed) |
 * | `mnesis.compaction.round.duration` | histogram (s) | `mnesis.compaction.outcome` |
 * | `mnesis.memory.grep.duration` | histogram (s) | — |
 *
 * Input tokens in `mnesis.llm.tokens` exclude cached ones (the kinds are disjoint and add up to
 * the total); `gen_ai.client.token.usage` counts every input token, cached or not, as the GenAI
 * conventions define it.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Duration, Effect, Exit, Metric, MetricBoundaries, Option, Ref } from "effect"
import type { TokenUsageFields } from "./Domain.js"
import { parseModel } from "./ModelRegistry.js"

/** 5 ms up to about 5 minutes, doubling. */
const SECONDS = MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 17 })
/** 64 tokens up to about 4M, ×4. */
const TOKENS = MetricBoundaries.exponential({ start: 64, factor: 4, count: 10 })

/** @since 0.1.0 */
export const tokens = Metric.counter("mnesis.llm.tokens", {
  description: "Tokens of model calls, by kind: input (uncached), output, cache_read, cache_write",
  incremental: true
})

/** @since 0.1.0 */
export const cost = Metric.counter("mnesis.llm.cost", {
  description: "USD of model calls at the registry's list prices",
  incremental: true
})

/** @since 0.1.0 */
export const operationDuration = Metric.histogram(
  "gen_ai.client.operation.duration",
  SECONDS,
  "Duration of model calls, in seconds (GenAI semantic conventions)"
)

/** @since 0.1.0 */
export const tokenUsage = Metric.histogram(
  "gen_ai.client.token.usage",
  TOKENS,
  "Tokens per model call, by gen_ai.token.type; input includes cached tokens (GenAI semantic conventions)"
)

/** @since 0.1.0 */
export const turnDuration = Metric.histogram(
  "mnesis.turn.duration",
  SECONDS,
  "Duration of send/stream turns, tool loop included, in seconds"
)

/** @since 0.1.0 */
export const contextTokens = Metric.histogram(
  "mnesis.context.tokens",
  TOKENS,
  "Tokens of the context each turn sent to the model"
)

/** @since 0.1.0 */
export const compactionRounds = Metric.counter("mnesis.compaction.rounds", {
  description: "Compaction rounds, by summary level (1, 2, 3; none when no summary) and outcome",
  incremental: true
})

/** @since 0.1.0 */
export const compactionRoundDuration = Metric.histogram(
  "mnesis.compaction.round.duration",
  SECONDS,
  "Duration of compaction rounds that ran a summariser, in seconds"
)

/** @since 0.1.0 */
export const grepDuration = Metric.histogram(
  "mnesis.memory.grep.duration",
  SECONDS,
  "Duration of memory grep calls, in seconds"
)

/** mnesis prefixes → the GenAI conventions' well-known provider names (others keep the prefix). */
const PROVIDER_NAMES: Readonly<Record<string, string>> = {
  anthropic: "anthropic",
  openai: "openai",
  azure: "azure.ai.openai",
  gemini: "gcp.gemini",
  groq: "groq",
  mistral: "mistral_ai",
  deepseek: "deepseek",
  xai: "x_ai",
  bedrock: "aws.bedrock"
}

/** The `gen_ai.provider.name` of a model string. */
export const providerName = (model: string): string => {
  const { provider } = parseModel(model)
  return PROVIDER_NAMES[provider] ?? (provider === "" ? "unknown" : provider)
}

/** Seconds of a duration, for the histograms above. */
export const seconds = (duration: Duration.Duration): number => Duration.toMillis(duration) / 1000

/** What one model call is for: a session's turn, or a compaction summary. */
export type Purpose = "turn" | "compaction"

/** The tags every model-call metric carries. */
export interface CallTags {
  readonly provider: string
  readonly model: string
  readonly purpose: Purpose
}

const callTagged = <T, In, Out>(metric: Metric.Metric<T, In, Out>, tags: CallTags) =>
  metric.pipe(
    Metric.tagged("gen_ai.provider.name", tags.provider),
    Metric.tagged("gen_ai.request.model", tags.model),
    Metric.tagged("mnesis.purpose", tags.purpose)
  )

/** Counts one call's usage and cost. */
export const recordUsage = (tags: CallTags, usage: TokenUsageFields, usd: number): Effect.Effect<void> => {
  const kinds = [
    ["input", usage.input],
    ["output", usage.output],
    ["cache_read", usage.cacheRead],
    ["cache_write", usage.cacheWrite]
  ] as const
  const byType = (type: "input" | "output", value: number) =>
    Metric.update(
      tokenUsage.pipe(
        Metric.tagged("gen_ai.token.type", type),
        Metric.tagged("gen_ai.provider.name", tags.provider),
        Metric.tagged("gen_ai.request.model", tags.model)
      ),
      value
    )
  return Effect.all([
    ...kinds.map(([kind, value]) =>
      Metric.incrementBy(callTagged(tokens, tags).pipe(Metric.tagged("mnesis.token.kind", kind)), value)
    ),
    Metric.incrementBy(callTagged(cost, tags), usd),
    byType("input", usage.input + usage.cacheRead + usage.cacheWrite),
    byType("output", usage.output)
  ], { discard: true })
}

/** Records one call's duration; `errorType` when it failed. */
export const recordCall = (
  tags: Omit<CallTags, "purpose">,
  duration: Duration.Duration,
  errorType: string | undefined
): Effect.Effect<void> => {
  const base = operationDuration.pipe(
    Metric.tagged("gen_ai.operation.name", "chat"),
    Metric.tagged("gen_ai.provider.name", tags.provider),
    Metric.tagged("gen_ai.request.model", tags.model)
  )
  return Metric.update(
    errorType === undefined ? base : Metric.tagged(base, "error.type", errorType),
    seconds(duration)
  )
}

/** Records a finished turn: how long it took and, when it succeeded, the context it sent. */
export const recordTurn = (
  duration: Duration.Duration,
  outcome: string,
  contextSize: number | undefined
): Effect.Effect<void> =>
  Effect.zipRight(
    Metric.update(Metric.tagged(turnDuration, "mnesis.outcome", outcome), seconds(duration)),
    contextSize === undefined ? Effect.void : Metric.update(contextTokens, contextSize)
  )

/** The outcome of one compaction round. */
export type RoundOutcome = "committed" | "skipped" | "failed"

/** Counts one compaction round and its duration. */
export const recordRound = (
  level: 1 | 2 | 3 | undefined,
  outcome: RoundOutcome,
  duration: Duration.Duration
): Effect.Effect<void> =>
  Effect.zipRight(
    Metric.increment(
      Metric.tagged(
        Metric.tagged(
          compactionRounds,
          "mnesis.compaction.level",
          level === undefined ? "none" : String(level)
        ),
        "mnesis.compaction.outcome",
        outcome
      )
    ),
    Metric.update(
      Metric.tagged(compactionRoundDuration, "mnesis.compaction.outcome", outcome),
      seconds(duration)
    )
  )

// ---------------------------------------------------------------------------------------------
// The turn span
// ---------------------------------------------------------------------------------------------

/** What the turn span reads from a turn's result (a `TurnResult` has all of it). */
export interface TurnFacts {
  readonly tokens: TokenUsageFields
  readonly cost: number
  readonly context: { readonly total: number }
  readonly finishReason: string
  readonly steps: number
  readonly compactionTriggered: boolean
}

/** The tag of a failed turn's error, `interrupted`, or `defect`. */
const outcomeOf = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return failure.value._tag
  return Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"
}

/**
 * A session's turn tracker: wraps each turn in a `mnesis.turn` span (session, turn number in this
 * session handle, model; then the turn's usage summed over its calls, cost, context tokens,
 * steps and finish reason) and records `mnesis.turn.duration` and `mnesis.context.tokens`.
 * The sums use `mnesis.turn.*` names, so backends that add up `gen_ai.usage.*` count each call
 * once (on its `chat` span).
 *
 * @since 0.1.0
 */
export const trackTurns = (sessionId: string, model: string) =>
  Effect.map(
    Ref.make(0),
    (count) =>
    <A extends TurnFacts, E extends { readonly _tag: string }, R>(
      turn: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E, R> =>
      Effect.gen(function*() {
        const number = yield* Ref.updateAndGet(count, (n) => n + 1)
        const started = yield* Clock.currentTimeMillis
        return yield* turn.pipe(
          Effect.tap((result) =>
            Effect.annotateCurrentSpan({
              "mnesis.turn.input_tokens": result.tokens.input + result.tokens.cacheRead +
                result.tokens.cacheWrite,
              "mnesis.turn.output_tokens": result.tokens.output,
              "mnesis.turn.cache_read_tokens": result.tokens.cacheRead,
              "mnesis.turn.cache_write_tokens": result.tokens.cacheWrite,
              "mnesis.turn.cost.usd": result.cost,
              "mnesis.turn.steps": result.steps,
              "mnesis.turn.finish_reason": result.finishReason,
              "mnesis.context.tokens": result.context.total,
              "mnesis.compaction.triggered": result.compactionTriggered
            })
          ),
          Effect.tapError((error) => Effect.annotateCurrentSpan("error.type", error._tag)),
          Effect.onExit((exit) =>
            Effect.flatMap(Clock.currentTimeMillis, (ended) =>
              recordTurn(
                Duration.millis(ended - started),
                outcomeOf(exit),
                Exit.isSuccess(exit) ? exit.value.context.total : undefined
              ))
          ),
          Effect.withSpan("mnesis.turn", {
            attributes: {
              "mnesis.session.id": sessionId,
              "gen_ai.conversation.id": sessionId,
              "mnesis.turn.number": number,
              "mnesis.model": model,
              "gen_ai.provider.name": providerName(model),
              "gen_ai.request.model": parseModel(model).name
            },
            captureStackTrace: false
          })
        )
      })
  )
