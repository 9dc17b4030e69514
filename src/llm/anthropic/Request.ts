/**
 * Maps a provider-neutral {@link LlmRequest} to the Messages API's streaming parameters: cache
 * marks become `cache_control` breakpoints, signed reasoning is replayed as `thinking` blocks, and
 * tool inputs are always JSON objects.
 *
 * @since 0.1.0
 */
import type {
  ContentBlockParam,
  MessageCreateParamsStreaming,
  MessageParam,
  TextBlockParam,
  Tool
} from "@anthropic-ai/sdk/resources/messages"
import type { ContentBlock, LlmMessage, LlmRequest } from "../../LlmProvider.js"
import { modelNameOf } from "../../LlmProvider.js"

const ephemeral = { cache_control: { type: "ephemeral" } } as const

const cacheMark = (cache: boolean | undefined) => cache === true ? ephemeral : {}

/**
 * Maps a provider-neutral request to the Messages API's streaming parameters.
 *
 * @since 0.1.0
 */
export const toParams = (request: LlmRequest): MessageCreateParamsStreaming => {
  const system: Array<TextBlockParam> = request.system.map((block) => ({
    type: "text",
    text: block.text,
    ...cacheMark(block.cache)
  }))
  const tools: Array<Tool> = (request.tools ?? []).map((tool) => ({
    name: tool.name,
    description: tool.description,
    // The API only accepts object schemas for tool input.
    input_schema: { ...tool.inputSchema, type: "object" }
  }))
  // Structured output: one tool whose input is the reply, and the model made to call it.
  const output = request.output
  if (output !== undefined) {
    tools.push({
      name: output.name,
      description: "Give your reply by calling this tool: its input is the whole reply.",
      input_schema: { ...output.schema, type: "object" }
    })
  }
  return {
    model: modelNameOf(request.model),
    max_tokens: request.maxTokens,
    messages: request.messages.map(toMessageParam),
    stream: true,
    ...(system.length > 0 ? { system } : {}),
    ...(tools.length > 0 ? { tools } : {}),
    ...(output === undefined ? {} : { tool_choice: { type: "tool", name: output.name } }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.stop === undefined || request.stop.length === 0 ? {} : { stop_sequences: [...request.stop] })
  }
}

const toMessageParam = (message: LlmMessage): MessageParam => ({
  role: message.role,
  content: message.content.flatMap(toContentBlockParam)
})

const toContentBlockParam = (block: ContentBlock): ReadonlyArray<ContentBlockParam> => {
  switch (block.type) {
    case "text":
      return [{ type: "text", text: block.text, ...cacheMark(block.cache) }]
    case "reasoning":
      // The API verifies every thinking block it gets back against its signature and rejects
      // unsigned ones (400), so reasoning without a signature (e.g. from another provider) is
      // left out rather than sent.
      return block.signature === undefined || block.signature === ""
        ? []
        : [{ type: "thinking", thinking: block.text, signature: block.signature }]
    case "tool_use":
      return [{ type: "tool_use", id: block.id, name: block.name, input: toolInput(block.input) }]
    case "tool_result":
      return [{
        type: "tool_result",
        tool_use_id: block.toolUseId,
        content: block.content,
        ...(block.isError === true ? { is_error: true } : {}),
        ...cacheMark(block.cache)
      }]
  }
}

/**
 * The API requires a tool_use input to be a JSON object. A call whose arguments were not valid
 * JSON is stored with its raw text as input; it is sent back wrapped, so the model still sees
 * what it wrote (its tool result carries the parse error).
 */
const toolInput = (input: unknown): unknown =>
  input !== null && typeof input === "object" && !Array.isArray(input) ? input : { invalid_input: input }
