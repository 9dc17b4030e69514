/**
 * Turns decoded stream chunks into provider-neutral events, live: text and reasoning as they
 * arrive, tool calls once their fragments are complete, usage and the finish reason at the end.
 *
 * Tool-call fragments are paired the OpenAI way (by `index`), with the hosts' departures from it
 * handled: Gemini sends each of several parallel calls whole, in its own chunk, all with index 0
 * (or none) and sometimes without an id; a fragment that names a function while the call in its
 * slot already has a name, or carries a different id, therefore starts a new call.
 *
 * @since 0.1.0
 */
import { Either } from "effect"
import type { FinishReason } from "../../Domain.js"
import { TokenUsage } from "../../Domain.js"
import type { LlmError } from "../../Errors.js"
import { LlmConnectionError } from "../../Errors.js"
import type { LlmEvent } from "../../LlmProvider.js"
import type { Redactor } from "../shared/ProviderErrors.js"
import { toolCallOf } from "../shared/ToolCalls.js"
import { errorForStreamError } from "./Failures.js"
import type { ContentPart, StreamChunk, ToolCallFragment, Usage } from "./Wire.js"

/** A tool call whose arguments are still arriving. */
interface PendingCall {
  id: string
  name: string
  args: string
  signature: string | undefined
}

/** `finish_reason` → {@link FinishReason}. Together's `eos` is a plain stop. */
export const finishReasonOf = (reason: string): FinishReason => {
  switch (reason) {
    case "stop":
    case "eos":
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

/** The text and the reasoning of a delta's `content` (a string, or Mistral's array of pieces). */
const contentOf = (
  content: string | ReadonlyArray<ContentPart> | null | undefined
): { readonly text: string; readonly reasoning: string } => {
  if (content === null || content === undefined) return { text: "", reasoning: "" }
  if (typeof content === "string") return { text: content, reasoning: "" }
  let text = ""
  let reasoning = ""
  for (const part of content) {
    if ("text" in part) text += part.text
    else if ("thinking" in part) {
      reasoning += typeof part.thinking === "string"
        ? part.thinking
        : part.thinking.map((piece) => piece.text ?? "").join("")
    }
  }
  return { text, reasoning }
}

/**
 * What the assembler needs from its provider.
 *
 * @since 0.1.0
 */
export interface AssemblerOptions {
  readonly provider: string
  readonly redact: Redactor
  /** A fresh id for a call the host sent without one (unique across responses). */
  readonly newCallId: () => string
  /** Called with each call that came with a Gemini thought signature. */
  readonly onSignature?: ((callId: string, signature: string) => void) | undefined
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

export const makeEventAssembler = (options: AssemblerOptions): EventAssembler => {
  const { provider, redact } = options
  /** Calls in the order they started. */
  const pending: Array<PendingCall> = []
  /** The call each wire `index` last referred to. */
  const byIndex = new Map<number, PendingCall>()
  let emittedCalls = 0
  let finish: FinishReason | undefined
  let usage: TokenUsage | undefined
  let model: string | undefined

  const startsNewCall = (fragment: ToolCallFragment, current: PendingCall | undefined): boolean => {
    if (current === undefined) return true
    const id = fragment.id ?? ""
    if (id !== "" && current.id !== "") return id !== current.id
    const name = fragment.function?.name ?? ""
    return name !== "" && current.name !== ""
  }

  const addFragment = (fragment: ToolCallFragment) => {
    const current = fragment.index == null ? pending.at(-1) : byIndex.get(fragment.index)
    const call = startsNewCall(fragment, current)
      ? { id: "", name: "", args: "", signature: undefined }
      : current!
    if (call !== current) pending.push(call)
    if (fragment.index != null) byIndex.set(fragment.index, call)
    if (fragment.id != null && fragment.id !== "") call.id = fragment.id
    if (fragment.function?.name != null) call.name += fragment.function.name
    if (fragment.function?.arguments != null) call.args += fragment.function.arguments
    const signature = fragment.extra_content?.google?.thought_signature
    if (signature != null && signature !== "") call.signature = signature
  }

  const flushCalls = (): Array<LlmEvent> => {
    const calls = pending.map((call) => {
      // The tool loop pairs each call with its result by id, so a missing one is made up.
      const id = call.id === "" ? options.newCallId() : call.id
      if (call.signature !== undefined) options.onSignature?.(id, call.signature)
      return toolCallOf(id, call.name, call.args)
    })
    emittedCalls += calls.length
    pending.length = 0
    byIndex.clear()
    return calls
  }

  const onChunk = (chunk: StreamChunk): Either.Either<ReadonlyArray<LlmEvent>, LlmError> => {
    if (chunk.error != null) return Either.left(errorForStreamError(provider, chunk.error, redact))
    if (chunk.model != null && chunk.model !== "") model = chunk.model
    const reported = chunk.usage ?? chunk.x_groq?.usage
    if (reported != null) usage = usageOf(reported)
    const events: Array<LlmEvent> = []
    for (const choice of chunk.choices ?? []) {
      // We ask for one completion; other choice indexes never occur, and are ignored if they do.
      if ((choice.index ?? 0) !== 0) continue
      const delta = choice.delta
      const content = contentOf(delta?.content)
      const reasoning = (delta?.reasoning_content ?? delta?.reasoning ?? "") + content.reasoning
      if (reasoning !== "") events.push({ type: "reasoning_delta", text: reasoning })
      if (content.text !== "") events.push({ type: "text_delta", text: content.text })
      for (const fragment of delta?.tool_calls ?? []) addFragment(fragment)
      if (choice.finish_reason != null && finish === undefined) {
        events.push(...flushCalls())
        const reason = finishReasonOf(choice.finish_reason)
        // Gemini and some local servers say "stop" after calling tools; the loop must still run them.
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
    events.push({ type: "finish", reason: finish, model })
    return Either.right(events)
  }

  return { onChunk, onEnd }
}
