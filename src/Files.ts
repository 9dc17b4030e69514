/**
 * Large files. `FileHandler.ingest` turns a file into what goes into a message: below
 * `inlineThreshold` tokens its text, at or above it a reference — `file_<sha256>` id, path,
 * detected type, token count and a structural summary built by a real parser — with the bytes
 * stored once per id in the store (`Storage.Files`), so the model can read the file back
 * (`describe` / `expand`) after it changed or was deleted on disk. Binary files (and SQLite
 * databases) always become references: their bytes never enter a context.
 *
 * Ingesting is two steps, so that a message with several files stores nothing until every file
 * is read: `prepare` reads, detects, counts and summarises (it only reads the store, to reuse a
 * summary), `save` writes the content and reference.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer } from "effect"
import * as NodeFs from "node:fs/promises"
import { Settings } from "./Config.js"
import { FileReference } from "./Domain.js"
import { FileError } from "./Errors.js"
import { detect } from "./files/Detect.js"
import type { Within } from "./files/Digest.js"
import type * as Paging from "./files/Paging.js"
import * as Reader from "./files/Reader.js"
import * as Summarize from "./files/Summarize.js"
import { fromCode } from "./files/Symbols.js"
import type { Count, FileType } from "./files/types.js"
import * as Ids from "./internal/ids.js"
import * as Storage from "./Storage.js"
import { Tokenizer } from "./Tokenizer.js"

export { EXPAND_DEFAULT_TOKENS, type ExpandRequest } from "./files/Reader.js"
export type { FileType } from "./files/types.js"

/** Files of at least this many tokens become references (SPEC §9; `file.inlineThreshold`). */
export const DEFAULT_INLINE_THRESHOLD = 10_000
/** Larger files are refused with a `FileError` rather than read into memory (`file.maxFileBytes`). */
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
  readonly fileId: FileReference["id"]
  readonly path: string
  readonly fileType: string
  readonly fileTokens: number
  readonly summary: string
}

/** A file small enough to go into the message as its text. */
export interface Inline {
  readonly _tag: "Inline"
  readonly path: string
  readonly fileType: FileType
  readonly text: string
  readonly tokens: number
}

/** A file that goes into the message as a reference. */
export interface Reference {
  readonly _tag: "Reference"
  readonly reference: FileReference
  readonly part: FileRefInput
  /** The content was already stored (same bytes under this or another path): not summarised again. */
  readonly reused: boolean
}

/** What ingesting gave: the text itself, or a reference that stands in for it. */
export type Ingested = Inline | Reference

/** A read and summarised file, not stored yet (see `save`). */
export type Prepared = Inline | (Reference & { readonly file: Storage.NewFile })

