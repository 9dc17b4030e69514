/**
 * The memory tools on files (`file_…` ids): `describe` gives a file's facts and summary, `expand`
 * pages its lines (or one symbol's, `symbol=Class.method`) under the token cap with a cursor, and
 * `grep` searches the contents line by line — words (as the full-text index matches them:
 * whole words, case and accents folded, `word*` for a prefix, "quoted phrases") or a regular
 * expression. A session reads only the files its own messages (or, when asked, its relatives')
 * reference: contents are shared by the whole database, so that is checked on every call.
 *
 * @internal
 */
import { Clock, Effect, Schema } from "effect"
import type { FileId } from "../Domain.js"
import { FileId as FileIdSchema } from "../Domain.js"
import type { FileError } from "../Errors.js"
import { InvalidInput } from "../Errors.js"
import { describeFile as describeText } from "../files/Paging.js"
import * as Reader from "../files/Reader.js"
import type { MemoryScope } from "../MemoryTools.js"
import type * as Storage from "../Storage.js"
import * as Cursor from "./cursor.js"
import { ceilBoundary, clipChars, floorBoundary } from "./text.js"

/** Lines read per store call while searching. */
const SEARCH_WINDOW = 2_000
/** Characters shown either side of a match. */
const SNIPPET_CHARS = 80
/** Hex characters of the file id a grep cursor keeps (enough to find the file again). */
const CURSOR_ID_CHARS = 16

const isFileId = Schema.is(FileIdSchema)

const unknownFile = (id: string) =>
  new InvalidInput({
    field: "id",
    reason: `no file ${id} in this session; file ids come from the file references in the context, ` +
      "from grep or from summaries"
  })

/** The file, when a session in scope references it (contents are shared by the whole database). */
const visible = (scope: MemoryScope, id: string) =>
  Effect.gen(function*() {
    if (!isFileId(id)) return yield* unknownFile(id)
    const files = yield* scope.store.sessionFiles(scope.sessionIds)
    if (!files.includes(id)) return yield* unknownFile(id)
    const stored = yield* scope.store.getFile(id)
    if (stored === undefined) return yield* unknownFile(id)
    return stored
  })

/** What `describe file_…` tells. */
export interface FileDescription {
  readonly kind: "file"
  readonly id: FileId
  readonly path: string
  readonly fileType: string
  readonly tokens: number
  readonly summary: string
  /** Lines of a text file (absent for binary content, or when the content is not stored). */
  readonly lines?: number | undefined
  /** Bytes (absent when the content is not stored). */
  readonly bytes?: number | undefined
}

export const describe = (scope: MemoryScope, id: string) =>
  Effect.map(visible(scope, id), ({ content, reference }) => {
    const description: FileDescription = {
      kind: "file",
      id: reference.id,
      path: reference.path,
      fileType: reference.fileType,
      tokens: reference.tokenCount,
      summary: reference.summary,
      ...(content === undefined ? {} : { bytes: content.byteLength }),
      ...(content?.text === true ? { lines: content.lineCount } : {})
    }
    const text = content === undefined
      ? `${describeText(reference)}\n(Its content is not stored in this database — it came from an archive ` +
        "without contents — so it cannot be expanded.)"
      : describeText(reference, {
        bytes: content.byteLength,
        lines: content.text ? content.lineCount : undefined
      })
    return { description, text }
  })

/** One page of a file as `expand` answers it. */
export interface FilePage {
  readonly text: string
  /** The page's lines, numbered (empty when the answer is not a page: an unknown symbol, binary content). */
  readonly lines: string
  readonly totalLines: number
  readonly nextCursor?: string | undefined
}

/** `expand file_…`: a page of lines, or of one symbol's lines; the cursor continues it. */
export const expand = (
  scope: MemoryScope,
  input: {
    readonly id: string
    readonly symbol?: string | undefined
    readonly line?: number | undefined
    readonly cursor?: string | undefined
    readonly maxTokens: number
  }
): Effect.Effect<FilePage, InvalidInput | Storage.StoreFailure> =>
  Effect.gen(function*() {
    const { id } = input
    const stored = yield* visible(scope, id)
    if (stored.content === undefined) {
      return {
        text:
          `${id} (${stored.reference.path}): its content is not stored in this database (it came from an ` +
          `archive without contents); describe("${id}") gives its summary`,
        lines: "",
        totalLines: 0
      }
    }
    // a cursor continues one query: this file, and this symbol (or none)
    const queryKey = `${id}\u0000${input.symbol ?? ""}`
    const cursor = yield* Cursor.read(input.cursor, "expand", queryKey)
    const from = cursor !== undefined
      ? { line: cursor.p, ...(cursor.c === undefined ? {} : { column: cursor.c }) }
      : input.line === undefined
      ? undefined
      : { line: input.line }
    let nextCursor: string | undefined
    const result = yield* Reader.expand(scope.store, scope.count, id, {
      symbol: input.symbol,
      from,
      continued: cursor !== undefined,
      maxTokens: input.maxTokens,
      continueWith: (next) => {
        nextCursor = Cursor.encode("expand", queryKey, {
          p: next.line,
          ...(next.column === undefined ? {} : { c: next.column })
        })
        return `expand again with cursor ${JSON.stringify(nextCursor)}`
      }
    }).pipe(Effect.catchTag("FileError", (error: FileError) => Effect.fail(unknownFile(error.path))))
    if (result._tag !== "Page") return { text: result.text, lines: "", totalLines: stored.content.lineCount }
    return {
      text: result.text,
      lines: result.page.text,
      totalLines: result.page.totalLines,
      ...(result.page.next === undefined ? {} : { nextCursor })
    }
  })

