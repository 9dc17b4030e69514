/**
 * Retry of transient provider errors (rate limited, overloaded, server error, timeout,
 * connection) as an Effect `Schedule`: exponential backoff from `baseDelay`, optional jitter,
 * capped at `maxDelay`, honouring the provider's `retry-after` hint. Every other error fails at
 * once. Each retry is reported to `onRetry` (the session publishes it as an `LlmRetry` event).
 *
 * @since 0.1.0
 */
import { Duration, Effect, Random, Schedule, Stream } from "effect"
import type { RetryConfig } from "../Config.js"
import { isTransient } from "../Errors.js"
import type { LlmFailure } from "../LlmProvider.js"

/** What a retry reports before it sleeps. */
export interface RetryInfo {
  /** 1 for the first retry. */
  readonly attempt: number
  readonly maxRetries: number
  readonly error: LlmFailure
  readonly delay: Duration.Duration
}

export interface RetryOptions {
  readonly config: RetryConfig
  readonly onRetry?: ((info: RetryInfo) => Effect.Effect<void>) | undefined
}

/**
 * The delay before retry number `attempt` (1-based): the provider's `retry-after` when it sent
 * one, else `baseDelay × 2^(attempt−1)` plus up to one `baseDelay` of jitter; never above
 * `maxDelay`.
 */
export const delayFor = (
  config: RetryConfig,
  error: LlmFailure,
  attempt: number
): Effect.Effect<Duration.Duration> =>
  Effect.gen(function*() {
    const cap = Duration.toMillis(config.maxDelay)
    if (error._tag === "LlmRateLimited" && error.retryAfterMs !== undefined) {
      return Duration.millis(Math.min(error.retryAfterMs, cap))
    }
    const base = Duration.toMillis(config.baseDelay)
    const jitter = config.jitter && base > 0 ? yield* Random.nextRange(0, base) : 0
    return Duration.millis(Math.min(base * 2 ** (attempt - 1) + jitter, cap))
  })

/**
 * The schedule: recurs while the error is transient, up to `maxRetries` times. The delay and the
 * `onRetry` report are made in `modifyDelayEffect`, which runs only on steps that go on: the
 * step that ends the schedule (retries exhausted, or an error not worth retrying) reports
 * nothing, so there is exactly one report per retry made.
 */
export const schedule = (options: RetryOptions): Schedule.Schedule<unknown, LlmFailure> =>
  Schedule.identity<LlmFailure>().pipe(
    Schedule.intersect(Schedule.count),
    Schedule.whileInput((error: LlmFailure) => isTransient(error)),
    Schedule.whileOutput(([, count]) => count < options.config.maxRetries),
    Schedule.modifyDelayEffect(([error, count]) =>
      Effect.gen(function*() {
        const attempt = count + 1
        const delay = yield* delayFor(options.config, error, attempt)
        if (options.onRetry !== undefined) {
          yield* options.onRetry({ attempt, maxRetries: options.config.maxRetries, error, delay })
        }
        return delay
      })
    )
  )

/** Retries an effect on transient provider errors. */
export const retry = <A, R>(
  effect: Effect.Effect<A, LlmFailure, R>,
  options: RetryOptions
): Effect.Effect<A, LlmFailure, R> =>
  options.config.maxRetries === 0 ? effect : Effect.retry(effect, schedule(options))

/**
 * Retries a stream from its start on transient errors. Elements emitted before the failure are
 * not taken back: callers that show deltas live must discard a failed attempt's output.
 */
export const retryStream = <A, R>(
  stream: Stream.Stream<A, LlmFailure, R>,
  options: RetryOptions
): Stream.Stream<A, LlmFailure, R> =>
  options.config.maxRetries === 0 ? stream : Stream.retry(stream, schedule(options))
