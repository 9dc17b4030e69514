/**
 * A language-model middleware that gives an AI SDK program mnesis's memory, through the
 * bring-your-own-LLM path (`record` + `contextForNextTurn`):
 *
 * 1. before each call, the new part of the caller's prompt — the user's newest message, or the
 *    results of the tools the model called last — is recorded in the session;
 * 2. the call is sent the session's assembled context (system prompt, summaries, recent messages,
 *    within the budget) instead of the caller's full history; the caller's tools and settings
 *    are kept;
 * 3. the model's answer is recorded when its stream finishes (before the caller sees the finish),
 *    its tool calls as pending until their results arrive with the next call.
 *
 * Compaction runs in the session as with `send`. The caller's history before the newest turn is
 * taken to be in the session already, which it is when every exchange goes through the middleware.
 *
 * @since 0.1.0
 */
import type {
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4Middleware,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage
} from "@ai-sdk/provider"
import { wrapLanguageModel } from "ai"
import type { BuiltContext } from "../../ContextBuilder.js"
import type { FinishReason, PartInput } from "../../Domain.js"
import type { RecordInput, RecordResult } from "../../Session.js"
import { keepFiles, newTurn, toPrompt } from "./Prompt.js"
import type { AnyLanguageModel } from "./Provider.js"
import { finishReasonOf, signatureOf, toolCallOf, usageOf } from "./Response.js"

/**
 * What the middleware needs of a session: a `PromiseSession` (`mnesis/promise`) is one.
 *
 * @since 0.1.0
 */
export interface MemorySession {
  readonly contextForNextTurn: (options?: { readonly systemPrompt?: string }) => PromiseLike<BuiltContext>
  readonly record: (input: RecordInput) => PromiseLike<RecordResult>
}

/** @since 0.1.0 */
export interface MiddlewareOptions {
  /** The session that keeps the conversation. */
  readonly session: MemorySession
}

// ---------------------------------------------------------------------------------------------
// The answer, gathered for `record`
// ---------------------------------------------------------------------------------------------

type Entry =
  | { readonly kind: "text"; text: string }
  | { readonly kind: "reasoning"; text: string; signature: string | undefined }
  | {
    readonly kind: "tool"
    readonly toolCallId: string
    readonly toolName: string
    readonly input: unknown
    result: { readonly output: string } | { readonly error: string } | undefined
  }

const resultText = (
  value: unknown
): string => (typeof value === "string" ? value : JSON.stringify(value) ?? "")

