/**
 * Reading a stored file back through the store: `describe` (its facts and summary) and `expand`
 * (a page of its lines, or of one symbol's). Only the lines of the page are fetched, whatever the
 * file's size; a symbol is found in the symbols stored with the content, or — for contents stored
 * without them (an old archive) — by parsing the file once more.
 *
 * The file handler and the memory tools both read through here; the memory tools first check
 * that the asking session uses the file.
 *
 * @since 0.1.0
 */
import { Effect, Option, Schema } from "effect"
import { FileId, type FileReference } from "../Domain.js"
import { FileError } from "../Errors.js"
import type * as Storage from "../Storage.js"
import * as Paging from "./Paging.js"
import * as Summarize from "./Summarize.js"
import { fromCode } from "./Symbols.js"
import type { Count } from "./types.js"

/** Default and ceiling of one `expand` page of a file, in tokens (as the memory tools' expand). */
export const EXPAND_DEFAULT_TOKENS = 4_000

export interface ExpandRequest {
  /** `Name`, `Class.method`, or a member name only one symbol has: that declaration's lines. */
  readonly symbol?: string | undefined
  /** Where to start (a 1-based line, and a column inside a long line); the start of the range by default. */
  readonly from?: Paging.PagePosition | undefined
  /** Whether `from` continues an earlier page (default: whenever `from` is given). */
  readonly continued?: boolean | undefined
  readonly maxTokens?: number | undefined
  /** How the page says to continue (the memory tools encode a cursor). */
  readonly continueWith?: ((next: Paging.PagePosition) => string) | undefined
}

const decodeId = Schema.decodeUnknownOption(FileId)

/** A stored file whose content is stored too, or `FileError` `unknown_id`. */
export const load = (
  store: Storage.Service,
  raw: string
): Effect.Effect<
  { readonly reference: FileReference; readonly content: Storage.FileContentInfo },
  FileError | Storage.StoreFailure
> =>
  Effect.gen(function*() {
    const id = Option.getOrUndefined(decodeId(raw.trim()))
    const stored = id === undefined ? undefined : yield* store.getFile(id)
    if (stored?.content === undefined) return yield* new FileError({ path: raw, reason: "unknown_id" })
    return { reference: stored.reference, content: stored.content }
  })

/** What `describe file_…` answers: the file's facts, its summary, and how to read it. */
export const describe = (store: Storage.Service, id: string) =>
  Effect.map(load(store, id), ({ content, reference }) =>
    Paging.describeFile(reference, {
      bytes: content.byteLength,
      lines: content.text ? content.lineCount : undefined
    })).pipe(Effect.withSpan("Files.describe", { captureStackTrace: false }))

/** The symbols of a stored source file: those stored with it, or its parse. */
const symbolsOf = (store: Storage.Service, reference: FileReference, content: Storage.FileContentInfo) =>
  content.symbols !== undefined
    ? Effect.succeed(content.symbols)
    : Effect.gen(function*() {
      const bytes = yield* store.fileContent(reference.id)
      if (bytes === undefined) return undefined
      const outline = yield* Summarize.codeOutline(reference.fileType, Summarize.decode(bytes))
      return outline === undefined ? undefined : fromCode(outline.symbols)
    })

/** One page of a stored file, or of one of its symbols. */
export const expand = (store: Storage.Service, count: Count, id: string, request: ExpandRequest = {}) =>
  Effect.gen(function*() {
    const { content, reference } = yield* load(store, id)
    const symbols = request.symbol === undefined || !content.text
      ? undefined
      : yield* symbolsOf(store, reference, content)
    const plan = Paging.planExpand({
      reference,
      outline: symbols === undefined ? undefined : { symbols },
      symbol: request.symbol,
      from: request.from,
      continued: request.continued
    })
    if (plan._tag !== "Range") return plan
    const maxTokens = request.maxTokens ?? EXPAND_DEFAULT_TOKENS
    const window = Paging.pageWindow(plan, maxTokens, content.lineCount)
    const lines = yield* store.fileLines(reference.id, window.first, window.last)
    return Paging.renderPage(plan, { lines, firstLine: window.first, totalLines: content.lineCount }, {
      maxTokens,
      count,
      continueWith: request.continueWith
    }) satisfies Paging.ExpandFileResult
  }).pipe(Effect.withSpan("Files.expand", { captureStackTrace: false }))
