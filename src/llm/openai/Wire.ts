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
  /** Gemini: the thought signature the call came with, sent back as it was received. */
  readonly extra_content?: { readonly google: { readonly thought_signature: string } }
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
  readonly stream_options?: { readonly include_usage: true }
  readonly tools?: ReadonlyArray<WireTool>
  readonly max_tokens?: number
  readonly max_completion_tokens?: number
  readonly temperature?: number
  readonly stop?: ReadonlyArray<string>
  readonly reasoning_effort?: string
  readonly response_format?: {
    readonly type: "json_schema"
    readonly json_schema: {
      readonly name: string
      readonly schema: Readonly<Record<string, unknown>>
      readonly strict: boolean
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Stream chunks
// ---------------------------------------------------------------------------------------------

/** Providers send `null` and omit fields interchangeably; both read as "absent". */
const maybe = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

/** Error `code`s are strings at OpenAI and HTTP statuses (numbers) at OpenRouter. */
const ErrorCode = Schema.Union(Schema.String, Schema.Number)

/** Google's `RetryInfo` (and other details, which are ignored) in an error's `details`. */
const ErrorDetail = Schema.Struct({
  "@type": maybe(Schema.String),
  retryDelay: maybe(Schema.String)
})

/**
 * `{ error: { message, type, code } }`: the body of an HTTP error and of an in-stream error.
 * Google adds `status` (`RESOURCE_EXHAUSTED`) and `details`.
 */
export const ErrorObject = Schema.Struct({
  message: maybe(Schema.String),
  type: maybe(Schema.String),
  code: maybe(ErrorCode),
  status: maybe(Schema.String),
  details: maybe(Schema.Array(ErrorDetail))
})
export type ErrorObject = typeof ErrorObject.Type

const ToolCallFragment = Schema.Struct({
  /** Missing at a few providers (Gemini) that only ever send whole calls. */
  index: maybe(Schema.Number),
  /** Missing or empty at Gemini and some local servers. */
  id: maybe(Schema.String),
  function: maybe(Schema.Struct({ name: maybe(Schema.String), arguments: maybe(Schema.String) })),
  /** Gemini's thought signature. */
  extra_content: maybe(Schema.Struct({
    google: maybe(Schema.Struct({ thought_signature: maybe(Schema.String) }))
  }))
})
export type ToolCallFragment = typeof ToolCallFragment.Type

/** One piece of a content array (Mistral's reasoning models stream `thinking` pieces this way). */
const ContentPart = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("thinking"),
    thinking: Schema.Union(Schema.String, Schema.Array(Schema.Struct({ text: maybe(Schema.String) })))
  }),
  Schema.Struct({ type: Schema.String })
)
export type ContentPart = typeof ContentPart.Type

const Delta = Schema.Struct({
  /** Text; an array of pieces at Mistral's reasoning models. */
  content: maybe(Schema.Union(Schema.String, Schema.Array(ContentPart))),
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
  /** The model that answers (telemetry reports it). */
  model: maybe(Schema.String),
  choices: maybe(Schema.Array(Choice)),
  usage: maybe(Usage),
  /** Groq reports streamed usage here, in the last chunk. */
  x_groq: maybe(Schema.Struct({ usage: maybe(Usage) })),
  /** OpenRouter reports upstream failures inside an already started stream. */
  error: maybe(ErrorObject)
})
export type StreamChunk = typeof StreamChunk.Type

/** Decodes a `data:` payload (JSON text) into a chunk. */
export const decodeStreamChunk = Schema.decodeUnknownEither(Schema.parseJson(StreamChunk))

// ---------------------------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------------------------

/** Mistral's validation failures: `{ message: { detail: [{ loc, msg }] } }`. */
const ValidationDetail = Schema.Struct({
  detail: Schema.Array(Schema.Struct({
    loc: maybe(Schema.Array(Schema.Union(Schema.String, Schema.Number))),
    msg: maybe(Schema.String)
  }))
})

/**
 * OpenAI's shape; Google's, wrapped in a one-element array; the bare `{ error: "text" }` and
 * `{ message }` some servers send; and Mistral's `{ message: { detail } }`.
 */
export const ErrorBody = Schema.Union(
  Schema.Struct({ error: ErrorObject }),
  Schema.Struct({ error: Schema.String }),
  Schema.Tuple(Schema.Struct({ error: ErrorObject })),
  Schema.Struct({ message: Schema.String }),
  Schema.Struct({ message: ValidationDetail })
)
export type ErrorBody = typeof ErrorBody.Type

export const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(ErrorBody))