// ---------------------------------------------------------------------------------------------
// grep
// ---------------------------------------------------------------------------------------------

/** A match in a line of a file. */
export interface FileHit {
  readonly fileId: FileId
  readonly path: string
  readonly line: number
  /** The line around the match, the match marked `[…]`. */
  readonly snippet: string
}

/** Finds the first match in a line, as code-unit offsets. */
export type LineMatcher = (line: string) => { readonly start: number; readonly end: number } | undefined

const WORD = /[\p{L}\p{N}\p{M}]+/gu
/** Case and accents folded, as the full-text index folds them. */
const fold = (word: string) => word.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase()

/**
 * Words as `grep` matches them in full-text mode: every term must occur in the line, a term being a
 * whole word, a `word*` prefix, or a "quoted phrase" of consecutive words. `undefined` when the
 * pattern holds no word.
 */
export const fullTextMatcher = (pattern: string): LineMatcher | undefined => {
  const terms: Array<{ readonly words: ReadonlyArray<string>; readonly prefix: boolean }> = []
  for (const match of pattern.matchAll(/"([^"]*)"|(\S+)/g)) {
    const raw = match[1] ?? match[2] ?? ""
    const words = (raw.match(WORD) ?? []).map(fold).filter((w) => w !== "")
    if (words.length > 0) terms.push({ words, prefix: match[1] === undefined && raw.endsWith("*") })
  }
  if (terms.length === 0) return undefined
  const words = terms.flatMap((term) => term.words)
  return (line) => {
    // most lines hold none of the words: one pass over the folded line settles them
    const folded = fold(line)
    if (!words.every((word) => folded.includes(word))) return undefined
    const tokens = [...line.matchAll(WORD)].map((m) => ({
      word: fold(m[0]),
      start: m.index,
      end: m.index + m[0].length
    }))
    let first: { start: number; end: number } | undefined
    for (const term of terms) {
      const n = term.words.length
      let found: { start: number; end: number } | undefined
      for (let i = 0; i + n <= tokens.length && found === undefined; i++) {
        const ok = term.words.every((word, k) => {
          const token = tokens[i + k]!.word
          return term.prefix && k === n - 1 ? token.startsWith(word) : token === word
        })
        if (ok) found = { start: tokens[i]!.start, end: tokens[i + n - 1]!.end }
      }
      if (found === undefined) return undefined
      if (first === undefined || found.start < first.start) first = found
    }
    return first
  }
}

const snippetOf = (line: string, start: number, end: number): string => {
  const from = floorBoundary(line, start - SNIPPET_CHARS)
  const to = ceilBoundary(line, end + SNIPPET_CHARS)
  const text = `${from > 0 ? "…" : ""}${line.slice(from, start)}[${clipChars(line.slice(start, end), 120)}]${
    line.slice(end, to)
  }${to < line.length ? "…" : ""}`
  return text.replace(/\s+/g, " ").trim()
}

/** Where a file search stands: in the file whose id starts with `file`, after line `line`. */
export interface FilePosition {
  readonly file: string
  readonly line: number
}

/** A file position as a grep cursor's position (`f`: the file, `p`: the line). */
export const toCursor = (at: FilePosition): Cursor.Position => ({ p: at.line, f: at.file })

/** The hits and where the search resumes after each of them, or where it stopped. */
export interface FileSearch {
  readonly hits: ReadonlyArray<{ readonly hit: FileHit; readonly resume: FilePosition }>
  /** Set when the time budget ran out first: where to go on. */
  readonly stoppedAt?: FilePosition | undefined
}

/**
 * Searches the text files the scope's sessions reference, in id order and line order, from
 * `after` (the start when absent), until `limit` hits or `deadline` (epoch ms).
 */
export const search = (
  scope: MemoryScope,
  options: {
    readonly match: LineMatcher
    readonly after?: FilePosition | undefined
    readonly limit: number
    readonly deadline?: number | undefined
  }
): Effect.Effect<FileSearch, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const hits: Array<{ readonly hit: FileHit; readonly resume: FilePosition }> = []
    const ids = yield* scope.store.sessionFiles(scope.sessionIds)
    const after = options.after
    for (const id of ids) {
      const key = id.slice(5, 5 + CURSOR_ID_CHARS)
      // files before the cursor's are done; in its own, the lines up to the cursor's are
      if (after !== undefined && key < after.file) continue
      const stored = yield* scope.store.getFile(id)
      if (stored?.content?.text !== true) continue
      const total = stored.content.lineCount
      let line = after !== undefined && key === after.file ? after.line : 0
      while (line < total) {
        if (options.deadline !== undefined && (yield* Clock.currentTimeMillis) > options.deadline) {
          return { hits, stoppedAt: { file: key, line } }
        }
        const lines = yield* scope.store.fileLines(id, line + 1, line + SEARCH_WINDOW)
        if (lines.length === 0) break
        for (const [k, text] of lines.entries()) {
          const number = line + 1 + k
          const found = options.match(text)
          if (found === undefined) continue
          hits.push({
            hit: {
              fileId: id,
              path: stored.reference.path,
              line: number,
              snippet: snippetOf(text, found.start, found.end)
            },
            resume: { file: key, line: number }
          })
          if (hits.length >= options.limit) return { hits }
        }
        line += lines.length
        yield* Effect.yieldNow()
      }
    }
    return { hits }
  })
