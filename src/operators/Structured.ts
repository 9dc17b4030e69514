/**
 * Structured replies: the JSON Schema a model is asked to follow (from the caller's Effect
 * `Schema`), the reply read back from whichever form the provider gave it (a forced tool call's
 * input, or JSON in text, fenced or not), and its decoding — whose exact error is what a retry
 * feeds back to the model.
 *
 * @internal
 */
import { Either, JSONSchema, ParseResult, Schema } from "effect"
import type { LlmResponse, OutputFormat } from "../LlmProvider.js"

/** The name of the structured result (the forced tool's name at Anthropic). */
export const OUTPUT_NAME = "result"

export interface Structured<A> {
  readonly format: OutputFormat
  /** The schema as the model reads it (pretty JSON, for the instructions). */
  readonly schemaText: string
  /** True when a non-object schema is wrapped as `{ "value": … }` (providers want an object root). */
  readonly wrapped: boolean
  readonly decode: (value: unknown) => Either.Either<A, string>
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  u !== null && typeof u === "object" && !Array.isArray(u)

/** The JSON Schema of `schema`, with an object root. */
export const make = <A, I>(schema: Schema.Schema<A, I, never>): Structured<A> => {
  const { $defs, $schema: _, ...root } = JSONSchema.make(schema)
  const wrapped = !("type" in root && root.type === "object")
  const body: Record<string, unknown> = wrapped
    ? { type: "object", properties: { value: root }, required: ["value"], additionalProperties: false }
    : { ...root }
  if ($defs !== undefined) body.$defs = $defs
  const decodeA = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })
  return {
    format: { name: OUTPUT_NAME, schema: body },
    schemaText: JSON.stringify(body, null, 2),
    wrapped,
    decode: (value) => {
      if (wrapped) {
        if (!isRecord(value) || !("value" in value)) {
          return Either.left("expected an object with the result under \"value\"")
        }
        value = value.value
      }
      return Either.mapLeft(decodeA(value), (error) => ParseResult.TreeFormatter.formatErrorSync(error))
    }
  }
}

/** A reply as the model wrote it: the text to show it again, and its JSON value if it parsed. */
export interface Reply {
  readonly text: string
  readonly value: Either.Either<unknown, string>
}

const FENCE = /```(?:json|JSON)?\s*\n?([\s\S]*?)```/

/** The JSON value a text holds: the whole text, or its first fenced block. */
export const parseJson = (text: string): Either.Either<unknown, string> => {
  const fenced = FENCE.exec(text)
  const body = (fenced === null ? text : fenced[1]!).trim()
  if (body === "") return Either.left("the reply is empty; it must be a JSON object")
  try {
    const parsed: unknown = JSON.parse(body)
    return Either.right(parsed)
  } catch (error) {
    return Either.left(
      `the reply is not valid JSON (${error instanceof Error ? error.message : String(error)})`
    )
  }
}

/** The reply of a structured call: the forced tool call's input when there is one, else the text. */
export const replyOf = (response: LlmResponse, format: OutputFormat): Reply => {
  const call = response.toolCalls.find((c) => c.name === format.name)
  if (call !== undefined) {
    const text = typeof call.input === "string" ? call.input : JSON.stringify(call.input)
    return call.inputError === undefined
      ? { text, value: Either.right(call.input) }
      : { text, value: Either.left(`the reply is not valid JSON (${call.inputError})`) }
  }
  return { text: response.text, value: parseJson(response.text) }
}

/** The instructions that go with every structured call (the same for every item: cacheable). */
export const instructions = (structured: Structured<unknown>): string =>
  "Reply with one JSON object and nothing else (no prose, no code fences). It must match this JSON " +
  `Schema:\n${structured.schemaText}`

/** What the model reads after a reply that could not be used: the exact error, then the ask. */
export const feedback = (error: string): string =>
  `Your previous reply could not be used:\n${error}\n\nReply again with only the corrected JSON object.`
