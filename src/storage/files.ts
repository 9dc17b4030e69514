/**
 * Large files' contents over `SqlClient`, for every database: one `file_contents` row per content
 * id (its size, line count, whether it is text, a source file's symbols) and the bytes in
 * `file_chunks` — pieces of about 64 KB that end on a line break, each knowing its first line —
 * so a page of lines reads only the pieces that hold it. A piece boundary never splits a line or
 * a UTF-8 sequence (a line break is one byte that no multi-byte sequence contains), so each piece
 * decodes on its own exactly as its part of the whole would.
 *
 * Contents are deduplicated by id across sessions and never change; `lifecycle.ts` removes those
 * no session uses any more.
 *
 * @internal
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import type { FileId } from "../Domain.js"
import { FileId as FileIdSchema } from "../Domain.js"
import { splitLines } from "../files/Lines.js"
import { FileSymbols } from "../files/Symbols.js"
import type { Files, NewFile } from "../Storage.js"
import { decodeAll } from "./rows.js"
import type { Context } from "./SqlStore.js"

/** Target size of a text piece; a piece runs on to the end of the line it reaches this size in. */
export const TEXT_CHUNK_BYTES = 64 * 1024
/** Size of a binary piece. */
export const BINARY_CHUNK_BYTES = 1024 * 1024
/** Pieces written per statement. */
const INSERT_BATCH = 8

const NEWLINE = 0x0a

export interface Chunk {
  readonly ord: number
  readonly firstLine: number
  readonly lineCount: number
  readonly bytes: Uint8Array
}

const newlines = (bytes: Uint8Array, from: number, to: number): number => {
  let n = 0
  for (let at = bytes.indexOf(NEWLINE, from); at !== -1 && at < to; at = bytes.indexOf(NEWLINE, at + 1)) n++
  return n
}

/**
 * The pieces of a content: text cut after the line break that ends the line reaching
 * {@link TEXT_CHUNK_BYTES} (lines counted as `Lines.countLines` counts them), binary cut every
 * {@link BINARY_CHUNK_BYTES} with no lines.
 */
export const chunksOf = (bytes: Uint8Array, text: boolean): { chunks: Array<Chunk>; lineCount: number } => {
  const chunks: Array<Chunk> = []
  let start = 0
  let line = 1
  while (start < bytes.length) {
    if (!text) {
      const end = Math.min(bytes.length, start + BINARY_CHUNK_BYTES)
      chunks.push({ ord: chunks.length, firstLine: 0, lineCount: 0, bytes: bytes.subarray(start, end) })
      start = end
      continue
    }
    const target = Math.min(bytes.length, start + TEXT_CHUNK_BYTES)
    const breakAt = target === bytes.length ? -1 : bytes.indexOf(NEWLINE, target - 1)
    const end = breakAt === -1 ? bytes.length : breakAt + 1
    // a last piece without a final line break still holds one (unfinished) line
    const lineCount = newlines(bytes, start, end) +
      (end === bytes.length && bytes[end - 1] !== NEWLINE ? 1 : 0)
    chunks.push({ ord: chunks.length, firstLine: line, lineCount, bytes: bytes.subarray(start, end) })
    line += lineCount
    start = end
  }
  return { chunks, lineCount: text ? line - 1 : 0 }
}

/** Decodes a piece as UTF-8; only the first piece of a file drops a byte-order mark. */
const decoders = {
  first: new TextDecoder("utf-8"),
  rest: new TextDecoder("utf-8", { ignoreBOM: true })
}

/**
 * Writes a content's row and its pieces unless the id is stored; returns whether it wrote them.
 * The caller runs it inside a transaction (the migration carrying over old contents does too).
 */
export const insertContent = (
  sql: SqlClient,
  file: {
    readonly id: string
    readonly content: Uint8Array
    readonly text: boolean
    readonly symbols?: string | null | undefined
    readonly createdAt: number
  }
): Effect.Effect<boolean, SqlError> =>
  Effect.gen(function*() {
    const { chunks, lineCount } = chunksOf(file.content, file.text)
    const inserted =
      yield* sql`INSERT INTO file_contents (id, byte_length, line_count, is_text, symbols, created_at)
      VALUES (${file.id}, ${file.content.length}, ${lineCount}, ${file.text}, ${file.symbols ?? null},
        ${file.createdAt})
      ON CONFLICT (id) DO NOTHING
      RETURNING id`
    if (inserted.length === 0) return false
    for (let i = 0; i < chunks.length; i += INSERT_BATCH) {
      yield* sql`INSERT INTO file_chunks ${
        sql.insert(
          chunks.slice(i, i + INSERT_BATCH).map((chunk) => ({
            file_id: file.id,
            ord: chunk.ord,
            first_line: chunk.firstLine,
            line_count: chunk.lineCount,
            content: chunk.bytes
          }))
        )
      }`
    }
    return true
  })