/** Gathers an answer's parts in the order they arrive, then says what to record. */
const makeAnswer = () => {
  const entries: Array<Entry> = []
  const open = new Map<string, Entry & { readonly kind: "text" | "reasoning" }>()
  let usage: LanguageModelV4Usage | undefined
  let reason: FinishReason | undefined

  const block = (kind: "text" | "reasoning", id: string) => {
    let entry = open.get(`${kind}:${id}`)
    if (entry === undefined) {
      entry = kind === "text" ? { kind, text: "" } : { kind, text: "", signature: undefined }
      open.set(`${kind}:${id}`, entry)
      entries.push(entry)
    }
    return entry
  }
  const sign = (id: string, metadata: unknown) => {
    const signature = signatureOf(metadata)
    const entry = block("reasoning", id)
    if (signature !== undefined && entry.kind === "reasoning") entry.signature = signature
  }
  const toolCall = (toolCallId: string, toolName: string, json: string) => {
    const call = toolCallOf(toolCallId, toolName, json)
    entries.push({ kind: "tool", toolCallId, toolName, input: call.input, result: undefined })
  }
  const toolResult = (toolCallId: string, result: unknown, isError: boolean | undefined) => {
    const entry = entries.find((e) => e.kind === "tool" && e.toolCallId === toolCallId)
    if (entry?.kind === "tool") {
      entry.result = isError === true ? { error: resultText(result) } : { output: resultText(result) }
    }
  }
  const finish = (finalUsage: LanguageModelV4Usage, finishReason: LanguageModelV4FinishReason) => {
    usage = finalUsage
    reason = finishReasonOf(finishReason)
  }

  return {
    stream: (part: LanguageModelV4StreamPart): void => {
      switch (part.type) {
        case "text-delta":
          block("text", part.id).text += part.delta
          break
        case "reasoning-delta":
          block("reasoning", part.id).text += part.delta
          sign(part.id, part.providerMetadata)
          break
        case "reasoning-end":
          sign(part.id, part.providerMetadata)
          break
        case "tool-call":
          toolCall(part.toolCallId, part.toolName, part.input)
          break
        case "tool-result":
          toolResult(part.toolCallId, part.result, part.isError)
          break
        case "finish":
          finish(part.usage, part.finishReason)
          break
      }
    },
    content: (
      content: ReadonlyArray<LanguageModelV4Content>,
      finalUsage: LanguageModelV4Usage,
      finishReason: LanguageModelV4FinishReason
    ): void => {
      content.forEach((part, index) => {
        switch (part.type) {
          case "text":
            block("text", String(index)).text += part.text
            break
          case "reasoning":
            block("reasoning", String(index)).text += part.text
            sign(String(index), part.providerMetadata)
            break
          case "tool-call":
            toolCall(part.toolCallId, part.toolName, part.input)
            break
          case "tool-result":
            toolResult(part.toolCallId, part.result, part.isError)
            break
        }
      })
      finish(finalUsage, finishReason)
    },
    /** The `record` input of the answer; undefined when the call failed or said nothing. */
    toRecord: (): RecordInput | undefined => {
      if (reason === undefined) return undefined
      const parts = entries.flatMap((entry): Array<PartInput> => {
        switch (entry.kind) {
          case "text":
            return entry.text === "" ? [] : [{ type: "text", text: entry.text }]
          case "reasoning":
            return entry.text === "" && entry.signature === undefined ? [] : [
              entry.signature === undefined
                ? { type: "reasoning", text: entry.text }
                : { type: "reasoning", text: entry.text, signature: entry.signature }
            ]
          case "tool":
            return [{
              type: "tool",
              toolName: entry.toolName,
              toolCallId: entry.toolCallId,
              input: entry.input,
              ...(entry.result ?? {}),
              status: entry.result === undefined ? "pending" : "error" in entry.result ? "error" : "completed"
            }]
        }
      })
      if (parts.length === 0) return undefined
      const tokens = usage === undefined ? undefined : usageOf(usage)
      return { assistant: parts, finishReason: reason, ...(tokens === undefined ? {} : { tokens }) }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The middleware
// ---------------------------------------------------------------------------------------------

/**
 * The middleware: `wrapLanguageModel({ model, middleware: mnesisMiddleware({ session }) })`.
 *
 * @since 0.1.0
 */
export const mnesisMiddleware = ({ session }: MiddlewareOptions): LanguageModelV4Middleware => ({
  specificationVersion: "v4",
  transformParams: async ({ params }) => {
    const turn = newTurn(params.prompt)
    for (const input of turn.records) await session.record(input)
    const context = await session.contextForNextTurn(
      turn.system === undefined ? {} : { systemPrompt: turn.system }
    )
    return { ...params, prompt: keepFiles(toPrompt(context.system, context.messages), turn) }
  },
  wrapGenerate: async ({ doGenerate }) => {
    const result = await doGenerate()
    const answer = makeAnswer()
    answer.content(result.content, result.usage, result.finishReason)
    const input = answer.toRecord()
    if (input !== undefined) await session.record(input)
    return result
  },
  wrapStream: async ({ doStream }) => {
    const result = await doStream()
    const answer = makeAnswer()
    const recorded = new TransformStream<LanguageModelV4StreamPart, LanguageModelV4StreamPart>({
      transform: async (part, controller) => {
        answer.stream(part)
        if (part.type === "finish") {
          // Recorded before the caller sees the finish, so its next call finds the answer stored.
          const input = answer.toRecord()
          if (input !== undefined) {
            try {
              await session.record(input)
            } catch (error) {
              controller.enqueue({ type: "error", error })
            }
          }
        }
        controller.enqueue(part)
      }
    })
    return { ...result, stream: result.stream.pipeThrough(recorded) }
  }
})

/**
 * `model` with mnesis's memory: `streamText({ model: withMnesis(model, { session }), messages })`.
 *
 * @since 0.1.0
 */
export const withMnesis = (model: AnyLanguageModel, options: MiddlewareOptions) =>
  wrapLanguageModel({ model, middleware: mnesisMiddleware(options) })
