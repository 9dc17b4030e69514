/**
 * Turns decoded stream chunks into provider-neutral events, live: text and reasoning as they
 * arrive, tool calls once their fragments are complete, usage and the finish reason at the end.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import type { FinishReason } from "../../Domain.js"
import { TokenUsage } from "../../Domain.js"
import type { LlmError } from "../../Errors.js"
import { LlmConnectionError } from "../../Errors.js"
import type { LlmEvent, ToolCall } from "../../LlmProvider.js"
import type { Redactor } from "./HttpErrors.js"
import { errorForStreamError } from "./HttpErrors.js"
import type { StreamChunk, ToolCallFragment, Usage } from "./Wire.js"

/** A tool call whose arguments are still arriving. */
interface PendingCall {
  id: string
  name: string
  args: string
}

export const finishReasonOf = (reason: string): FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "max_tokens"
    case "tool_calls":
    case "function_call":
      return "tool_calls"
    case "content_filter":
      return "content_filter"
    default:
      return "other"
  }
}

const count = (value: number | null | undefined): number =>
  value === null || value === undefined || !Number.isFinite(value) ? 0 : Math.max(0, Math.round(value))

/** `prompt_tokens` includes cached tokens; mnesis counts them apart as `cacheRead`. */
export const usageOf = (usage: Usage): TokenUsage => {
  const prompt = count(usage.prompt_tokens)
  const output = count(usage.completion_tokens)
  const cached = Math.min(
    prompt,
    count(usage.prompt_tokens_details?.cached_tokens ?? usage.prompt_cache_hit_tokens)
  )
  const total = count(usage.total_tokens)
  return TokenUsage.of({
    input: prompt - cached,
    output,
    cacheRead: cached,
    total: total > 0 ? total : prompt + output
  })
}

/** Empty arguments mean "no arguments"; invalid JSON is kept raw and reported, never guessed at. */
const toToolCall = (call: PendingCall): ToolCall => {
  if (call.args.trim() === "") return { type: "tool_call", id: call.id, name: call.name, input: {} }
  try {
    return { type: "tool_call", id: call.id, name: call.name, input: JSON.parse(call.args) as unknown }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return {
      type: "tool_call",
      id: call.id,
      name: call.name,
      input: call.args,
      inputError: `the arguments are not valid JSON (${reason})`
    }
  }
}

/**
 * The per-response state machine. Create one per HTTP response; it is not shared between fibers.
 *
 * @since 0.1.0
 */
export interface EventAssembler {
  /** The events one chunk completes, or the error an in-stream error object stands for. */
  readonly onChunk: (chunk: StreamChunk) => Either.Either<ReadonlyArray<LlmEvent>, LlmError>
  /**
   * The closing events (usage, then finish) once the body is over. A body that ends before the
   * model sent a finish reason was cut: that is an error, never a short answer.
   */
  readonly onEnd: (sawDone: boolean) => Either.Either<ReadonlyArray<LlmEvent>, LlmConnectionError>
}

export const makeEventAssembler = (provider: string, redact: Redactor): EventAssembler => {
  // Keyed by the fragment `index`; a Map keeps first-seen order, which is the index order.
  const pending = new Map<number, PendingCall>()
  let emittedCalls = 0
  let finish: FinishReason | undefined
  let usage: TokenUsage | undefined

  const addFragment = (fragment: ToolCallFragment) => {
    const lastIndex = Math.max(-1, ...pending.keys())
    // Without an index, a fragment carrying a new id starts the next call; otherwise it continues.
    const index = fragment.index ?? (fragment.id != null || lastIndex === -1 ? lastIndex + 1 : lastIndex)
    const call = pending.get(index) ?? { id: "", name: "", args: "" }
    pending.set(index, call)
    if (fragment.id != null && fragment.id !== "") call.id = fragment.id
    if (fragment.function?.name != null) call.name += fragment.function.name
    if (fragment.function?.arguments != null) call.args += fragment.function.arguments
  }

  const flushCalls = (): Array<LlmEvent> => {
    const calls = [...pending.entries()].sort(([a], [b]) => a - b).map(([index, call]) =>
      // Some local servers omit call ids; the tool loop still needs one to pair call and result.
      toToolCall(call.id === "" ? { ...call, id: `call_${emittedCalls + index}` } : call)
    )
    emittedCalls += calls.length
    pending.clear()
    return calls
  }

  const onChunk = (chunk: StreamChunk): Either.Either<ReadonlyArray<LlmEvent>, LlmError> => {
    if (chunk.error != null) return Either.left(errorForStreamError(provider, chunk.error, redact))
    if (chunk.usage != null) usage = usageOf(chunk.usage)
    const events: Array<LlmEvent> = []
    for (const choice of chunk.choices ?? []) {
      // We ask for one completion; other choice indexes never occur, and are ignored if they do.
      if ((choice.index ?? 0) !== 0) continue
      const delta = choice.delta
      const reasoning = delta?.reasoning_content ?? delta?.reasoning
      if (reasoning != null && reasoning !== "") events.push({ type: "reasoning_delta", text: reasoning })
      if (delta?.content != null && delta.content !== "") {
        events.push({ type: "text_delta", text: delta.content })
      }
      for (const fragment of delta?.tool_calls ?? []) addFragment(fragment)
      if (choice.finish_reason != null && finish === undefined) {
        events.push(...flushCalls())
        const reason = finishReasonOf(choice.finish_reason)
        // Some local servers say "stop" after calling tools; the tool loop must still run them.
        finish = reason === "stop" && emittedCalls > 0 ? "tool_calls" : reason
      }
    }
    return Either.right(events)
  }

  const onEnd = (sawDone: boolean): Either.Either<ReadonlyArray<LlmEvent>, LlmConnectionError> => {
    if (finish === undefined) {
      return Either.left(
        new LlmConnectionError({
          provider,
          detail: sawDone
            ? "the stream ended ([DONE]) without a finish reason, so the answer may be incomplete"
            : "the response stream ended before the model finished"
        })
      )
    }
    const events: Array<LlmEvent> = flushCalls()
    if (usage !== undefined) events.push({ type: "usage", usage })
    events.push({ type: "finish", reason: finish })
    return Either.right(events)
  }

  return { onChunk, onEnd }
}
