/**
 * Conversations in the AI SDK's provider spec (`LanguageModelV4Prompt`) and in mnesis's terms, both
 * ways: mnesis's system blocks and messages as the prompt a model is sent (for the provider and for
 * the middleware's assembled context), and the new part of a caller's prompt as what mnesis records.
 *
 * Prompt caching and signed reasoning have no provider-neutral form in the spec: cache marks and
 * signatures are written the way `@ai-sdk/anthropic` reads them (`providerOptions.anthropic`);
 * other providers ignore options they do not know.
 *
 * @since 0.1.0
 */
import type {
  LanguageModelV4Message,
  LanguageModelV4Prompt,
  LanguageModelV4ToolResultOutput,
  SharedV4ProviderOptions
} from "@ai-sdk/provider"
import type { PartInput } from "../../Domain.js"
import type { ContentBlock, LlmMessage, SystemBlock } from "../../LlmProvider.js"
import type { RecordInput } from "../../Session.js"

const CACHE: SharedV4ProviderOptions = { anthropic: { cacheControl: { type: "ephemeral" } } }

const cacheOptions = (cache: boolean | undefined): { providerOptions?: SharedV4ProviderOptions } =>
  cache === true ? { providerOptions: CACHE } : {}

const toolNames = (messages: ReadonlyArray<LlmMessage>): ReadonlyMap<string, string> => {
  const names = new Map<string, string>()
  for (const message of messages) {
    for (const block of message.content) if (block.type === "tool_use") names.set(block.id, block.name)
  }
  return names
}

type UserPart = Extract<LanguageModelV4Message, { role: "user" }>["content"][number]
type ToolPart = Extract<LanguageModelV4Message, { role: "tool" }>["content"][number]
type AssistantPart = Extract<LanguageModelV4Message, { role: "assistant" }>["content"][number]

const userMessages = (
  message: LlmMessage,
  names: ReadonlyMap<string, string>
): Array<LanguageModelV4Message> => {
  const results: Array<ToolPart> = []
  const parts: Array<UserPart> = []
  for (const block of message.content) {
    if (block.type === "tool_result") {
      results.push({
        type: "tool-result",
        toolCallId: block.toolUseId,
        toolName: names.get(block.toolUseId) ?? "unknown",
        output: block.isError === true
          ? { type: "error-text", value: block.content }
          : { type: "text", value: block.content },
        ...cacheOptions(block.cache)
      })
    } else if (block.type === "text") {
      parts.push({ type: "text", text: block.text, ...cacheOptions(block.cache) })
    }
  }
  // Results answer the previous assistant turn, so they come before the user's own words.
  return [
    ...(results.length === 0 ? [] : [{ role: "tool" as const, content: results }]),
    ...(parts.length === 0 ? [] : [{ role: "user" as const, content: parts }])
  ]
}

const assistantPart = (block: ContentBlock): Array<AssistantPart> => {
  switch (block.type) {
    case "text":
      return [{ type: "text", text: block.text, ...cacheOptions(block.cache) }]
    case "reasoning":
      return [{
        type: "reasoning",
        text: block.text,
        ...(block.signature === undefined
          ? {}
          : { providerOptions: { anthropic: { signature: block.signature } } })
      }]
    case "tool_use":
      return [{ type: "tool-call", toolCallId: block.id, toolName: block.name, input: block.input }]
    case "tool_result":
      return []
  }
}

/** System blocks and messages as a prompt of the AI SDK's provider spec. */
export const toPrompt = (
  system: ReadonlyArray<SystemBlock>,
  messages: ReadonlyArray<LlmMessage>
): LanguageModelV4Prompt => {
  const names = toolNames(messages)
  return [
    ...system.map((block): LanguageModelV4Message => ({
      role: "system",
      content: block.text,
      ...cacheOptions(block.cache)
    })),
    ...messages.flatMap((message): Array<LanguageModelV4Message> =>
      message.role === "user"
        ? userMessages(message, names)
        : [{ role: "assistant", content: message.content.flatMap(assistantPart) }]
    )
  ]
}

// ---------------------------------------------------------------------------------------------
// The caller's prompt → what mnesis records
// ---------------------------------------------------------------------------------------------

/** What the middleware takes from a caller's prompt. */
export interface NewTurn {
  /** The caller's system prompt (its system messages, joined), if it sent one. */
  readonly system: string | undefined
  /** What follows the caller's last assistant message, in order, as `record` inputs. */
  readonly records: ReadonlyArray<RecordInput>
  /** The caller's newest user message when it carries files (mnesis records only a note of them). */
  readonly withFiles: LanguageModelV4Message | undefined
}

const outputText = (output: LanguageModelV4ToolResultOutput): { output: string } | { error: string } => {
  switch (output.type) {
    case "text":
      return { output: output.value }
    case "json":
      return { output: JSON.stringify(output.value) }
    case "error-text":
      return { error: output.value }
    case "error-json":
      return { error: JSON.stringify(output.value) }
    case "execution-denied":
      return { error: `the tool was not run: ${output.reason ?? "execution was denied"}` }
    case "content":
      return {
        output: output.value.map((item) => item.type === "text" ? item.text : `[${item.type}]`).join("\n")
      }
  }
}

const userParts = (content: ReadonlyArray<UserPart>): Array<PartInput> =>
  content.map((part): PartInput =>
    part.type === "text"
      ? { type: "text", text: part.text }
      // mnesis stores text; a file is kept as a note of what was sent.
      : {
        type: "text",
        text: `[file ${part.mediaType}${part.filename === undefined ? "" : ` ${part.filename}`}]`
      }
  )

/**
 * The new part of a caller's prompt: everything after its last assistant message — the user's
 * newest message, or the results of the tools the model called last. What comes before is taken
 * to be in the session already (it is, when every exchange went through the middleware).
 */
export const newTurn = (prompt: LanguageModelV4Prompt): NewTurn => {
  const systems = prompt.flatMap((message) => (message.role === "system" ? [message.content] : []))
  let lastAssistant = -1
  prompt.forEach((message, index) => {
    if (message.role === "assistant") lastAssistant = index
  })
  const records: Array<RecordInput> = []
  let withFiles: LanguageModelV4Message | undefined
  for (const message of prompt.slice(lastAssistant + 1)) {
    if (message.role === "user") {
      const parts = userParts(message.content)
      if (parts.length > 0) records.push({ user: parts })
      withFiles = message.content.some((part) => part.type === "file") ? message : undefined
    } else if (message.role === "tool") {
      withFiles = undefined
      const toolResults = message.content.flatMap((part) =>
        part.type === "tool-result" ? [{ toolCallId: part.toolCallId, ...outputText(part.output) }] : []
      )
      if (toolResults.length > 0) records.push({ toolResults })
    }
  }
  return { system: systems.length === 0 ? undefined : systems.join("\n\n"), records, withFiles }
}

/**
 * The assembled prompt with the caller's newest user message put back as it was sent when it
 * carries files, so the files reach the model on this call (later calls are sent mnesis's note).
 */
export const keepFiles = (prompt: LanguageModelV4Prompt, turn: NewTurn): LanguageModelV4Prompt =>
  turn.withFiles !== undefined && prompt.at(-1)?.role === "user"
    ? [...prompt.slice(0, -1), turn.withFiles]
    : prompt
