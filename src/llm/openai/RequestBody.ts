/**
 * Maps a provider-neutral {@link LlmRequest} onto a streaming Chat Completions body.
 *
 * @since 0.1.0
 */
import type { LlmMessage, LlmRequest } from "../../LlmProvider.js"
import { modelNameOf } from "../../LlmProvider.js"
import type { MaxTokensParam } from "./Endpoints.js"
import type { ChatCompletionBody, WireMessage, WireToolCall } from "./Wire.js"

/** Marks a failed tool result: the wire format has no error flag, so the model reads it in the text. */
export const TOOL_ERROR_PREFIX = "Error: "

const joinTexts = (texts: ReadonlyArray<string>): string => texts.join("\n\n")

/**
 * One neutral message becomes one or more wire messages. Reasoning blocks are dropped: Chat
 * Completions has no input field for them, and providers that stream reasoning (DeepSeek, for one)
 * reject requests that send it back. Cache markers are dropped too; these providers cache prefixes
 * on their own.
 */
const toWireMessages = (message: LlmMessage): ReadonlyArray<WireMessage> => {
  const texts: Array<string> = []
  if (message.role === "assistant") {
    const toolCalls: Array<WireToolCall> = []
    for (const block of message.content) {
      if (block.type === "text") texts.push(block.text)
      else if (block.type === "tool_use") {
        toolCalls.push({
          id: block.id,
          type: "function",
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) }
        })
      }
    }
    if (toolCalls.length > 0) {
      // `null` rather than "" when there is no text: OpenAI's documented form for a pure tool call.
      return [{
        role: "assistant",
        content: texts.length > 0 ? joinTexts(texts) : null,
        tool_calls: toolCalls
      }]
    }
    return texts.length > 0 ? [{ role: "assistant", content: joinTexts(texts) }] : []
  }
  // Tool results come first: each `tool` message must directly follow the assistant's tool calls.
  const out: Array<WireMessage> = []
  for (const block of message.content) {
    if (block.type === "text") texts.push(block.text)
    else if (block.type === "tool_result") {
      out.push({
        role: "tool",
        tool_call_id: block.toolUseId,
        content: block.isError === true ? TOOL_ERROR_PREFIX + block.content : block.content
      })
    }
  }
  if (texts.length > 0) out.push({ role: "user", content: joinTexts(texts) })
  return out
}

/**
 * The request body. `stream_options.include_usage` is always on: without it many providers send no
 * usage at all, and the session's token and cost accounting would read zero.
 */
export const toChatBody = (request: LlmRequest, maxTokensParam: MaxTokensParam): ChatCompletionBody => {
  const system = request.system.map((block) => block.text).filter((text) => text !== "")
  const messages: Array<WireMessage> = system.length > 0
    ? [{ role: "system", content: joinTexts(system) }]
    : []
  for (const message of request.messages) messages.push(...toWireMessages(message))
  const tools = request.tools ?? []
  return {
    model: modelNameOf(request.model),
    messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(tools.length > 0
      ? {
        tools: tools.map((tool) => ({
          type: "function" as const,
          function: { name: tool.name, description: tool.description, parameters: tool.inputSchema }
        }))
      }
      : {}),
    ...(maxTokensParam === "max_completion_tokens"
      ? { max_completion_tokens: request.maxTokens }
      : { max_tokens: request.maxTokens }),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.stop !== undefined && request.stop.length > 0 ? { stop: request.stop } : {})
  }
}
