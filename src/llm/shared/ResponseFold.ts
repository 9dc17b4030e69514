/**
 * The one fold from provider events to the final response: text and reasoning concatenated, tool
 * calls in order, the last usage, the signature that closed the reasoning, and the finish reason.
 * A stream that ends without `finish` was cut: that is an error, never a short answer.
 *
 * @since 0.1.0
 */
import { Effect, Either, Stream } from "effect"
import type { FinishReason } from "../../Domain.js"
import { TokenUsage } from "../../Domain.js"
import { LlmConnectionError } from "../../Errors.js"
import type { LlmEvent, LlmResponse, ToolCall } from "../../LlmProvider.js"

/**
 * What the events seen so far add up to.
 *
 * @since 0.1.0
 */
export interface ResponseFold {
  readonly text: string
  readonly reasoning: string
  readonly signature: string | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly usage: TokenUsage
  readonly finishReason: FinishReason | undefined
}

/** Nothing seen yet. */
export const empty: ResponseFold = {
  text: "",
  reasoning: "",
  signature: undefined,
  toolCalls: [],
  usage: TokenUsage.zero,
  finishReason: undefined
}

/** Adds one event. */
export const step = (fold: ResponseFold, event: LlmEvent): ResponseFold => {
  switch (event.type) {
    case "text_delta":
      return { ...fold, text: fold.text + event.text }
    case "reasoning_delta":
      return {
        ...fold,
        reasoning: fold.reasoning + event.text,
        signature: event.signature ?? fold.signature
      }
    case "tool_call":
      return { ...fold, toolCalls: [...fold.toolCalls, event] }
    case "usage":
      return { ...fold, usage: event.usage }
    case "finish":
      return { ...fold, finishReason: event.reason }
  }
}

/** The response, or the error of a stream that never finished. */
export const result = (
  provider: string,
  fold: ResponseFold
): Either.Either<LlmResponse, LlmConnectionError> =>
  fold.finishReason === undefined
    ? Either.left(
      new LlmConnectionError({
        provider,
        detail: "the response stream ended before the message was complete"
      })
    )
    : Either.right({
      text: fold.text,
      reasoning: fold.reasoning,
      ...(fold.signature === undefined ? {} : { signature: fold.signature }),
      toolCalls: fold.toolCalls,
      usage: fold.usage,
      finishReason: fold.finishReason
    })

/**
 * Runs a stream of events to its end and folds it. `onEvent` sees each event as it arrives (to
 * show deltas live) before it is folded.
 *
 * @since 0.1.0
 */
export const collect = <E, R, E2 = never, R2 = never>(
  provider: string,
  events: Stream.Stream<LlmEvent, E, R>,
  onEvent?: (event: LlmEvent) => Effect.Effect<void, E2, R2>
): Effect.Effect<LlmResponse, E | E2 | LlmConnectionError, R | R2> =>
  Stream.runFoldEffect(
    events,
    empty,
    (fold, event): Effect.Effect<ResponseFold, E2, R2> =>
      onEvent === undefined ? Effect.succeed(step(fold, event)) : Effect.as(onEvent(event), step(fold, event))
  ).pipe(Effect.flatMap((fold) => result(provider, fold)))
