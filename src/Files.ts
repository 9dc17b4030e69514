/**
 * Large files. `FileHandler.ingest` turns a file into what goes into a message: below
 * `inlineThreshold` tokens its text, at or above it a reference — `file_<sha256>` id, path,
 * detected type, token count and a structural summary built by a real parser — with the bytes
 * stored once per id in the {@link FileContentStore}, so the model can read the file back
 * (`describe` / `expand`) after it changed or was deleted on disk. Binary files (and SQLite
 * databases) always become references: their bytes never enter a context.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import * as NodeFs from "node:fs/promises"
import { Settings } from "./Config.js"
import { FileId, FileReference } from "./Domain.js"
import { FileError } from "./Errors.js"
import { FileContentStore } from "./files/ContentStore.js"
import { detect } from "./files/Detect.js"
import { countLines } from "./files/Lines.js"
import * as Paging from "./files/Paging.js"
import * as Summarize from "./files/Summarize.js"
import type { FileType } from "./files/types.js"
import * as Ids from "./internal/ids.js"
import type { StoreFailure } from "./Storage.js"
import { Tokenizer } from "./Tokenizer.js"

export { FileContentStore } from "./files/ContentStore.js"
export type { FileType } from "./files/types.js"

/** Files of at least this many tokens become references (SPEC §9; `file.inlineThreshold`). */
export const DEFAULT_INLINE_THRESHOLD = 10_000
/** Larger files are refused with a `FileError` rather than read into memory. */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024

export interface Options {
  /** Files of at least this many tokens become references. */
  readonly inlineThreshold?: number | undefined
  /** The summary's budget in tokens. */
  readonly summaryTokens?: number | undefined
  readonly maxFileBytes?: number | undefined
  /** Text above this many characters is summarised as plain text instead of parsed. */
  readonly maxParseChars?: number | undefined
}

/** A file to ingest: read from `path`, or `content` given for it (`path` then only names it). */
export type FileInput =
  | { readonly path: string }
  | { readonly path: string; readonly content: string | Uint8Array }

/** The `file_ref` part a reference goes into a message as. */
export interface FileRefInput {
  readonly type: "file_ref"
  readonly fileId: FileId
  readonly path: string
  readonly fileType: string
  readonly fileTokens: number
  readonly summary: string
}

/** What ingesting gave: the text itself, or a reference that stands in for it. */
export type Ingested =
  | {
    readonly _tag: "Inline"
    readonly path: string
    readonly fileType: FileType
    readonly text: string
    readonly tokens: number
  }
  | {
    readonly _tag: "Reference"
    readonly reference: FileReference
    readonly part: FileRefInput
    /** The content was already stored (same bytes under this or another path): not summarised again. */
    readonly reused: boolean
  }

export interface ExpandRequest {
  readonly symbol?: string | undefined
  readonly from?: Paging.PagePosition | undefined
  readonly maxTokens?: number | undefined
  readonly continueWith?: ((next: Paging.PagePosition) => string) | undefined
}

/** Default and ceiling of one `expand` page, in tokens (as the memory tools' expand). */
export const EXPAND_DEFAULT_TOKENS = 4_000

export interface Service {
  readonly ingest: (input: FileInput) => Effect.Effect<Ingested, FileError | StoreFailure>
  /** The summary and facts of a stored file, as `describe file_…` shows them. */
  readonly describe: (id: string) => Effect.Effect<string, FileError | StoreFailure>
  /** One page of a stored file (or of one symbol of it). */
  readonly expand: (
    id: string,
    request?: ExpandRequest
  ) => Effect.Effect<Paging.ExpandFileResult, FileError | StoreFailure>
}

/**
 * @since 0.1.0
 */
export class FileHandler extends Context.Tag("mnesis/FileHandler")<FileHandler, Service>() {}

const errorCode = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/** The `FileError` for a failed `stat`/`read` of `path` (by the Node error code). @internal */
export const fromFsError = (path: string) => (error: unknown): FileError => {
  const code = errorCode(error)
  const detail = error instanceof Error ? error.message : String(error)
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return new FileError({ path, reason: "not_found" })
    case "EISDIR":
      return new FileError({ path, reason: "is_directory" })
    case "EACCES":
    case "EPERM":
      return new FileError({ path, reason: "permission_denied" })
    default:
      return new FileError({ path, reason: "unreadable", detail })
  }
}

const readBytes = (path: string, maxBytes: number): Effect.Effect<Uint8Array, FileError> =>
  Effect.gen(function*() {
    const stat = yield* Effect.tryPromise({ try: () => NodeFs.stat(path), catch: fromFsError(path) })
    if (stat.isDirectory()) return yield* new FileError({ path, reason: "is_directory" })
    if (stat.size > maxBytes) {
      return yield* new FileError({
        path,
        reason: "too_large",
        detail: `${stat.size.toLocaleString("en")} bytes, the limit is ${maxBytes.toLocaleString("en")}`
      })
    }
    const bytes = yield* Effect.tryPromise({ try: () => NodeFs.readFile(path), catch: fromFsError(path) })
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  })