const FileIdRow = Schema.Struct({ file_id: FileIdSchema })
const ChunkRow = Schema.Struct({
  first_line: Schema.Int,
  content: Schema.Uint8ArrayFromSelf
})

export const make = (ctx: Context): Files => {
  const { dialect, query, rows, sql, transaction } = ctx
  const ContentRow = Schema.Struct({
    byte_length: Schema.NonNegativeInt,
    line_count: Schema.NonNegativeInt,
    is_text: dialect.columns.Bool,
    symbols: Schema.NullOr(dialect.columns.Json(FileSymbols))
  })
  const decodeReferences = decodeAll(rows.FileReferenceRow)
  const decodeContents = decodeAll(ContentRow)
  const decodeChunks = decodeAll(ChunkRow)
  const decodeFileIds = decodeAll(FileIdRow)

  const putFile: Files["putFile"] = (file: NewFile) =>
    transaction(
      "putFile",
      Effect.gen(function*() {
        const ref = file.reference
        const written = yield* insertContent(sql, {
          id: ref.id,
          content: file.content,
          text: file.text,
          symbols: file.symbols === undefined ? null : dialect.json(file.symbols),
          createdAt: ref.createdAt
        })
        yield* sql`INSERT INTO file_references (id, path, file_type, token_count, summary, created_at)
          VALUES (${ref.id}, ${ref.path}, ${ref.fileType}, ${ref.tokenCount}, ${ref.summary}, ${ref.createdAt})
          ON CONFLICT (id) DO NOTHING`
        return written
      })
    )

  const getFile: Files["getFile"] = (id: FileId) =>
    query(
      "getFile",
      Effect.gen(function*() {
        const [reference] = yield* Effect.flatMap(
          sql`SELECT * FROM file_references WHERE id = ${id}`,
          decodeReferences
        )
        if (reference === undefined) return undefined
        const [content] = yield* Effect.flatMap(
          sql`SELECT byte_length, line_count, is_text, symbols FROM file_contents WHERE id = ${id}`,
          decodeContents
        )
        return {
          reference: rows.toFileReference(reference),
          content: content === undefined ? undefined : {
            byteLength: content.byte_length,
            lineCount: content.line_count,
            text: content.is_text,
            ...(content.symbols === null ? {} : { symbols: content.symbols })
          }
        }
      })
    )

  const fileLines: Files["fileLines"] = (id, from, to) =>
    from > to ? Effect.succeed([]) : query(
      "fileLines",
      Effect.gen(function*() {
        // the pieces from the one holding `from` (the last starting at or before it) to `to`
        const pieces = yield* Effect.flatMap(
          sql`SELECT first_line, content FROM file_chunks
            WHERE file_id = ${id} AND first_line > 0 AND first_line <= ${to}
              AND first_line >= (SELECT COALESCE(MAX(first_line), 0) FROM file_chunks
                WHERE file_id = ${id} AND first_line > 0 AND first_line <= ${from})
            ORDER BY ord`,
          decodeChunks
        )
        const out: Array<string> = []
        for (const piece of pieces) {
          const decoder = piece.first_line === 1 ? decoders.first : decoders.rest
          const lines = splitLines(decoder.decode(piece.content))
          const skip = Math.max(0, from - piece.first_line)
          const take = Math.min(lines.length, to - piece.first_line + 1)
          for (let i = skip; i < take; i++) out.push(lines[i]!)
        }
        return out
      })
    )

  const fileContent: Files["fileContent"] = (id) =>
    query(
      "fileContent",
      Effect.gen(function*() {
        const [content] = yield* Effect.flatMap(
          sql`SELECT byte_length, line_count, is_text, symbols FROM file_contents WHERE id = ${id}`,
          decodeContents
        )
        if (content === undefined) return undefined
        const pieces = yield* Effect.flatMap(
          sql`SELECT first_line, content FROM file_chunks WHERE file_id = ${id} ORDER BY ord`,
          decodeChunks
        )
        const bytes = new Uint8Array(content.byte_length)
        let at = 0
        for (const piece of pieces) {
          bytes.set(piece.content, at)
          at += piece.content.length
        }
        return bytes
      })
    )

  const sessionFiles: Files["sessionFiles"] = (sessionIds) =>
    sessionIds.length === 0 ? Effect.succeed([]) : query(
      "sessionFiles",
      Effect.map(
        Effect.flatMap(
          sql`SELECT DISTINCT ${sql.literal(dialect.jsonField("content", "fileId"))} AS file_id FROM parts
            WHERE type = 'file_ref' AND session_id IN (SELECT j.value FROM ${dialect.idList(sessionIds)})
            ORDER BY file_id`,
          decodeFileIds
        ),
        (found) => found.map((row) => row.file_id)
      )
    )

  return { putFile, getFile, fileLines, fileContent, sessionFiles }
}
