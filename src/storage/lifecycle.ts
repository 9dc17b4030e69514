/**
 * Sessions as a whole: deletion (with sub-sessions and everything they hold), retention, export
 * and import. Files are shared by sessions: they go with the last session that uses them, and travel
 * with every exported session that does. Content is append-only, and the database's guards refuse deletes — except of the
 * rows of a session whose id sits in `session_deletions`. A deletion writes that marker, deletes,
 * and removes the marker in one transaction, so no marker outlives it and no other delete passes.
 *
 * @internal
 */
import { Clock, Effect, Schema, Stream } from "effect"
import { ARCHIVE_VERSION, type ArchiveRecord } from "../Archive.js"
import type { FileId, SessionId } from "../Domain.js"
import {
  FileId as FileIdSchema,
  MessageId as MessageIdSchema,
  SessionId as SessionIdSchema,
  Timestamp
} from "../Domain.js"
import { InvalidInput, SessionExists, SessionNotFound } from "../Errors.js"
import { FileSymbols } from "../files/Symbols.js"
import type { Service } from "../Storage.js"
import { decodeAll, encodeCompactionResult, MESSAGE_COLUMNS, partInsertRow } from "./rows.js"
import type { Context } from "./SqlStore.js"

const TreeRow = Schema.Struct({ id: SessionIdSchema })
const RootRow = Schema.Struct({ root: SessionIdSchema })
const TouchedRow = Schema.Struct({ touched: Schema.NullOr(Timestamp) })
const FileRefRow = Schema.Struct({ file_id: FileIdSchema })

/** Messages exported per page. */
const PAGE = 200
/** File pieces (about 64 KB each) exported per page. */
const CHUNKS_PER_PAGE = 16

type Lifecycle = Pick<
  Service,
  "deleteSession" | "deleteSessionsUntouchedSince" | "exportSession" | "importSession"
>

