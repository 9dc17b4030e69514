/**
 * The subset of the Messages stream mnesis reads, as Schemas decoded at the boundary. Event types
 * added to the API after this code was written are skipped, not failed on.
 *
 * @since 0.1.0
 */
import { Either, Option, ParseResult, Schema } from "effect"

const Count = Schema.NonNegativeInt
const MaybeCount = Schema.optional(Schema.NullOr(Count))

export const WireUsage = Schema.Struct({
  input_tokens: MaybeCount,
  output_tokens: MaybeCount,
  cache_creation_input_tokens: MaybeCount,
  cache_read_input_tokens: MaybeCount
})
export type WireUsage = typeof WireUsage.Type

/** Block or delta types this provider does not represent (redacted thinking, server tools, citations). */
const otherThan = (...known: ReadonlyArray<string>) =>
  Schema.Struct({ type: Schema.String.pipe(Schema.filter((type) => !known.includes(type))) })

const BlockStart = Schema.Union(
  Schema.Struct({ type: Schema.Literal("tool_use"), id: Schema.String, name: Schema.String }),
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.optional(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("thinking"), thinking: Schema.optional(Schema.String) }),
  otherThan("tool_use", "text", "thinking")
)

export const BlockDelta = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text_delta"), text: Schema.String }),
  Schema.Struct({ type: Schema.Literal("input_json_delta"), partial_json: Schema.String }),
  Schema.Struct({ type: Schema.Literal("thinking_delta"), thinking: Schema.String }),
  Schema.Struct({ type: Schema.Literal("signature_delta"), signature: Schema.String }),
  otherThan("text_delta", "input_json_delta", "thinking_delta", "signature_delta")
)

export const WireEvent = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("message_start"),
    message: Schema.Struct({ model: Schema.optional(Schema.String), usage: Schema.optional(WireUsage) })
  }),
  Schema.Struct({ type: Schema.Literal("content_block_start"), index: Count, content_block: BlockStart }),
  Schema.Struct({ type: Schema.Literal("content_block_delta"), index: Count, delta: BlockDelta }),
  Schema.Struct({ type: Schema.Literal("content_block_stop"), index: Count }),
  Schema.Struct({
    type: Schema.Literal("message_delta"),
    delta: Schema.Struct({ stop_reason: Schema.optional(Schema.NullOr(Schema.String)) }),
    usage: Schema.optional(WireUsage)
  }),
  Schema.Struct({ type: Schema.Literal("message_stop") })
)
export type WireEvent = typeof WireEvent.Type

const knownEventTypes: ReadonlySet<string> = new Set([
  "message_start",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "message_delta",
  "message_stop"
])

const decodeWireEvent = Schema.decodeUnknownEither(WireEvent)

/**
 * Decodes one streamed event; `None` for event types added to the API after this code was
 * written, which are skipped rather than failing the call.
 */
export const readEvent = (raw: unknown): Either.Either<Option.Option<WireEvent>, string> => {
  const type = raw !== null && typeof raw === "object" && "type" in raw ? raw.type : undefined
  if (typeof type !== "string" || !knownEventTypes.has(type)) return Either.right(Option.none())
  return Either.match(decodeWireEvent(raw), {
    onLeft: (error) => Either.left(ParseResult.TreeFormatter.formatErrorSync(error)),
    onRight: (event) => Either.right(Option.some(event))
  })
}
