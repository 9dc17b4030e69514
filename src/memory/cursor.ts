/**
 * Page cursors of the memory tools: opaque to callers, checked against the query they continue.
 *
 * A cursor carries a short digest of its query, not the query: a grep pattern may be 500
 * characters, and the cursor is printed in every page the model reads, inside the page's cap.
 *
 * @internal
 */
import { Effect, Either, Schema } from "effect"
import { createHash } from "node:crypto"
import { InvalidInput } from "../Errors.js"

const Cursor = Schema.Struct({
  k: Schema.String,
  q: Schema.String,
  p: Schema.NonNegativeInt,
  c: Schema.optional(Schema.NonNegativeInt),
  f: Schema.optional(Schema.String)
})

/**
 * Where the next page starts: an index or position `p`, and an offset `c` inside that item; for
 * grep's search of file contents, `f` names the file (the start of its id) and `p` is a line.
 */
export interface Position {
  readonly p: number
  readonly c?: number | undefined
  readonly f?: string | undefined
}

const decode = Schema.decodeUnknownEither(Schema.parseJson(Cursor))

const digest = (query: string) => createHash("sha256").update(query).digest("base64url").slice(0, 12)

export const encode = (kind: string, query: string, position: Position): string =>
  Buffer.from(JSON.stringify({ k: kind, q: digest(query), ...position })).toString("base64url")

export const read = (
  raw: string | undefined,
  kind: string,
  query: string
): Effect.Effect<Position | undefined, InvalidInput> => {
  if (raw === undefined || raw === "") return Effect.succeed(undefined)
  const decoded = decode(Buffer.from(raw, "base64url").toString())
  if (Either.isLeft(decoded) || decoded.right.k !== kind || decoded.right.q !== digest(query)) {
    return Effect.fail(
      new InvalidInput({
        field: "cursor",
        reason: "does not continue this query; repeat the call without a cursor"
      })
    )
  }
  return Effect.succeed(decoded.right)
}
