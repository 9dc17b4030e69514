/**
 * A mnesis request in `@effect/ai`'s terms: system blocks and messages become a `Prompt`, tool
 * definitions become `Tool`s whose JSON Schema is mnesis's own, gathered in a toolkit that only
 * describes them (mnesis's tool loop runs the calls, so the toolkit's handler is never called).
 *
 * Prompt caching and signed reasoning have no provider-neutral form in `@effect/ai`: cache marks
 * and signatures are written the way `@effect/ai-anthropic` reads them (`options.anthropic`);
 * other providers ignore options they do not know.
 *
 * @since 0.1.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import { Effect, Schema } from "effect"
import type { LlmMessage, SystemBlock, ToolDefinition } from "../../LlmProvider.js"

/** Where a cache breakpoint goes, as `@effect/ai-anthropic` reads it. */
const CACHE: Prompt.ProviderOptions = { anthropic: { cacheControl: { type: "ephemeral" } } }

const cacheOptions = (cache: boolean | undefined): Prompt.ProviderOptions => cache === true ? CACHE : {}

/** The tool names of the conversation's calls, so each result can name its tool. */
const toolNames = (messages: ReadonlyArray<LlmMessage>): ReadonlyMap<string, string> => {
  const names = new Map<string, string>()
  for (const message of messages) {
    for (const block of message.content) if (block.type === "tool_use") names.set(block.id, block.name)
  }
  return names
}

const userMessages = (message: LlmMessage, names: ReadonlyMap<string, string>): Array<Prompt.Message> => {
  const results: Array<Prompt.ToolResultPart> = []
  const parts: Array<Prompt.UserMessagePart> = []
  for (const block of message.content) {
    if (block.type === "tool_result") {
      results.push(Prompt.toolResultPart({
        id: block.toolUseId,
        name: names.get(block.toolUseId) ?? "unknown",
        isFailure: block.isError === true,
        result: block.content,
        providerExecuted: false,
        options: cacheOptions(block.cache)
      }))
    } else if (block.type === "text") {
      parts.push(Prompt.textPart({ text: block.text, options: cacheOptions(block.cache) }))
    }
  }
  // Results answer the previous assistant turn, so they come before the user's own words.
  return [
    ...(results.length === 0 ? [] : [Prompt.toolMessage({ content: results })]),
    ...(parts.length === 0 ? [] : [Prompt.userMessage({ content: parts })])
  ]
}

const assistantMessage = (message: LlmMessage): Prompt.Message =>
  Prompt.assistantMessage({
    content: message.content.flatMap((block): Array<Prompt.AssistantMessagePart> => {
      switch (block.type) {
        case "text":
          return [Prompt.textPart({ text: block.text, options: cacheOptions(block.cache) })]
        case "reasoning":
          return [Prompt.reasoningPart({
            text: block.text,
            options: block.signature === undefined ? {} : {
              anthropic: { type: "thinking", signature: block.signature }
            }
          })]
        case "tool_use":
          return [
            Prompt.toolCallPart({
              id: block.id,
              name: block.name,
              params: block.input,
              providerExecuted: false
            })
          ]
        case "tool_result":
          return []
      }
    })
  })

/** System blocks and messages as an `@effect/ai` prompt. */
export const toPrompt = (
  system: ReadonlyArray<SystemBlock>,
  messages: ReadonlyArray<LlmMessage>
): Prompt.Prompt => {
  const names = toolNames(messages)
  return Prompt.fromMessages([
    ...system.map((block) =>
      Prompt.systemMessage({ content: block.text, options: cacheOptions(block.cache) })
    ),
    ...messages.flatMap((message) =>
      message.role === "user" ? userMessages(message, names) : [assistantMessage(message)]
    )
  ])
}

/**
 * Any JSON object: the parameters of a bridged tool are passed through as the model wrote them
 * (mnesis's tool loop decodes them with the tool's own schema).
 */
const AnyParameters = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/** A mnesis tool definition as an `@effect/ai` tool that carries the definition's JSON Schema. */
export const toolOf = (definition: ToolDefinition) =>
  Tool.make(definition.name, { description: definition.description }).setParameters(
    AnyParameters.annotations({ jsonSchema: definition.inputSchema })
  )

export type BridgedTool = ReturnType<typeof toolOf>

/**
 * The tools of a request as a toolkit for `disableToolCallResolution` calls: it only describes the
 * tools, and its handler is a defect if anything ever calls it.
 */
export const toolkitOf = (
  definitions: ReadonlyArray<ToolDefinition>
): Toolkit.WithHandler<Record<string, BridgedTool>> => ({
  tools: Object.fromEntries(definitions.map((definition) => [definition.name, toolOf(definition)])),
  handle: (name) =>
    Effect.dieMessage(`mnesis runs its tools itself; @effect/ai was asked to run "${String(name)}"`)
})
