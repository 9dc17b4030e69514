/**
 * What callers pass to a session — its options, messages and `record` inputs — as Schemas.
 * Callers from JavaScript (and the Promise API) are not held to the TypeScript types, so each
 * is decoded at the boundary: bad input fails with `InvalidInput` naming the field, before
 * anything is stored.
 *
 * @internal
 */
import { Effect, Either, Layer, ParseResult, Schema } from "effect"
import { FinishReasonInput, SessionId } from "../Domain.js"
import { InvalidInput } from "../Errors.js"
import type * as Public from "../Session.js"

/** An issue's path as a field name: `tokens.input`, `toolResults[0].toolCallId`. */
const fieldOf = (root: string, path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0
    ? root
    : path.reduce<string>(
      (out, key, index) =>
        typeof key === "number" ? `${out}[${key}]` : index === 0 ? String(key) : `${out}.${String(key)}`,
      ""
    )

/**
 * Decodes `input` with `schema`; the first issue becomes an `InvalidInput` for its field (`root`
 * when the input as a whole is wrong). Unknown properties are ignored, as TypeScript would
 * allow them in a variable passed as options.
 */
export const decodeInput = <A, I>(schema: Schema.Schema<A, I>, root: string) => {
  const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })
  return (input: unknown): Effect.Effect<A, InvalidInput> =>
    Either.match(decode(input), {
      onRight: Effect.succeed,
      onLeft: (error) => {
        const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
        return Effect.fail(
          new InvalidInput({
            field: fieldOf(root, issue?.path ?? []),
            reason: issue?.message ?? ParseResult.TreeFormatter.formatErrorSync(error)
          })
        )
      }
    })
}

/** An optional field: absent or `undefined`, or a value of `schema`. */
const optional = <A, I>(schema: Schema.Schema<A, I>) => Schema.optional(schema)

/**
 * `schema` with its own failure message. A leaf's message replaces every inner one (a union's
 * "expected string, expected array"); a container's only its own, so a field's issue is named.
 */
const withMessage = <A, I>(schema: Schema.Schema<A, I>, message: string, override = true) =>
  schema.annotations({ message: () => ({ message, override }) })

const object = <Fields extends Schema.Struct.Fields>(fields: Fields, what: string) =>
  Schema.Struct(fields).annotations({ message: () => `must be an object (${what})` })

const aFunction = Schema.declare(
  (u: unknown): u is (...args: ReadonlyArray<never>) => unknown => typeof u === "function"
)

/** `JSON.stringify` fails on cycles and bigints; the store writes metadata as JSON. */
const jsonSerialisable = (u: unknown): boolean => {
  try {
    JSON.stringify(u)
    return true
  } catch {
    return false
  }
}

/** A message: text, or parts (each part is decoded on its own later, for its own field name). */
export const MessageInput = withMessage(
  Schema.Union(Schema.String, Schema.Array(Schema.Unknown)),
  "must be a string or an array of parts"
)

const FileContent = withMessage(
  Schema.Union(Schema.String, Schema.Uint8ArrayFromSelf),
  "must be a string or a Uint8Array (the file's content)"
)
const FilePath = withMessage(Schema.NonEmptyString, "must be a non-empty string (the file's path)")

/** A `{ type: "file" }` part of a message: a file to attach (see `session.attachFile`). */
export const FilePart = object({
  type: Schema.Literal("file"),
  path: FilePath,
  content: optional(FileContent)
}, "{ type: \"file\", path, content? }")

/** `attachFile`'s input: a path, or `{ path, content? }`. */
export const AttachFileInput = withMessage(
  Schema.Union(
    FilePath,
    object({ path: FilePath, content: optional(FileContent) }, "{ path, content? }")
  ),
  "must be a path, or { path, content } with the content as a string or a Uint8Array",
  false
)

/** The shape of a `Tool` (its name is checked against the providers' rules separately). */
const ToolShape = object({
  name: withMessage(Schema.String, "a tool needs a name (a string)"),
  description: withMessage(Schema.String, "a tool needs a description (a string)"),
  inputSchema: withMessage(
    Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    "a tool needs an inputSchema (a JSON Schema object); build tools with Tool.make"
  ),
  execute: optional(withMessage(aFunction, "a tool's execute must be a function, or absent")),
  readOnly: optional(withMessage(Schema.Boolean, "a tool's readOnly must be true, false or absent"))
}, "a Tool, built with Tool.make")

