/**
 * Sessions as files: a session with its sub-sessions exported to JSON Lines and imported into
 * another database with every id, counter, summary and provenance row as it was. One record per
 * line, each a JSON object with a `type`: the `archive` header first, then `session` records
 * (parents before children), then per session its `message`s (with their parts), `summary` nodes
 * (with their provenance), `context_item`s and `snapshot`s, and the `file` references they use
 * with their contents (`file_content` and its `file_chunk`s), so the files still expand after an
 * import.
 *
 * @since 0.1.0
 */
import { Effect, Either, ParseResult, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodeReadline from "node:readline"
import {
  ContextItem,
  FileId,
  FileReference,
  Message,
  MessageId,
  SessionId,
  SessionInfo,
  SummaryId,
  SummaryNode,
  Timestamp,
  TurnSnapshot
} from "./Domain.js"
import { ArchiveFileError, InvalidInput } from "./Errors.js"
import { FileSymbols } from "./files/Symbols.js"
import { Storage } from "./Storage.js"

/**
 * The archive format's version; `importSession` refuses archives of a newer one. Version 2 added
 * file contents (version 1 archives carry references only, and still import).
 */
export const ARCHIVE_VERSION = 2

const Count = Schema.NonNegativeInt

/** The first line of an archive. */
export const ArchiveHeader = Schema.Struct({
  type: Schema.Literal("archive"),
  format: Schema.Literal("mnesis-session"),
  version: Schema.Int,
  exportedAt: Timestamp
})

/** A session with the counters the store keeps for it. */
export const SessionRecord = Schema.Struct({
  type: Schema.Literal("session"),
  session: SessionInfo,
  nextPosition: Count,
  contextVersion: Count
})

/** A message with its parts, as stored (tool results and tombstones included). */
export const MessageRecord = Schema.Struct({
  type: Schema.Literal("message"),
  message: Message,
  inContext: Schema.Boolean,
  contextTokens: Count
})

/** A summary node with its provenance, in order. */
export const SummaryRecord = Schema.Struct({
  type: Schema.Literal("summary"),
  summary: SummaryNode,
  sources: Schema.Array(Schema.Union(
    Schema.Struct({ kind: Schema.Literal("message"), id: MessageId }),
    Schema.Struct({ kind: Schema.Literal("summary"), id: SummaryId })
  ))
})

export const ContextItemRecord = Schema.Struct({
  type: Schema.Literal("context_item"),
  sessionId: SessionId,
  item: ContextItem
})

export const SnapshotRecord = Schema.Struct({
  type: Schema.Literal("snapshot"),
  sessionId: SessionId,
  snapshot: TurnSnapshot
})

export const FileRecord = Schema.Struct({
  type: Schema.Literal("file"),
  file: FileReference
})

/** A file's content facts; its bytes follow in `file_chunk` records, in order. */
export const FileContentRecord = Schema.Struct({
  type: Schema.Literal("file_content"),
  id: FileId,
  byteLength: Count,
  lineCount: Count,
  text: Schema.Boolean,
  symbols: Schema.optional(FileSymbols)
})

/** One piece of a file's content (see `Storage.Files`), base64 in the archive. */
export const FileChunkRecord = Schema.Struct({
  type: Schema.Literal("file_chunk"),
  id: FileId,
  ord: Count,
  firstLine: Count,
  lineCount: Count,
  data: Schema.Uint8ArrayFromBase64
})

/**
 * One line of an archive.
 *
 * @since 0.1.0
 */
export const ArchiveRecord = Schema.Union(
  ArchiveHeader,
  SessionRecord,
  MessageRecord,
  SummaryRecord,
  ContextItemRecord,
  SnapshotRecord,
  FileRecord,
  FileContentRecord,
  FileChunkRecord
)
export type ArchiveRecord = typeof ArchiveRecord.Type

const Line = Schema.parseJson(ArchiveRecord)
const encodeLine = Schema.encodeSync(Line)
const decodeLine = Schema.decodeUnknownEither(Line)

/** A record as one JSON line (without the newline). */
export const toLine = (record: ArchiveRecord): string => encodeLine(record)

/** Decodes archive lines (blank lines skipped); a line that is not a record fails naming its number. */
export const fromLines = <E, R>(
  lines: Stream.Stream<string, E, R>
): Stream.Stream<ArchiveRecord, E | InvalidInput, R> =>
  lines.pipe(
    Stream.zipWithIndex,
    Stream.filter(([line]) => line.trim() !== ""),
    Stream.mapEffect(([line, index]) =>
      Either.match(decodeLine(line), {
        onLeft: (error) =>
          Effect.fail(
            new InvalidInput({
              field: `archive line ${index + 1}`,
              reason: ParseResult.TreeFormatter.formatErrorSync(error)
            })
          ),
        onRight: Effect.succeed
      })
    )
  )

/**
 * A session with its sub-sessions as JSON Lines text.
 *
 * @since 0.1.0
 */
export const exportJsonl = (id: SessionId) =>
  Effect.gen(function*() {
    const store = yield* Storage
    const lines: Array<string> = []
    yield* store.exportSession(id, (records) => Effect.sync(() => lines.push(...records.map(toLine))))
    return lines.join("\n") + "\n"
  })

/**
 * Imports JSON Lines text written by `exportJsonl` or `exportToFile`; returns the sessions' ids.
 *
 * @since 0.1.0
 */
export const importJsonl = (text: string) =>
  Effect.flatMap(Storage, (store) => store.importSession(fromLines(Stream.fromIterable(text.split("\n")))))

/**
 * Writes a session with its sub-sessions to a JSON Lines file (replaced if it exists), page by page.
 *
 * @since 0.1.0
 */
export const exportToFile = (id: SessionId, path: string) =>
  Effect.gen(function*() {
    const store = yield* Storage
    const fail = (cause: unknown) =>
      new ArchiveFileError({ path, reason: cause instanceof Error ? cause.message : String(cause) })
    const fd = yield* Effect.acquireRelease(
      Effect.try({ try: () => NodeFs.openSync(path, "w"), catch: fail }),
      (fd) => Effect.sync(() => NodeFs.closeSync(fd))
    )
    yield* store.exportSession(id, (records) =>
      Effect.try({
        try: () => NodeFs.writeSync(fd, records.map((record) => toLine(record) + "\n").join("")),
        catch: fail
      }))
    yield* Effect.try({ try: () => NodeFs.fsyncSync(fd), catch: fail })
  }).pipe(Effect.scoped)

/**
 * Imports a JSON Lines archive file, reading it line by line; returns the sessions' ids.
 *
 * @since 0.1.0
 */
export const importFromFile = (path: string) =>
  Effect.gen(function*() {
    const store = yield* Storage
    const fail = (cause: unknown) =>
      new ArchiveFileError({ path, reason: cause instanceof Error ? cause.message : String(cause) })
    yield* Effect.try({ try: () => NodeFs.accessSync(path, NodeFs.constants.R_OK), catch: fail })
    const lines = Stream.fromAsyncIterable(
      NodeReadline.createInterface({ input: NodeFs.createReadStream(path), crlfDelay: Infinity }),
      fail
    )
    return yield* store.importSession(fromLines(lines))
  })