const bytesOf = (input: FileInput, maxBytes: number): Effect.Effect<Uint8Array, FileError> => {
  if (!("content" in input)) return readBytes(input.path, maxBytes)
  const bytes = typeof input.content === "string" ? new TextEncoder().encode(input.content) : input.content
  return bytes.length > maxBytes
    ? Effect.fail(
      new FileError({
        path: input.path,
        reason: "too_large",
        detail: `${bytes.length.toLocaleString("en")} bytes, the limit is ${maxBytes.toLocaleString("en")}`
      })
    )
    : Effect.succeed(bytes)
}

const decodeId = Schema.decodeUnknownOption(FileId)

/** The text an inline file goes into a message as: its content framed by its path and type. */
export const renderInline = (file: Extract<Ingested, { _tag: "Inline" }>): string =>
  `[file path="${file.path}" type="${file.fileType}" tokens="${
    file.tokens.toLocaleString("en")
  }"]\n${file.text}\n[/file]`

export const make = (
  options: Options = {}
): Effect.Effect<Service, never, Tokenizer | FileContentStore> =>
  Effect.gen(function*() {
    const tokenizer = yield* Tokenizer
    const store = yield* FileContentStore
    const inlineThreshold = options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD
    const summaryTokens = options.summaryTokens ?? Summarize.DEFAULT_SUMMARY_TOKENS
    const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES
    const count = (text: string) => tokenizer.count(text)

    const ingest = (input: FileInput) =>
      Effect.gen(function*() {
        const bytes = yield* bytesOf(input, maxBytes)
        let text: string | undefined
        const decoded = () => (text ??= Summarize.decode(bytes))
        const detected = detect(input.path, bytes, decoded)
        const textual = detected.fileType !== "binary" && detected.fileType !== "sqlite"
        let tokens = 0
        if (textual) {
          // Strictly below the threshold goes inline; counting stops early past it.
          const within = tokenizer.isWithinLimit(decoded(), inlineThreshold - 1)
          if (within !== false) {
            return {
              _tag: "Inline",
              path: input.path,
              fileType: detected.fileType,
              text: decoded(),
              tokens: within
            } as const
          }
          tokens = count(decoded())
        }
        const id = Ids.fileId(bytes)
        const existing = yield* store.reference(id)
        // A reference written without its content (by an older store) gets its content now.
        if (existing !== undefined) yield* store.put({ reference: existing, content: bytes })
        const reference = existing ?? (yield* Effect.gen(function*() {
          const summary = yield* Summarize.summarize(
            { path: input.path, bytes, text: textual ? decoded() : undefined, detected },
            { budget: summaryTokens, count, maxParseChars: options.maxParseChars }
          )
          const created = new FileReference({
            id,
            path: input.path,
            fileType: summary.fileType,
            tokenCount: tokens,
            summary: summary.text,
            createdAt: yield* Clock.currentTimeMillis
          })
          yield* store.put({ reference: created, content: bytes })
          return created
        }))
        const part: FileRefInput = {
          type: "file_ref",
          fileId: id,
          path: input.path,
          fileType: reference.fileType,
          fileTokens: reference.tokenCount,
          summary: reference.summary
        }
        return { _tag: "Reference", reference, part, reused: existing !== undefined } as const
      }).pipe(
        Effect.withSpan("FileHandler.ingest", { attributes: { path: input.path }, captureStackTrace: false })
      )

    const load = (raw: string) =>
      Effect.gen(function*() {
        const id = Option.getOrUndefined(decodeId(raw.trim()))
        const reference = id === undefined ? undefined : yield* store.reference(id)
        const content = id === undefined || reference === undefined ? undefined : yield* store.content(id)
        if (reference === undefined || content === undefined) {
          return yield* new FileError({ path: raw, reason: "unknown_id" })
        }
        return { reference, content }
      })

    const describe = (raw: string) =>
      Effect.map(load(raw), ({ content, reference }) => {
        const textual = reference.fileType !== "binary" && reference.fileType !== "sqlite"
        return Paging.describeFile(reference, {
          bytes: content.length,
          lines: textual ? countLines(Summarize.decode(content)) : undefined
        })
      }).pipe(Effect.withSpan("FileHandler.describe", { captureStackTrace: false }))

    const expand = (raw: string, request: ExpandRequest = {}) =>
      Effect.gen(function*() {
        const { content, reference } = yield* load(raw)
        const textual = reference.fileType !== "binary" && reference.fileType !== "sqlite"
        const text = textual ? Summarize.decode(content) : ""
        const outline = request.symbol === undefined
          ? undefined
          : yield* Summarize.codeOutline(reference.fileType, text)
        return Paging.expandFile({
          reference,
          content: text,
          outline,
          symbol: request.symbol,
          from: request.from,
          maxTokens: request.maxTokens ?? EXPAND_DEFAULT_TOKENS,
          count,
          continueWith: request.continueWith
        })
      }).pipe(Effect.withSpan("FileHandler.expand", { captureStackTrace: false }))

    return { ingest, describe, expand } satisfies Service
  })

/**
 * The file handler over the `Tokenizer` and a {@link FileContentStore}.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<FileHandler, never, Tokenizer | FileContentStore> =>
  Layer.effect(FileHandler, make(options))

/**
 * The file handler configured by the `file` section of the base configuration (`Settings`).
 *
 * @since 0.1.0
 */
export const layerFromSettings: Layer.Layer<FileHandler, never, Tokenizer | FileContentStore | Settings> =
  Layer
    .effect(
      FileHandler,
      Effect.flatMap(Settings, (settings) => make({ inlineThreshold: settings.file.inlineThreshold }))
    )
