/**
 * What an AI SDK model answers, in mnesis's terms: usage (the spec splits input into non-cached,
 * cache reads and cache writes, exactly mnesis's split), finish reasons, stream parts as mnesis
 * events, and thrown errors as mnesis's tagged errors.
 *
 * @since 0.1.0
 */
import type {
  LanguageModelV4FinishReason,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage
} from "@ai-sdk/provider"
import { APICallError, LoadAPIKeyError } from "@ai-sdk/provider"
import { Either, Option, Schema } from "effect"
import type { FinishReason } from "../../Domain.js"
import { TokenUsage } from "../../Domain.js"
import type { LlmError } from "../../Errors.js"
import { LlmAuthenticationError, LlmConnectionError, LlmInvalidRequest, LlmTimeout } from "../../Errors.js"
import type { LlmEvent, ToolCall } from "../../LlmProvider.js"
import { describeThrown, errorForStatus, retryAfterMs, truncate } from "../Failures.js"

const count = (value: number | undefined): number =>
  value === undefined || !Number.isFinite(value) ? 0 : Math.max(0, Math.round(value))

/**
 * mnesis's usage of a call, or undefined when the provider reported none (then mnesis counts the
 * tokens itself). Input without a non-cached count is the total less the cached parts.
 */
export const usageOf = (usage: LanguageModelV4Usage): TokenUsage | undefined => {
  const { inputTokens, outputTokens } = usage
  if (
    inputTokens.total === undefined && inputTokens.noCache === undefined && outputTokens.total === undefined
  ) {
    return undefined
  }
  const cacheRead = count(inputTokens.cacheRead)
  const cacheWrite = count(inputTokens.cacheWrite)
  const input = inputTokens.noCache !== undefined
    ? count(inputTokens.noCache)
    : Math.max(0, count(inputTokens.total) - cacheRead - cacheWrite)
  return TokenUsage.of({ input, output: count(outputTokens.total), cacheRead, cacheWrite })
}

const finishReasons: Record<LanguageModelV4FinishReason["unified"], FinishReason | undefined> = {
  "stop": "stop",
  "length": "max_tokens",
  "content-filter": "content_filter",
  "tool-calls": "tool_calls",
  "other": "other",
  // Not answers: a call that ended this way failed.
  "error": undefined,
  "interrupted": undefined
}

/** mnesis's finish reason, or undefined when the call did not end with an answer. */
export const finishReasonOf = (reason: LanguageModelV4FinishReason): FinishReason | undefined =>
  finishReasons[reason.unified]

/** The Anthropic reasoning signature `@ai-sdk/anthropic` attaches to reasoning parts. */
const Signed = Schema.Struct({ anthropic: Schema.Struct({ signature: Schema.String }) })
export const signatureOf = (metadata: unknown): string | undefined =>
  Option.getOrUndefined(
    Option.map(Schema.decodeUnknownOption(Signed)(metadata), (m) => m.anthropic.signature)
  )

/** A tool call's JSON input made whole: empty means no arguments, invalid JSON is kept with why. */
export const toolCallOf = (id: string, name: string, json: string): ToolCall => {
  if (json.trim() === "") return { type: "tool_call", id, name, input: {} }
  try {
    return { type: "tool_call", id, name, input: JSON.parse(json) as unknown }
  } catch (error) {
    return {
      type: "tool_call",
      id,
      name,
      input: json,
      inputError: `the arguments are not valid JSON (${describeThrown(error)})`
    }
  }
}

/**
 * The tagged error of anything an AI SDK model threw or streamed as an error: API errors by their
 * HTTP status (with the server's wait hint), a missing key as a credentials error, a timeout as a
 * timeout, a retryable API error without a status as a connection error, and anything else as an
 * invalid request (not retried: a program error does not heal by waiting).
 */
export const errorOf = (provider: string, error: unknown, now: number): LlmError => {
  if (APICallError.isInstance(error)) {
    const detail = error.responseBody === undefined
      ? error.message
      : `${error.message}: ${error.responseBody}`
    if (error.statusCode !== undefined) {
      return errorForStatus(provider, error.statusCode, detail, retryAfterMs(error.responseHeaders, now))
    }
    return error.isRetryable
      ? new LlmConnectionError({ provider, detail: truncate(detail) })
      : new LlmInvalidRequest({ provider, detail: truncate(detail) })
  }
  const detail = truncate(describeThrown(error))
  if (LoadAPIKeyError.isInstance(error)) return new LlmAuthenticationError({ provider, detail })
  if (error instanceof Error && error.name === "TimeoutError") return new LlmTimeout({ provider, detail })
  return new LlmInvalidRequest({ provider, detail })
}

/**
 * The mnesis events of one stream part, or an error for a part that reports one. A finish gives
 * the usage, then the finish; a finish without an answer (`error`, `interrupted`) is a cut stream.
 */
export const eventsOf = (
  provider: string,
  part: LanguageModelV4StreamPart,
  now: number
): Either.Either<ReadonlyArray<LlmEvent>, LlmError> => {
  switch (part.type) {
    case "text-delta":
      return Either.right(part.delta === "" ? [] : [{ type: "text_delta", text: part.delta }])
    case "reasoning-delta":
    case "reasoning-end": {
      const text = part.type === "reasoning-delta" ? part.delta : ""
      const signature = signatureOf(part.providerMetadata)
      if (text === "" && signature === undefined) return Either.right([])
      return Either.right([{
        type: "reasoning_delta",
        text,
        ...(signature === undefined ? {} : { signature })
      }])
    }
    case "tool-call":
      // Tools the provider ran itself (web search…) are not mnesis's to run.
      return Either.right(
        part.providerExecuted === true ? [] : [toolCallOf(part.toolCallId, part.toolName, part.input)]
      )
    case "finish": {
      const reason = finishReasonOf(part.finishReason)
      if (reason === undefined) {
        return Either.left(
          new LlmConnectionError({
            provider,
            detail: `the response ended without an answer (${part.finishReason.unified}${
              part.finishReason.raw === undefined ? "" : `: ${part.finishReason.raw}`
            })`
          })
        )
      }
      const usage = usageOf(part.usage) ?? TokenUsage.zero
      return Either.right([{ type: "usage", usage }, { type: "finish", reason }])
    }
    case "error":
      return Either.left(errorOf(provider, part.error, now))
    default:
      return Either.right([])
  }
}