export interface Service {
  /** Reads, detects, counts and (for a reference) summarises; writes nothing. */
  readonly prepare: (input: FileInput) => Effect.Effect<Prepared, FileError | Storage.StoreFailure>
  /** Stores a prepared reference's content and reference (nothing for inline text); idempotent. */
  readonly save: (prepared: Prepared) => Effect.Effect<void, Storage.StoreFailure>
  /** `prepare` then `save`. */
  readonly ingest: (input: FileInput) => Effect.Effect<Ingested, FileError | Storage.StoreFailure>
  /** The summary and facts of a stored file, as `describe file_…` shows them. */
  readonly describe: (id: string) => Effect.Effect<string, FileError | Storage.StoreFailure>
  /** One page of a stored file (or of one symbol of it). */
  readonly expand: (
    id: string,
    request?: Reader.ExpandRequest
  ) => Effect.Effect<Paging.ExpandFileResult, FileError | Storage.StoreFailure>
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
    // A FIFO or a device would block the read or never end: only regular files are read.
    if (!stat.isFile()) {
      return yield* new FileError({
        path,
        reason: "unreadable",
        detail: "not a regular file (a FIFO, socket or device)"
      })
    }
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

/** The text an inline file goes into a message as: its content framed by its path and type. */
export const renderInline = (file: Inline): string =>
  `[file path="${file.path}" type="${file.fileType}" tokens="${
    file.tokens.toLocaleString("en")
  }"]\n${file.text}\n[/file]`

/** How the handler counts tokens: a counter, and optionally one that stops past a limit. */
export interface Counting {
  readonly count: Count
  /** `false` above `limit`, otherwise the count (e.g. `Tokenizer.isWithinLimit`); `count` by default. */
  readonly isWithinLimit?: ((text: string, limit: number) => false | number) | undefined
}

/** The file handler over a store (a session's, or the layer's). */
export const make = (store: Storage.Service, counting: Counting, options: Options = {}): Service => {
  const { count } = counting
  const isWithinLimit = counting.isWithinLimit ?? ((text: string, limit: number) => {
    const n = count(text)
    return n <= limit ? n : false
  })
  const within: Within = (text, budget) => isWithinLimit(text, budget) !== false
  const inlineThreshold = options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD
  const summaryTokens = options.summaryTokens ?? Summarize.DEFAULT_SUMMARY_TOKENS
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES

  const prepare = (input: FileInput) =>
    Effect.gen(function*() {
      const bytes = yield* bytesOf(input, maxBytes)
      let text: string | undefined
      const decoded = () => (text ??= Summarize.decode(bytes))
      const detected = detect(input.path, bytes, decoded)
      const textual = detected.fileType !== "binary" && detected.fileType !== "sqlite"
      let tokens = 0
      if (textual) {
        // Strictly below the threshold goes inline; counting stops early past it.
        const below = isWithinLimit(decoded(), inlineThreshold - 1)
        if (below !== false) {
          return {
            _tag: "Inline",
            path: input.path,
            fileType: detected.fileType,
            text: decoded(),
            tokens: below
          } as const
        }
        tokens = count(decoded())
      }
      const id = Ids.fileId(bytes)
      const existing = yield* store.getFile(id)
      let symbols: Storage.NewFile["symbols"]
      const reference = existing?.reference ?? (yield* Effect.gen(function*() {
        const summary = yield* Summarize.summarize(
          { path: input.path, bytes, text: textual ? decoded() : undefined, detected },
          { budget: summaryTokens, count, within, maxParseChars: options.maxParseChars }
        )
        if (summary.outline !== undefined) symbols = fromCode(summary.outline.symbols)
        return new FileReference({
          id,
          path: input.path,
          fileType: summary.fileType,
          tokenCount: tokens,
          summary: summary.text,
          createdAt: yield* Clock.currentTimeMillis
        })
      }))
      const part: FileRefInput = {
        type: "file_ref",
        fileId: id,
        path: input.path,
        fileType: reference.fileType,
        // counted as this handler counts (a stored reference may have been counted for another model)
        fileTokens: textual ? tokens : reference.tokenCount,
        summary: reference.summary
      }
      return {
        _tag: "Reference",
        reference,
        part,
        reused: existing !== undefined,
        // (a reference an older store kept without its content gets the content now)
        file: { reference, content: bytes, text: textual, symbols }
      } as const
    }).pipe(
      Effect.withSpan("FileHandler.prepare", { attributes: { path: input.path }, captureStackTrace: false })
    )

  const save = (prepared: Prepared) =>
    prepared._tag === "Inline" ? Effect.void : Effect.asVoid(store.putFile(prepared.file))

  const ingest = (input: FileInput) =>
    Effect.flatMap(prepare(input), (prepared): Effect.Effect<Ingested, Storage.StoreFailure> => {
      if (prepared._tag === "Inline") return Effect.succeed(prepared)
      const { file: _, ...ingested } = prepared
      return Effect.as(save(prepared), ingested)
    })

  return {
    prepare,
    save,
    ingest,
    describe: (id) => Reader.describe(store, id),
    expand: (id, request) => Reader.expand(store, count, id, request)
  }
}

/** The handler over the `Tokenizer` service (its default encoding) and the `Storage` service. */
const fromServices = (options: Options) =>
  Effect.gen(function*() {
    const tokenizer = yield* Tokenizer
    const store = yield* Storage.Storage
    return make(store, {
      count: (text) => tokenizer.count(text),
      isWithinLimit: (text, limit) => tokenizer.isWithinLimit(text, limit)
    }, options)
  })

/**
 * The file handler over the `Storage` and `Tokenizer` services.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<FileHandler, never, Tokenizer | Storage.Storage> =>
  Layer.effect(FileHandler, fromServices(options))

/** The handler's options from the `file` section of a configuration. */
export const optionsOf = (file: {
  readonly inlineThreshold: number
  readonly summaryTokens: number
  readonly maxFileBytes: number
}): Options => ({
  inlineThreshold: file.inlineThreshold,
  summaryTokens: file.summaryTokens,
  maxFileBytes: file.maxFileBytes
})

/**
 * The file handler configured by the `file` section of the base configuration (`Settings`).
 *
 * @since 0.1.0
 */
export const layerFromSettings: Layer.Layer<FileHandler, never, Tokenizer | Storage.Storage | Settings> =
  Layer
    .effect(
      FileHandler,
      Effect.flatMap(Settings, (settings) => fromServices(optionsOf(settings.file)))
    )
