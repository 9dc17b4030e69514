/**
 * Turning what a caller passes (`string` or parts) into parts ready to store: validated, with
 * ids and the token count of exactly what will be sent. Bad input fails with `InvalidInput`
 * before anything is written.
 *
 * @internal
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import type { Count } from "../context/Render.js"
import { partCost } from "../context/Render.js"
import { PartInput } from "../Domain.js"
import type { PartBody } from "../Domain.js"
import { InvalidInput } from "../Errors.js"
import * as Ids from "../internal/ids.js"
import type { NewMessage } from "../Storage.js"
import { decodeInput, MessageInput } from "./options.js"

export type StoredPart = NewMessage["parts"][number]

const decodePart = Schema.decodeUnknownEither(PartInput)

/** Where a string stops being well-formed UTF-16 (a lone surrogate), or -1. */
const loneSurrogateAt = (text: string): number => {
  if (text.isWellFormed()) return -1
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++
        continue
      }
      return i
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i
  }
  return -1
}

const checkText = (field: string, text: string): Either.Either<void, InvalidInput> => {
  const at = loneSurrogateAt(text)
  return at === -1 ? Either.void : Either.left(
    new InvalidInput({
      field,
      reason: `contains a lone UTF-16 surrogate at index ${at}, which cannot be stored as UTF-8; ` +
        `pass text.toWellFormed() to replace it`
    })
  )
}

/** The strings inside a part body that must be well-formed. */
const textsOf = (part: PartBody): ReadonlyArray<string> => {
  switch (part.type) {
    case "text":
    case "reasoning":
      return [part.text]
    case "tool":
      return [part.toolName, part.output ?? "", part.error ?? "", JSON.stringify(part.input ?? null)]
    case "file_ref":
      return [part.path, part.summary]
    case "compaction":
      return []
  }
}

/**
 * Validates a message and gives its parts ids and token counts. `allowTools` is false for user
 * messages: tool calls and results belong to assistant messages. The message is decoded here, as
 * callers from JavaScript may pass anything.
 */
export const prepareParts = (
  field: string,
  input: unknown,
  count: Count,
  options: { readonly allowTools: boolean; readonly allowEmpty?: boolean }
): Effect.Effect<Array<StoredPart>, InvalidInput> =>
  Effect.gen(function*() {
    const message = yield* decodeInput(MessageInput, field)(input)
    const bodies: Array<PartBody> = []
    if (typeof message === "string") {
      if (message.trim() === "" && options.allowEmpty !== true) {
        return yield* new InvalidInput({ field, reason: "is empty; send some text or parts" })
      }
      if (message !== "") bodies.push({ type: "text", text: message })
    } else {
      for (const [index, raw] of message.entries()) {
        const decoded = decodePart(raw)
        if (Either.isLeft(decoded)) {
          return yield* new InvalidInput({
            field: `${field}[${index}]`,
            reason: ParseResult.TreeFormatter.formatErrorSync(decoded.left)
          })
        }
        if (decoded.right.type === "tool" && !options.allowTools) {
          return yield* new InvalidInput({
            field: `${field}[${index}]`,
            reason: "a tool part belongs to an assistant message (record it as the assistant's)"
          })
        }
        bodies.push(decoded.right)
      }
      const hasContent = bodies.some((part) => part.type !== "text" || part.text.trim() !== "")
      if (!hasContent && options.allowEmpty !== true) {
        return yield* new InvalidInput({ field, reason: "has no content; send some text or parts" })
      }
    }
    for (const [index, part] of bodies.entries()) {
      for (const text of textsOf(part)) {
        yield* checkText(typeof message === "string" ? field : `${field}[${index}]`, text)
      }
    }
    return yield* Effect.forEach(bodies, (part) =>
      Effect.map(
        Ids.partId,
        (id): StoredPart => ({ ...part, id, tokenCount: partCost(part, count) })
      ))
  })