export const make = (ctx: Context): Lifecycle => {
  const { dialect, rows, sql } = ctx
  const decodeTree = decodeAll(TreeRow)
  const decodeRoots = decodeAll(RootRow)
  const decodeTouched = decodeAll(TouchedRow)
  const decodeFileRefs = decodeAll(FileRefRow)
  const decodeSessions = decodeAll(rows.SessionRow)
  const ExtraRow = Schema.Struct({
    id: MessageIdSchema,
    in_context: dialect.columns.Bool,
    context_tokens: Schema.Int
  })
  const decodeExtras = decodeAll(ExtraRow)
  const decodeSummaries = decodeAll(rows.SummaryRow)
  const decodeSources = decodeAll(rows.SourceRow)
  const decodeItems = decodeAll(rows.ContextItemRow)
  const decodeSnapshots = decodeAll(rows.SnapshotRow)
  const decodeFiles = decodeAll(rows.FileReferenceRow)
  const decodeContents = decodeAll(Schema.Struct({
    byte_length: Schema.NonNegativeInt,
    line_count: Schema.NonNegativeInt,
    is_text: dialect.columns.Bool,
    symbols: Schema.NullOr(dialect.columns.Json(FileSymbols))
  }))
  const decodeChunks = decodeAll(Schema.Struct({
    ord: Schema.NonNegativeInt,
    first_line: Schema.NonNegativeInt,
    line_count: Schema.NonNegativeInt,
    content: Schema.Uint8ArrayFromSelf
  }))

  /** A session and its sub-sessions, parents before children. */
  const tree = (id: SessionId) =>
    Effect.flatMap(
      sql`WITH RECURSIVE tree(id, depth) AS (
          SELECT id, 0 FROM sessions WHERE id = ${id}
          UNION ALL
          SELECT s.id, tree.depth + 1 FROM sessions s JOIN tree ON s.parent_id = tree.id
        )
        SELECT id FROM tree ORDER BY depth, id`,
      decodeTree
    ).pipe(Effect.map((found) => found.map((row) => row.id)))

  const inList = (ids: ReadonlyArray<string>) => sql`(SELECT j.value FROM ${dialect.idList(ids)})`

  /** The file ids that file_ref parts of these sessions (or, with `except`, of every other session) use. */
  const fileRefs = (ids: ReadonlyArray<SessionId>, except: boolean) =>
    Effect.flatMap(
      sql`SELECT DISTINCT ${sql.literal(dialect.jsonField("content", "fileId"))} AS file_id FROM parts
        WHERE type = 'file_ref' AND session_id ${sql.literal(except ? "NOT IN" : "IN")} ${inList(ids)}`,
      decodeFileRefs
    ).pipe(Effect.map((found) => new Set<FileId>(found.map((row) => row.file_id))))

  /** Deletes every row of these sessions; the caller is inside a transaction holding the first one's row. */
  const remove = (ids: ReadonlyArray<SessionId>) =>
    Effect.gen(function*() {
      const files = yield* fileRefs(ids, false)
      yield* sql`INSERT INTO session_deletions (session_id) SELECT j.value FROM ${dialect.idList(ids)}`
      yield* dialect.search.forget(ids)
      yield* sql`DELETE FROM context_items WHERE session_id IN ${inList(ids)}`
      yield* sql`DELETE FROM turn_snapshots WHERE session_id IN ${inList(ids)}`
      yield* sql`DELETE FROM summary_sources
        WHERE summary_id IN (SELECT id FROM summary_nodes WHERE session_id IN ${inList(ids)})`
      yield* sql`DELETE FROM summary_nodes WHERE session_id IN ${inList(ids)}`
      yield* sql`DELETE FROM parts WHERE session_id IN ${inList(ids)}`
      yield* sql`DELETE FROM messages WHERE session_id IN ${inList(ids)}`
      // the operator runs these sessions started go with them
      yield* sql`DELETE FROM operator_run_items
        WHERE run_id IN (SELECT id FROM operator_runs WHERE session_id IN ${inList(ids)})`
      yield* sql`DELETE FROM operator_runs WHERE session_id IN ${inList(ids)}`
      yield* sql`DELETE FROM sessions WHERE id IN ${inList(ids)}`
      yield* sql`DELETE FROM session_deletions WHERE session_id IN ${inList(ids)}`
      // files are shared; those no remaining session uses go with the last one using them
      if (files.size > 0) {
        const used = yield* fileRefs(ids, true)
        yield* removeFiles([...files].filter((id) => !used.has(id)))
      }
    })

  /** Deletes files: their pieces, their content rows and their references. */
  const removeFiles = (ids: ReadonlyArray<FileId>) =>
    ids.length === 0 ? Effect.void : Effect.gen(function*() {
      yield* sql`DELETE FROM file_chunks WHERE file_id IN ${inList(ids)}`
      yield* sql`DELETE FROM file_contents WHERE id IN ${inList(ids)}`
      yield* sql`DELETE FROM file_references WHERE id IN ${inList(ids)}`
    })

  /**
   * Files stored before `cutoff` that no session's parts use (ingested but never attached, or left
   * by a session deleted before contents were kept), in one transaction. A file stored since the
   * cutoff may be on its way into a message: it stays.
   */
  const removeUnusedFiles = (cutoff: number) =>
    Effect.gen(function*() {
      const stored = yield* Effect.flatMap(
        sql`SELECT id AS file_id FROM file_references WHERE created_at < ${cutoff}
          UNION SELECT id AS file_id FROM file_contents WHERE created_at < ${cutoff}`,
        decodeFileRefs
      )
      if (stored.length === 0) return
      const used = yield* Effect.flatMap(
        sql`SELECT DISTINCT ${sql.literal(dialect.jsonField("content", "fileId"))} AS file_id FROM parts
          WHERE type = 'file_ref'`,
        decodeFileRefs
      ).pipe(Effect.map((found) => new Set<FileId>(found.map((row) => row.file_id))))
      yield* removeFiles(stored.map((row) => row.file_id).filter((id) => !used.has(id)))
    })

  /** Locks a session's row (the first write of the transaction); false when it does not exist. */
  const lock = (id: SessionId) =>
    Effect.map(
      sql`UPDATE sessions SET context_version = context_version + 1 WHERE id = ${id} RETURNING id`,
      (found) => found.length > 0
    )

  const deleteSession: Service["deleteSession"] = (id) =>
    ctx.transaction(
      "deleteSession",
      Effect.gen(function*() {
        if (!(yield* lock(id))) return yield* new SessionNotFound({ sessionId: id })
        const ids = yield* tree(id)
        yield* remove(ids)
        return ids
      })
    )

  const deleteSessionsUntouchedSince: Service["deleteSessionsUntouchedSince"] = (cutoff) =>
    Effect.gen(function*() {
      const roots = yield* ctx.query(
        "deleteSessionsUntouchedSince",
        Effect.flatMap(
          sql`WITH RECURSIVE tree(root, id) AS (
              SELECT id, id FROM sessions WHERE parent_id IS NULL
              UNION ALL
              SELECT tree.root, s.id FROM sessions s JOIN tree ON s.parent_id = tree.id
            )
            SELECT tree.root AS root FROM tree JOIN sessions s ON s.id = tree.id
            GROUP BY tree.root HAVING max(s.updated_at) < ${cutoff}`,
          decodeRoots
        )
      )
      const deleted: Array<SessionId> = []
      // one transaction per tree: a long retention pass never holds the write lock for long
      for (const { root } of roots) {
        const ids = yield* ctx.transaction(
          "deleteSessionsUntouchedSince",
          Effect.gen(function*() {
            if (!(yield* lock(root))) return []
            const ids = yield* tree(root)
            // touched meanwhile (the lock above moved no timestamp): keep it
            const [touched] = yield* Effect.flatMap(
              sql`SELECT max(updated_at) AS touched FROM sessions WHERE id IN ${inList(ids)}`,
              decodeTouched
            )
            if ((touched?.touched ?? 0) >= cutoff) return []
            yield* remove(ids)
            return ids
          })
        )
        deleted.push(...ids)
      }
      yield* ctx.transaction("deleteSessionsUntouchedSince", removeUnusedFiles(cutoff))
      return deleted
    })

  /** A file's content as a `file_content` record and its pieces, a few at a time (none when not stored). */
  const exportContent = <E, R>(
    id: FileId,
    write: (records: ReadonlyArray<ArchiveRecord>) => Effect.Effect<void, E, R>
  ) =>
    Effect.gen(function*() {
      const [content] = yield* Effect.flatMap(
        sql`SELECT byte_length, line_count, is_text, symbols FROM file_contents WHERE id = ${id}`,
        decodeContents
      )
      if (content === undefined) return
      yield* write([{
        type: "file_content",
        id,
        byteLength: content.byte_length,
        lineCount: content.line_count,
        text: content.is_text,
        ...(content.symbols === null ? {} : { symbols: content.symbols })
      }])
      let after = -1
      for (;;) {
        const pieces = yield* Effect.flatMap(
          sql`SELECT ord, first_line, line_count, content FROM file_chunks
            WHERE file_id = ${id} AND ord > ${after} ORDER BY ord LIMIT ${CHUNKS_PER_PAGE}`,
          decodeChunks
        )
        if (pieces.length === 0) return
        yield* write(pieces.map((piece): ArchiveRecord => ({
          type: "file_chunk",
          id,
          ord: piece.ord,
          firstLine: piece.first_line,
          lineCount: piece.line_count,
          data: piece.content
        })))
        after = pieces[pieces.length - 1]!.ord
      }
    })

  const exportSession: Service["exportSession"] = (id, write) =>
    ctx.transaction(
      "exportSession",
      Effect.gen(function*() {
        const ids = yield* tree(id)
        if (ids.length === 0) return yield* new SessionNotFound({ sessionId: id })
        const sessions = yield* Effect.flatMap(
          sql`SELECT s.* FROM ${dialect.idList(ids)} JOIN sessions s ON s.id = j.value ORDER BY j.key`,
          decodeSessions
        )
        const exportedAt = yield* Clock.currentTimeMillis
        yield* write([
          { type: "archive", format: "mnesis-session", version: ARCHIVE_VERSION, exportedAt },
          ...sessions.map((row): ArchiveRecord => ({
            type: "session",
            session: rows.toSession(row),
            nextPosition: row.next_position,
            contextVersion: row.context_version
          }))
        ])
        const files = new Set<FileId>()
        for (const sessionId of ids) {
          let after = 0
          for (;;) {
            const found = yield* sql`SELECT ${sql.literal(MESSAGE_COLUMNS)}, m.in_context, m.context_tokens
              FROM (SELECT * FROM messages WHERE session_id = ${sessionId} AND seq > ${after}
                    ORDER BY seq LIMIT ${PAGE}) m
              LEFT JOIN parts p ON p.message_id = m.id
              ORDER BY m.seq, p.idx`
            const messages = yield* rows.groupMessages(found)
            if (messages.length === 0) break
            const extras = new Map((yield* decodeExtras(found)).map((row) => [row.id, row]))
            yield* write(messages.map((message): ArchiveRecord => {
              for (const part of message.parts) if (part.type === "file_ref") files.add(part.fileId)
              const extra = extras.get(message.id)
              return {
                type: "message",
                message,
                inContext: extra?.in_context ?? false,
                contextTokens: extra?.context_tokens ?? 0
              }
            }))
            after = messages[messages.length - 1]!.seq
          }
          const summaries = yield* Effect.flatMap(
            sql`SELECT n.* FROM summary_nodes n JOIN messages m ON m.id = n.message_id
              WHERE n.session_id = ${sessionId} ORDER BY m.seq`,
            decodeSummaries
          )
          const sources = yield* Effect.flatMap(
            sql`SELECT s.summary_id, s.source_type, s.source_id FROM summary_sources s
              JOIN summary_nodes n ON n.id = s.summary_id WHERE n.session_id = ${sessionId}
              ORDER BY s.summary_id, s.ord`,
            decodeSources
          )
          yield* write(summaries.map((row): ArchiveRecord => {
            const own = sources.filter((source) => source.summary_id === row.id)
            return {
              type: "summary",
              summary: rows.toSummary(
                row,
                own.flatMap((source) => source.source_type === "summary" ? [source.source_id] : [])
              ),
              sources: own.map(rows.toSource)
            }
          }))
          const items = yield* Effect.flatMap(
            sql`SELECT position, item_type, item_id, role, token_count FROM context_items
              WHERE session_id = ${sessionId} ORDER BY position`,
            decodeItems
          )
          const snapshots = yield* Effect.flatMap(
            sql`SELECT * FROM turn_snapshots WHERE session_id = ${sessionId} ORDER BY turn`,
            decodeSnapshots
          )
          yield* write([
            ...items.map((row): ArchiveRecord => ({
              type: "context_item",
              sessionId,
              item: rows.toContextItem(row)
            })),
            ...snapshots.map((row): ArchiveRecord => ({
              type: "snapshot",
              sessionId,
              snapshot: rows.toSnapshot(row)
            }))
          ])
        }
        if (files.size > 0) {
          const refs = yield* Effect.flatMap(
            sql`SELECT * FROM file_references WHERE id IN ${inList([...files])} ORDER BY id`,
            decodeFiles
          )
          yield* write(refs.map((row): ArchiveRecord => ({ type: "file", file: rows.toFileReference(row) })))
          for (const ref of refs) yield* exportContent(ref.id, write)
        }
      })
    )

  const importSession: Service["importSession"] = (records) =>
    ctx.transaction(
      "importSession",
      Effect.gen(function*() {
        const imported: Array<SessionId> = []
        const known = new Set<string>()
        const superseded: Array<readonly [string, string]> = []
        /** Contents written by this import, with the bytes their pieces brought so far. */
        const contents = new Map<string, { readonly expected: number; received: number }>()
        let header = false
        const invalid = (reason: string) => new InvalidInput({ field: "archive", reason })
        const own = (sessionId: string) =>
          known.has(sessionId)
            ? Effect.void
            : Effect.fail(invalid(`a record of session ${sessionId} comes before that session's record`))

        const write = (record: ArchiveRecord) =>
          Effect.gen(function*() {
            if (record.type === "archive") {
              if (record.version > ARCHIVE_VERSION) {
                return yield* invalid(
                  `the archive has version ${record.version}; this mnesis reads up to ${ARCHIVE_VERSION}`
                )
              }
              header = true
              return
            }
            if (!header) return yield* invalid("the first record must be the archive header")
            switch (record.type) {
              case "session": {
                const s = record.session
                const exists = yield* sql`SELECT id FROM sessions WHERE id = ${s.id}`
                if (exists.length > 0) return yield* new SessionExists({ sessionId: s.id })
                if (s.parentId !== undefined && !known.has(s.parentId)) {
                  const parent = yield* sql`SELECT id FROM sessions WHERE id = ${s.parentId}`
                  if (parent.length === 0) return yield* new SessionNotFound({ sessionId: s.parentId })
                }
                yield* sql`INSERT INTO sessions (id, parent_id, model, agent, system_prompt, metadata, created_at,
                    updated_at, next_seq, next_position, context_version, tokens_input, tokens_output,
                    tokens_cache_read, tokens_cache_write, tokens_total, cost)
                  VALUES (${s.id}, ${s.parentId ?? null}, ${s.model}, ${s.agent}, ${s.systemPrompt},
                    ${
                  s.metadata === undefined ? null : dialect.json(s.metadata)
                }, ${s.createdAt}, ${s.updatedAt},
                    ${s.messageCount}, ${record.nextPosition}, ${record.contextVersion}, ${s.tokens.input},
                    ${s.tokens.output}, ${s.tokens.cacheRead}, ${s.tokens.cacheWrite}, ${s.tokens.total}, ${s.cost})`
                known.add(s.id)
                imported.push(s.id)
                return
              }
              case "message": {
                const m = record.message
                yield* own(m.sessionId)
                yield* sql`INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at,
                    tokens_input, tokens_output, tokens_cache_read, tokens_cache_write, tokens_total, cost,
                    finish_reason, error, in_context, context_tokens)
                  VALUES (${m.id}, ${m.sessionId}, ${m.seq}, ${m.role}, ${m.agent}, ${m.model}, ${m.isSummary},
                    ${m.createdAt}, ${m.tokens.input}, ${m.tokens.output}, ${m.tokens.cacheRead},
                    ${m.tokens.cacheWrite}, ${m.tokens.total}, ${m.cost}, ${m.finishReason ?? null},
                    ${m.error === undefined ? null : dialect.json(m.error)}, ${record.inContext},
                    ${record.contextTokens})`
                if (m.parts.length > 0) {
                  yield* sql`INSERT INTO parts ${
                    sql.insert(m.parts.map((part, idx) => partInsertRow(dialect.json, m, part, idx)))
                  }`
                }
                return
              }
              case "summary": {
                const n = record.summary
                yield* own(n.sessionId)
                yield* sql`INSERT INTO summary_nodes (id, session_id, message_id, kind, depth, level, content,
                    token_count, span_start, span_end, span_start_seq, span_end_seq, message_count, file_ids,
                    model, created_at)
                  VALUES (${n.id}, ${n.sessionId}, ${n.messageId}, ${n.kind}, ${n.depth}, ${n.level}, ${n.content},
                    ${n.tokenCount}, ${n.spanStart}, ${n.spanEnd}, ${n.spanStartSeq}, ${n.spanEndSeq},
                    ${n.messageCount}, ${dialect.json(n.fileIds)}, ${n.model}, ${n.createdAt})`
                if (record.sources.length > 0) {
                  yield* sql`INSERT INTO summary_sources ${
                    sql.insert(record.sources.map((source, ord) => ({
                      summary_id: n.id,
                      ord,
                      source_type: source.kind,
                      source_id: source.id
                    })))
                  }`
                }
                // the node that supersedes this one may come later in the archive
                if (n.supersededBy !== undefined) superseded.push([n.id, n.supersededBy])
                return
              }
              case "context_item": {
                yield* own(record.sessionId)
                const item = record.item
                yield* sql`INSERT INTO context_items (session_id, position, item_type, item_id, role, token_count)
                  VALUES (${record.sessionId}, ${item.position}, ${item.kind}, ${item.id}, ${
                  item.role ?? null
                },
                    ${item.tokenCount})`
                return
              }
              case "snapshot": {
                yield* own(record.sessionId)
                const snapshot = record.snapshot
                yield* sql`INSERT INTO turn_snapshots (session_id, turn, message_id, context, compaction_triggered,
                    compaction_result, created_at)
                  VALUES (${record.sessionId}, ${snapshot.turn}, ${snapshot.messageId},
                    ${dialect.json(snapshot.context)}, ${snapshot.compactionTriggered},
                    ${
                  snapshot.compactionResult === undefined
                    ? null
                    : dialect.json(encodeCompactionResult(snapshot.compactionResult))
                }, ${snapshot.createdAt})`
                return
              }
              case "file": {
                const f = record.file
                yield* sql`INSERT INTO file_references (id, path, file_type, token_count, summary, created_at)
                  VALUES (${f.id}, ${f.path}, ${f.fileType}, ${f.tokenCount}, ${f.summary}, ${f.createdAt})
                  ON CONFLICT (id) DO NOTHING`
                return
              }
              case "file_content": {
                // a content already here is the same bytes (same id): it stays, its pieces are skipped
                const inserted =
                  yield* sql`INSERT INTO file_contents (id, byte_length, line_count, is_text, symbols,
                    created_at)
                  VALUES (${record.id}, ${record.byteLength}, ${record.lineCount}, ${record.text},
                    ${record.symbols === undefined ? null : dialect.json(record.symbols)}, ${yield* Clock
                    .currentTimeMillis})
                  ON CONFLICT (id) DO NOTHING
                  RETURNING id`
                if (inserted.length > 0) contents.set(record.id, { expected: record.byteLength, received: 0 })
                return
              }
              case "file_chunk": {
                const content = contents.get(record.id)
                if (content === undefined) return
                yield* sql`INSERT INTO file_chunks (file_id, ord, first_line, line_count, content)
                  VALUES (${record.id}, ${record.ord}, ${record.firstLine}, ${record.lineCount}, ${record.data})`
                content.received += record.data.length
                return
              }
            }
          })

        yield* Stream.runForEach(records, write)
        for (const [id, content] of contents) {
          if (content.received !== content.expected) {
            return yield* invalid(
              `the content of ${id} holds ${content.received} bytes, its record says ${content.expected}`
            )
          }
        }
        for (const [id, by] of superseded) {
          yield* sql`UPDATE summary_nodes SET superseded_by = ${by} WHERE id = ${id}`
        }
        if (imported.length === 0) return yield* invalid("the archive holds no session")
        return imported
      })
    )

  return { deleteSession, deleteSessionsUntouchedSince, exportSession, importSession }
}
