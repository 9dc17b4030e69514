/**
 * `@effect/ai` stream parts as mnesis events, and `AiError`s as mnesis's tagged errors.
 *
 * Usage: `@effect/ai` documents `inputTokens` as every token sent, cache reads among them
 * (`cachedInputTokens`), and has no field for cache writes. `@effect/ai-anthropic` reports
 * Anthropic's own split instead and puts the raw usage (cache writes included) in the finish
 * part's metadata; when that raw usage is there it is used as is, so both kinds of provider give
 * mnesis's split: `input` without cached tokens, `cacheRead`, `cacheWrite`.
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import type * as Response from "@effect/ai/Response"
import { Clock, Effect, Option, Schema } from "effect"
import type { FinishReason } from "../../Domain.js"
import { TokenUsage } from "../../Domain.js"
import type { LlmError } from "../../Errors.js"
import { LlmConnectionError, LlmInvalidRequest } from "../../Errors.js"
import type { LlmEvent } from "../../LlmProvider.js"
import { describeThrown, errorForStatus, retryAfterMs, truncate } from "../Failures.js"
import type { BridgedTool } from "./Request.js"

const count = (value: number | null | undefined): number =>
  value === null || value === undefined || !Number.isFinite(value) ? 0 : Math.max(0, Math.round(value))

/** The raw Anthropic usage `@effect/ai-anthropic` attaches to its finish part. */
const AnthropicUsage = Schema.Struct({
  anthropic: Schema.Struct({
    usage: Schema.Struct({
      input_tokens: Schema.Number,
      cache_read_input_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
      cache_creation_input_tokens: Schema.optional(Schema.NullOr(Schema.Number))
    })
  })
})
const anthropicUsage = Schema.decodeUnknownOption(AnthropicUsage)

/** mnesis's usage of a finish part (see the module comment). */
export const usageOf = (part: Response.FinishPart): TokenUsage => {
  const output = count(part.usage.outputTokens)
  return Option.match(anthropicUsage(part.metadata), {
    onSome: ({ anthropic: { usage } }) =>
      TokenUsage.of({
        input: count(usage.input_tokens),
        output,
        cacheRead: count(usage.cache_read_input_tokens),
        cacheWrite: count(usage.cache_creation_input_tokens)
      }),
    onNone: () => {
      const sent = count(part.usage.inputTokens)
      const cached = Math.min(sent, count(part.usage.cachedInputTokens))
      return TokenUsage.of({ input: sent - cached, output, cacheRead: cached })
    }
  })
}

const finishReasons: Record<Response.FinishReason, FinishReason> = {
  "stop": "stop",
  "length": "max_tokens",
  "content-filter": "content_filter",
  "tool-calls": "tool_calls",
  "error": "error",
  "pause": "other",
  "other": "other",
  "unknown": "other"
}

/** The Anthropic reasoning signature `@effect/ai-anthropic` attaches to reasoning parts. */
const Signed = Schema.Struct({ anthropic: Schema.Struct({ signature: Schema.String }) })
const signatureOf = (metadata: unknown): string | undefined =>
  Option.getOrUndefined(
    Option.map(Schema.decodeUnknownOption(Signed)(metadata), (m) => m.anthropic.signature)
  )

/**
 * The events of one stream part. A finish gives the usage, then the finish; a finish for an error
 * and an error part fail the stream (mnesis never stores an error as an answer).
 */
export const eventsOf = (
  provider: string,
  part: Response.StreamPart<Record<string, BridgedTool>>
): Effect.Effect<ReadonlyArray<LlmEvent>, LlmError> => {
  switch (part.type) {
    case "text-delta":
      return Effect.succeed(part.delta === "" ? [] : [{ type: "text_delta", text: part.delta }])
    case "reasoning-delta":
    case "reasoning-end": {
      const text = part.type === "reasoning-delta" ? part.delta : ""
      const signature = signatureOf(part.metadata)
      if (text === "" && signature === undefined) return Effect.succeed([])
      return Effect.succeed([{
        type: "reasoning_delta",
        text,
        ...(signature === undefined ? {} : { signature })
      }])
    }
    case "tool-call":
      // Tools the provider ran itself (web search…) are not mnesis's to run.
      return Effect.succeed(
        part.providerExecuted ? [] : [{ type: "tool_call", id: part.id, name: part.name, input: part.params }]
      )
    case "finish":
      return part.reason === "error"
        ? Effect.fail(new LlmConnectionError({ provider, detail: "the model stopped with an error" }))
        : Effect.succeed([
          { type: "usage", usage: usageOf(part) },
          { type: "finish", reason: finishReasons[part.reason] }
        ])
    case "error":
      return Effect.fail(new LlmConnectionError({ provider, detail: truncate(describeThrown(part.error)) }))
    default:
      return Effect.succeed([])
  }
}

/**
 * The tagged error of an `AiError`: a transport failure is a connection error, an HTTP status
 * goes through the status table (with the server's wait hint), and input or output that one side
 * could not encode or decode is an invalid request.
 */
export const errorOf = (provider: string, error: AiError.AiError): Effect.Effect<LlmError> => {
  const detail = error.description ?? error.message
  switch (error._tag) {
    case "HttpRequestError":
      return Effect.succeed(
        error.reason === "Transport"
          ? new LlmConnectionError({ provider, detail: truncate(detail) })
          : new LlmInvalidRequest({ provider, detail: truncate(detail) })
      )
    case "HttpResponseError": {
      if (error.reason === "EmptyBody") return Effect.succeed(new LlmConnectionError({ provider, detail }))
      if (error.reason === "Decode") {
        return Effect.succeed(
          new LlmInvalidRequest({ provider, detail: truncate(detail), status: error.response.status })
        )
      }
      const said = error.body === undefined || error.body === "" ? detail : `${detail}: ${error.body}`
      return Effect.map(
        Clock.currentTimeMillis,
        (now) =>
          errorForStatus(provider, error.response.status, said, retryAfterMs(error.response.headers, now))
      )
    }
    case "MalformedInput":
    case "MalformedOutput":
    case "UnknownError":
      return Effect.succeed(new LlmInvalidRequest({ provider, detail: truncate(`${error._tag}: ${detail}`) }))
  }
}