const Tools = withMessage(Schema.Array(ToolShape), "must be an array of tools", false)

const MemoryToolsOption = withMessage(
  Schema.Union(Schema.Boolean, Schema.Struct({ relatedSessions: optional(Schema.Boolean) })),
  "must be true, false or { relatedSessions: boolean }"
)

const text = (what: string) => withMessage(Schema.String, `must be a string (${what})`)

/** A store layer (its type is checked by TypeScript; here only that it is a layer at all). */
const StoreLayer = withMessage(
  // `never` as the output accepts a layer of any service (a layer is contravariant in it)
  Schema.declare((u: unknown): u is Layer.Layer<never, unknown, unknown> => Layer.isLayer(u)),
  "must be a store layer, e.g. SqliteStore.layer({ filename })"
)

/** `Session.create` / `open` options; `config` is decoded by the configuration itself. */
export const OpenOptions = object({
  model: withMessage(Schema.NonEmptyString, "must be a model name, as \"provider/model\""),
  systemPrompt: optional(text("the system prompt")),
  config: optional(Schema.Unknown),
  storage: optional(StoreLayer),
  parentId: optional(withMessage(SessionId, "must be a session id (sess_ followed by a ULID)")),
  agent: optional(text("the agent's name")),
  tools: optional(Tools),
  memoryTools: optional(MemoryToolsOption),
  metadata: optional(
    withMessage(
      Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(Schema.filter(jsonSerialisable)),
      "must be an object that JSON.stringify can write (no cycles, no bigints)"
    )
  )
}, "the session's options")

/** `Session.load` options. */
export const LoadOptions = object({
  config: optional(Schema.Unknown),
  storage: optional(StoreLayer),
  tools: optional(Tools),
  memoryTools: optional(MemoryToolsOption)
}, "the load options")

/** `send` / `stream` options. */
export const SendOptions = object({
  tools: optional(Tools),
  systemPrompt: optional(text("the system prompt for this turn")),
  maxSteps: optional(withMessage(Schema.Int.pipe(Schema.positive()), "must be a whole number ≥ 1")),
  onPart: optional(withMessage(aFunction, "must be a function"))
}, "the send options")

const Count = withMessage(Schema.NonNegativeInt, "must be a whole number ≥ 0")

/** `record`'s input; `finishReason` accepts the providers' names and decodes them to ours. */
export const RecordInput = object({
  user: optional(MessageInput),
  assistant: optional(MessageInput),
  tokens: optional(
    object({
      input: optional(Count),
      output: optional(Count),
      cacheRead: optional(Count),
      cacheWrite: optional(Count),
      total: optional(Count)
    }, "token counts: input, output, cacheRead, cacheWrite, total")
  ),
  finishReason: optional(FinishReasonInput),
  toolResults: optional(
    withMessage(
      Schema.Array(
        object({
          toolCallId: text("the id of the tool call"),
          output: optional(text("the tool's output")),
          error: optional(text("the tool's error"))
        }, "{ toolCallId, output?, error? }")
      ),
      "must be an array of { toolCallId, output?, error? }",
      false
    )
  )
}, "{ user?, assistant?, tokens?, finishReason?, toolResults? }")
export type RecordInput = typeof RecordInput.Type

/** Compiles only while each public input type stays decodable by its Schema here. */
type Accepts<Public, S extends Schema.Schema.Any> = Public extends Schema.Schema.Encoded<S> ? true : false
type AllTrue<T extends ReadonlyArray<true>> = T
export type PublicInputsDecodable = AllTrue<[
  Accepts<Public.OpenOptions, typeof OpenOptions>,
  Accepts<Public.LoadOptions, typeof LoadOptions>,
  Accepts<Public.SendOptions<unknown>, typeof SendOptions>,
  Accepts<Public.RecordInput, typeof RecordInput>,
  Accepts<Public.FilePartInput, typeof FilePart>,
  Accepts<Public.AttachFileInput, typeof AttachFileInput>
]>
