/**
 * The provider-neutral model interface: a request made of system blocks, messages whose content
 * is text / reasoning / tool-use / tool-result blocks, and tool definitions; a response that is a
 * `Stream` of events (text and reasoning deltas, complete tool calls, usage, finish).
 *
 * Providers (`llm/anthropic/`, `llm/openai/` — one folder each, of the same shape — and
 * `llm/MockLlm.ts`) implement {@link Service}; the router picks one by the model's `provider/`
 * prefix. What they share (error mapping, the response fold) lives in `llm/shared/`.
 *
 * @since 0.1.0
 */
import type { Stream } from "effect"
import { Context, Effect } from "effect"
import type { FinishReason, TokenUsage } from "./Domain.js"
import type { ConfigError, LlmError } from "./Errors.js"
import * as ResponseFold from "./llm/shared/ResponseFold.js"

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

/** A block of the system prompt. `cache` asks providers with prompt caching to cache up to here. */
export interface SystemBlock {
  readonly text: string
  readonly cache?: boolean | undefined
}

export interface TextBlock {
  readonly type: "text"
  readonly text: string
  readonly cache?: boolean | undefined
}

export interface ReasoningBlock {
  readonly type: "reasoning"
  readonly text: string
  readonly signature?: string | undefined
}

export interface ToolUseBlock {
  readonly type: "tool_use"
  readonly id: string
  readonly name: string
  readonly input: unknown
}

export interface ToolResultBlock {
  readonly type: "tool_result"
  readonly toolUseId: string
  readonly content: string
  readonly isError?: boolean | undefined
  readonly cache?: boolean | undefined
}

export type ContentBlock = TextBlock | ReasoningBlock | ToolUseBlock | ToolResultBlock

/**
 * One message of the conversation sent to a model. Tool uses appear in assistant messages, tool
 * results in the user message that follows.
 */
export interface LlmMessage {
  readonly role: "user" | "assistant"
  readonly content: ReadonlyArray<ContentBlock>
}

/** A tool the model may call; `inputSchema` is a JSON Schema object. */
export interface ToolDefinition {
  readonly name: string
  readonly description: string
  readonly inputSchema: Readonly<Record<string, unknown>>
}

/**
 * A reply that is one JSON object matching `schema` (structured output). `schema` is a JSON Schema
 * whose root is an object; `name` names the result (letters, digits, `_` and `-`).
 */
export interface OutputFormat {
  readonly name: string
  readonly schema: Readonly<Record<string, unknown>>
}

export interface LlmRequest {
  /** The full model string, `provider/model` (e.g. `anthropic/claude-sonnet-4-5`). */
  readonly model: string
  readonly system: ReadonlyArray<SystemBlock>
  readonly messages: ReadonlyArray<LlmMessage>
  readonly tools?: ReadonlyArray<ToolDefinition> | undefined
  readonly maxTokens: number
  readonly temperature?: number | undefined
  readonly stop?: ReadonlyArray<string> | undefined
  /**
   * Ask for structured output. Providers that can enforce it do: Anthropic by a forced call of a
   * tool named `output.name` (the reply is that call's input), OpenAI-compatible servers by
   * `response_format: json_schema` (the reply is the text). Others answer in text; the caller
   * parses and validates the reply either way.
   */
  readonly output?: OutputFormat | undefined
}

// ---------------------------------------------------------------------------------------------
// Response events
// ---------------------------------------------------------------------------------------------

export interface TextDelta {
  readonly type: "text_delta"
  readonly text: string
}

export interface ReasoningDelta {
  readonly type: "reasoning_delta"
  readonly text: string
  /** Set on the event that completes a reasoning block, when the provider signs reasoning. */
  readonly signature?: string | undefined
}

/**
 * A complete tool call. When the model produced arguments that are not valid JSON, `input` holds
 * the raw text and `inputError` says why; the tool loop reports that to the model as a tool error.
 */
export interface ToolCall {
  readonly type: "tool_call"
  readonly id: string
  readonly name: string
  readonly input: unknown
  readonly inputError?: string | undefined
}

/** Usage of the whole call; emitted once, before `finish`, when the provider reports it. */
export interface UsageEvent {
  readonly type: "usage"
  readonly usage: TokenUsage
}

export interface Finish {
  readonly type: "finish"
  readonly reason: FinishReason
  /** The model that answered, as the provider names it (when it says; telemetry reports it). */
  readonly model?: string | undefined
}

export type LlmEvent = TextDelta | ReasoningDelta | ToolCall | UsageEvent | Finish

/** Failures of a provider call: a typed provider error, or configuration (unknown prefix, missing key). */
export type LlmFailure = LlmError | ConfigError

/** A whole response, collected from the stream. */
export interface LlmResponse {
  readonly text: string
  readonly reasoning: string
  /** The signature of the reasoning, when the provider signs it. */
  readonly signature?: string | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly usage: TokenUsage
  readonly finishReason: FinishReason
}

// ---------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export interface Service {
  /**
   * Streams one model call. The stream ends after a `finish` event; a stream that stops before
   * it fails (a cut stream is an error, never a short answer).
   */
  readonly stream: (request: LlmRequest) => Stream.Stream<LlmEvent, LlmFailure>
}

/**
 * @since 0.1.0
 */
export class LlmProvider extends Context.Tag("mnesis/LlmProvider")<LlmProvider, Service>() {}

/** Folds a stream of events into a response; fails if the stream never finished. */
export const collect = (
  provider: string,
  events: Stream.Stream<LlmEvent, LlmFailure>
): Effect.Effect<LlmResponse, LlmFailure> => ResponseFold.collect(provider, events)

/** Calls the provider in context and collects the whole response. */
export const complete = (request: LlmRequest): Effect.Effect<LlmResponse, LlmFailure, LlmProvider> =>
  Effect.flatMap(LlmProvider, (provider) => collect(providerOf(request.model), provider.stream(request)))

/** The `provider` part of `provider/model` (empty when the string has no prefix). */
export const providerOf = (model: string): string => {
  const slash = model.indexOf("/")
  return slash === -1 ? "" : model.slice(0, slash)
}

/** The `model` part of `provider/model`. */
export const modelNameOf = (model: string): string => {
  const slash = model.indexOf("/")
  return slash === -1 ? model : model.slice(slash + 1)
}
