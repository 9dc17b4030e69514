/**
 * The Chat Completions wire format: the request body we send (plain types, we build it) and the
 * Schemas of what comes back (stream chunks and error bodies, decoded because we do not trust them).
 * Only the fields mnesis uses are declared; everything else a provider adds is ignored.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

export interface WireToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

export type WireMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string }
  | {
    readonly role: "assistant"
    readonly content: string | null
    readonly tool_calls?: ReadonlyArray<WireToolCall>
  }
  | { readonly role: "tool"; readonly tool_call_id: string; readonly content: string }

export interface WireTool {
  readonly type: "function"
  readonly function: {
    readonly name: string
    readonly description: string
    readonly parameters: Readonly<Record<string, unknown>>
  }
}

export interface ChatCompletionBody {
  readonly model: string
  readonly messages: ReadonlyArray<WireMessage>
  readonly stream: true
  readonly stream_options: { readonly include_usage: true }
  readonly tools?: ReadonlyArray<WireTool>
  readonly max_tokens?: number
  readonly max_completion_tokens?: number
  readonly temperature?: number
  readonly stop?: ReadonlyArray<string>
}

// ---------------------------------------------------------------------------------------------
// Stream chunks
// ---------------------------------------------------------------------------------------------

/** Providers send `null` and omit fields interchangeably; both read as "absent". */
const maybe = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

/** Error `code`s are strings at OpenAI and HTTP statuses (numbers) at OpenRouter. */
const ErrorCode = Schema.Union(Schema.String, Schema.Number)

/** `{ error: { message, type, code } }`: the body of an HTTP error and of an in-stream error. */
export const ErrorObject = Schema.Struct({
  message: maybe(Schema.String),
  type: maybe(Schema.String),
  code: maybe(ErrorCode)
})
export type ErrorObject = typeof ErrorObject.Type

const ToolCallFragment = Schema.Struct({
  /** Missing at a few providers that only ever send whole calls; treated as "next call". */
  index: maybe(Schema.Number),
  id: maybe(Schema.String),
  function: maybe(Schema.Struct({ name: maybe(Schema.String), arguments: maybe(Schema.String) }))
})
export type ToolCallFragment = typeof ToolCallFragment.Type

const Delta = Schema.Struct({
  content: maybe(Schema.String),
  /** DeepSeek, vLLM, llama.cpp. */
  reasoning_content: maybe(Schema.String),
  /** OpenRouter, newer Ollama. */
  reasoning: maybe(Schema.String),
  tool_calls: maybe(Schema.Array(ToolCallFragment))
})

const Choice = Schema.Struct({
  index: maybe(Schema.Number),
  delta: maybe(Delta),
  finish_reason: maybe(Schema.String)
})

const Usage = Schema.Struct({
  prompt_tokens: maybe(Schema.Number),
  completion_tokens: maybe(Schema.Number),
  total_tokens: maybe(Schema.Number),
  prompt_tokens_details: maybe(Schema.Struct({ cached_tokens: maybe(Schema.Number) })),
  /** DeepSeek reports cache hits here instead of in `prompt_tokens_details`. */
  prompt_cache_hit_tokens: maybe(Schema.Number)
})
export type Usage = typeof Usage.Type

/** One `data:` payload of the stream. */
export const StreamChunk = Schema.Struct({
  choices: maybe(Schema.Array(Choice)),
  usage: maybe(Usage),
  /** OpenRouter reports upstream failures inside an already started stream. */
  error: maybe(ErrorObject)
})
export type StreamChunk = typeof StreamChunk.Type

/** Decodes a `data:` payload (JSON text) into a chunk. */
export const decodeStreamChunk = Schema.decodeUnknownEither(Schema.parseJson(StreamChunk))

// ---------------------------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------------------------

/** OpenAI's shape, plus the bare `{ error: "text" }` and `{ message }` some servers send. */
export const ErrorBody = Schema.Union(
  Schema.Struct({ error: ErrorObject }),
  Schema.Struct({ error: Schema.String }),
  Schema.Struct({ message: Schema.String })
)
export type ErrorBody = typeof ErrorBody.Type

export const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(ErrorBody))
