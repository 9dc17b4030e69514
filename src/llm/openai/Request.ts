/**
 * Maps a provider-neutral {@link LlmRequest} onto a streaming Chat Completions body, in the
 * host's dialect.
 *
 * @since 0.1.0
 */
import type { LlmMessage, LlmRequest } from "../../LlmProvider.js"
import { modelNameOf } from "../../LlmProvider.js"
import type { WireDialect } from "./Hosts.js"
import type { ChatCompletionBody, WireMessage, WireToolCall } from "./Wire.js"

/** Marks a failed tool result: the wire format has no error flag, so the model reads it in the text. */
export const TOOL_ERROR_PREFIX = "Error: "

/**
 * Gemini's documented stand-in for a thought signature it never issued (a call from another
 * model, or one whose signature this process no longer holds): the call is accepted unverified.
 */
export const SKIP_SIGNATURE = "skip_thought_signature_validator"

/** What shapes a body besides the request. */
export interface BodyOptions {
  readonly dialect: Pick<WireDialect, "maxTokensParam" | "streamUsage" | "thoughtSignatures">
  /** Sent as `reasoning_effort` (OpenAI reasoning models, Gemini, Groq, xAI's mini models…). */
  readonly reasoningEffort?: string | undefined
  /** The thought signature a call came with, when this process still knows it. */
  readonly signatureOf?: ((callId: string) => string | undefined) | undefined
}

const joinTexts = (texts: ReadonlyArray<string>): string => texts.join("\n\n")

/**
 * One neutral message becomes one or more wire messages. Reasoning blocks are dropped: Chat
 * Completions has no input field for them, and providers that stream reasoning (DeepSeek, for one)
 * reject requests that send it back. Cache markers are dropped too; these providers cache prefixes
 * on their own.
 */
const toWireMessages = (message: LlmMessage, options: BodyOptions): ReadonlyArray<WireMessage> => {
  const texts: Array<string> = []
  if (message.role === "assistant") {
    const toolCalls: Array<WireToolCall> = []
    for (const block of message.content) {
      if (block.type === "text") texts.push(block.text)
      else if (block.type === "tool_use") {
        const call: WireToolCall = {
          id: block.id,
          type: "function",
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) }
        }
        toolCalls.push(withSignature(call, toolCalls.length === 0, options))
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
 * Gemini 3 checks the signature of the first call of each step it is sent back (and only that
 * one): the signature it issued when this process still holds it, else the documented stand-in.
 */
const withSignature = (call: WireToolCall, first: boolean, options: BodyOptions): WireToolCall => {
  if (!options.dialect.thoughtSignatures) return call
  const known = options.signatureOf?.(call.id)
  const signature = known ?? (first ? SKIP_SIGNATURE : undefined)
  return signature === undefined
    ? call
    : { ...call, extra_content: { google: { thought_signature: signature } } }
}

/**
 * The request body. `stream_options.include_usage` is on wherever the host accepts it: without it
 * many providers send no usage at all, and the session's token and cost accounting would read zero.
 */
export const toChatBody = (request: LlmRequest, options: BodyOptions): ChatCompletionBody => {
  const system = request.system.map((block) => block.text).filter((text) => text !== "")
  const messages: Array<WireMessage> = system.length > 0
    ? [{ role: "system", content: joinTexts(system) }]
    : []
  for (const message of request.messages) messages.push(...toWireMessages(message, options))
  const tools = request.tools ?? []
  return {
    model: modelNameOf(request.model),
    messages,
    stream: true,
    ...(options.dialect.streamUsage ? { stream_options: { include_usage: true } } : {}),
    ...(tools.length > 0
      ? {
        tools: tools.map((tool) => ({
          type: "function" as const,
          function: { name: tool.name, description: tool.description, parameters: tool.inputSchema }
        }))
      }
      : {}),
    ...(options.dialect.maxTokensParam === "max_completion_tokens"
      ? { max_completion_tokens: request.maxTokens }
      : { max_tokens: request.maxTokens }),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.stop !== undefined && request.stop.length > 0 ? { stop: request.stop } : {}),
    ...(options.reasoningEffort !== undefined ? { reasoning_effort: options.reasoningEffort } : {}),
    // Structured output: the reply's text is the JSON object (not strict: strict mode refuses
    // schemas with optional properties or open objects).
    ...(request.output === undefined ? {} : {
      response_format: {
        type: "json_schema" as const,
        json_schema: { name: request.output.name, schema: request.output.schema, strict: false }
      }
    })
  }
}
