/**
 * Folds the events of one streamed message into provider-neutral {@link LlmEvent}s: deltas pass
 * straight through, tool calls are emitted whole when their block stops, and usage plus finish at
 * `message_stop`.
 *
 * @since 0.1.0
 */
import type { FinishReason } from "../../Domain.js"
import { TokenUsage } from "../../Domain.js"
import type { LlmEvent } from "../../LlmProvider.js"
import { toolCallOf } from "../shared/ToolCalls.js"
import type { BlockDelta, WireEvent, WireUsage } from "./Wire.js"

/**
 * `stop_reason` → {@link FinishReason}.
 *
 * @since 0.1.0
 */
export const finishReasonOf = (stopReason: string | null | undefined): FinishReason => {
  switch (stopReason) {
    case "end_turn":
      return "stop"
    case "max_tokens":
      return "max_tokens"
    case "tool_use":
      return "tool_calls"
    case "stop_sequence":
      return "stop_sequence"
    case "refusal":
      return "content_filter"
    default:
      return "other"
  }
}

/** A tool call's arguments as they arrive in `input_json_delta` fragments. */
interface PendingToolCall {
  readonly id: string
  readonly name: string
  json: string
}

/**
 * Folds the events of one streamed message into {@link LlmEvent}s: deltas pass straight through,
 * tool calls are emitted whole when their block stops, and usage plus finish at `message_stop`.
 * One instance per HTTP response (a retried stream starts over with a fresh one).
 */
export class MessageAssembler {
  private usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }
  private stopReason: string | null | undefined = undefined
  private model: string | undefined = undefined
  private readonly toolCalls = new Map<number, PendingToolCall>()
  /** Set once `message_stop` arrived: the only way a response counts as complete. */
  finished = false

  accept(event: WireEvent): ReadonlyArray<LlmEvent> {
    switch (event.type) {
      case "message_start":
        this.model = event.message.model
        this.takeUsage(event.message.usage)
        return []
      case "content_block_start": {
        const block = event.content_block
        if (block.type === "tool_use" && "id" in block) {
          this.toolCalls.set(event.index, { id: block.id, name: block.name, json: "" })
          return []
        }
        if (block.type === "text" && "text" in block && block.text !== undefined && block.text !== "") {
          return [{ type: "text_delta", text: block.text }]
        }
        if (
          block.type === "thinking" && "thinking" in block && block.thinking !== undefined &&
          block.thinking !== ""
        ) {
          return [{ type: "reasoning_delta", text: block.thinking }]
        }
        return []
      }
      case "content_block_delta":
        return this.acceptDelta(event.index, event.delta)
      case "content_block_stop": {
        const pending = this.toolCalls.get(event.index)
        if (pending === undefined) return []
        this.toolCalls.delete(event.index)
        return [toolCallOf(pending.id, pending.name, pending.json)]
      }
      case "message_delta":
        this.stopReason = event.delta.stop_reason ?? this.stopReason
        this.takeUsage(event.usage)
        return []
      case "message_stop":
        this.finished = true
        return [
          { type: "usage", usage: TokenUsage.of(this.usage) },
          { type: "finish", reason: finishReasonOf(this.stopReason), model: this.model }
        ]
    }
  }

  private acceptDelta(index: number, delta: typeof BlockDelta.Type): ReadonlyArray<LlmEvent> {
    if ("text" in delta) return delta.text === "" ? [] : [{ type: "text_delta", text: delta.text }]
    if ("thinking" in delta) {
      return delta.thinking === ""
        ? []
        : [{ type: "reasoning_delta", text: delta.thinking }]
    }
    if ("signature" in delta) return [{ type: "reasoning_delta", text: "", signature: delta.signature }]
    if ("partial_json" in delta) {
      const pending = this.toolCalls.get(index)
      if (pending !== undefined) pending.json += delta.partial_json
    }
    return []
  }

  /** `message_start` carries the input side; `message_delta` the (cumulative) output side. */
  private takeUsage(usage: WireUsage | undefined): void {
    if (usage === undefined) return
    const pick = (value: number | null | undefined, current: number) => value ?? current
    this.usage = {
      input: pick(usage.input_tokens, this.usage.input),
      output: pick(usage.output_tokens, this.usage.output),
      cacheRead: pick(usage.cache_read_input_tokens, this.usage.cacheRead),
      cacheWrite: pick(usage.cache_creation_input_tokens, this.usage.cacheWrite)
    }
  }
}
