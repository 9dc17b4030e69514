/**
 * The SQLite store on Node's built-in `node:sqlite` (see sqlite/NodeSqliteClient.ts): one serialised connection per
 * store, WAL, foreign keys, a busy timeout so concurrent processes wait instead of failing, and
 * versioned migrations. SQLite specifics (FTS5 syntax, pragmas, json_each) live only here.
 *
 * Every write transaction starts with a write (bumping the session row): with a deferred `BEGIN`,
 * a transaction that read first could not take the write lock once another process had written,
 * and SQLite would fail it at once instead of waiting for the busy timeout.
 *
 * @internal
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option, type Scope } from "effect"
import type { FileId, MessageId, PartId, SessionId, SummaryId } from "../Domain.js"
import {
  type FileReference,
  Message,
  MESSAGE_OVERHEAD_TOKENS,
  type SessionInfo,
  TokenUsage
} from "../Domain.js"
import { type DatabaseCorrupt, type SchemaTooNew, SessionNotFound, StorageError } from "../Errors.js"
import type {
  CompactionCommit,
  CompactionStep,
  ContextItemsQuery,
  HistoryQuery,
  NewMessage,
  NewSession,
  NewTurnSnapshot,
  ScannedText,
  SearchHit,
  SearchQuery,
  Service,
  SummarySource,
  ToolPartUpdate
} from "../Storage.js"
import { searchBody } from "./migrations.js"
import { causeMessage, fromCause, migrate, preflight } from "./open.js"
import {
  decodeAll,
  decodeFileReference,
  decodeSession,
  decodeSnapshot,
  decodeSummary,
  decodeToolPart,
  encodeCompactionResult,
  groupMessages,
  MESSAGE_COLUMNS,
  type MessagePartRow,
  partContent,
  partObject,
  type PartRow,
  sessionObject,
  type SessionRow,
  snapshotObject,
  type SnapshotRow,
  SUMMARY_COLUMNS,
  summaryObject,
  type SummaryRow,
  unreadable
} from "./rows.js"
import { buildMatchQuery } from "./searchQuery.js"
import * as NodeSqliteClient from "./sqlite/NodeSqliteClient.js"

export interface Options {
  readonly filename: string
  readonly walMode?: boolean | undefined
  readonly busyTimeoutMs?: number | undefined
  readonly onCompactionStep?: ((step: CompactionStep) => Effect.Effect<void, StorageError>) | undefined
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

const hasCause = (u: unknown): u is { readonly cause: unknown } =>
  typeof u === "object" && u !== null && "cause" in u

export const make = (
  options: Options
): Effect.Effect<Service, StorageError | DatabaseCorrupt | SchemaTooNew, Scope.Scope> =>
  Effect.gen(function*() {
    const path = options.filename
    yield* preflight(path)

    const sql = yield* NodeSqliteClient.make({
      filename: path,
      walMode: options.walMode,
      busyTimeoutMs: options.busyTimeoutMs
    }).pipe(
      Effect.catchTag("SqlError", (error) => Effect.fail(fromCause(path, "open", error.cause))),
      Effect.catchAllDefect((defect) => Effect.fail(fromCause(path, "open", defect)))
    )
    const fail = (operation: string) => (error: SqlError) =>
      Effect.fail(fromCause(path, operation, error.cause))

    yield* Effect.all([
      sql.unsafe("PRAGMA foreign_keys = ON"),
      sql.unsafe("PRAGMA synchronous = NORMAL")
    ]).pipe(Effect.catchTag("SqlError", fail("open")))
    yield* migrate(sql, path)

    const step = (name: CompactionStep) => options.onCompactionStep?.(name) ?? Effect.void

    /** Runs `body` as one statement group, mapping driver errors for `operation`. */
    const query = <A, E extends { readonly _tag: string }, R>(
      operation: string,
      body: Effect.Effect<A, E | SqlError, R>
    ): Effect.Effect<A, Exclude<E, SqlError> | StorageError | DatabaseCorrupt, R> =>
      body.pipe(
        Effect.catchIf((error): error is SqlError => error._tag === "SqlError", fail(operation)),
        Effect.withSpan(`Storage.${operation}`, { captureStackTrace: false })
      )

    /**
     * Runs `body` in one transaction, mapping driver errors for `operation`. A failed COMMIT or
     * ROLLBACK surfaces from `@effect/sql` as a defect; it is a storage failure here too.
     */
    const transaction = <A, E extends { readonly _tag: string }, R>(
      operation: string,
      body: Effect.Effect<A, E | SqlError, R>
    ) =>
      query(operation, sql.withTransaction(body)).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.fail(fromCause(path, operation, hasCause(defect) ? defect.cause : defect))
        )
      )

    const selectSession = (
      id: string
    ): Effect.Effect<SessionInfo, SessionNotFound | StorageError | SqlError> =>
      Effect.flatMap(
        sql<SessionRow>`SELECT * FROM sessions WHERE id = ${id}`,
        (rows): Effect.Effect<SessionInfo, SessionNotFound | StorageError> =>
          rows[0] === undefined
            ? Effect.fail(new SessionNotFound({ sessionId: id }))
            : Effect.mapError(decodeSession(sessionObject(rows[0])), unreadable("read session"))
      )

    const createSession = (input: NewSession) =>
      transaction(
        "createSession",
        Effect.gen(function*() {
          if (input.parentId !== undefined) {
            const parent = yield* sql<
              { n: number }
            >`SELECT count(*) AS n FROM sessions WHERE id = ${input.parentId}`
            if ((parent[0]?.n ?? 0) === 0) return yield* new SessionNotFound({ sessionId: input.parentId })
          }
          yield* sql`INSERT INTO sessions (id, parent_id, model, agent, system_prompt, metadata, created_at, updated_at)
            VALUES (${input.id}, ${
            input.parentId ?? null
          }, ${input.model}, ${input.agent}, ${input.systemPrompt},
              ${input.metadata === undefined ? null : JSON.stringify(input.metadata)}, ${input.createdAt},
              ${input.createdAt})`
          return yield* selectSession(input.id)
        })
      )

    const getSession = (id: SessionId) => query("getSession", selectSession(id))

    const listSessions: Service["listSessions"] = (q = {}) =>
      query(
        "listSessions",
        Effect.flatMap(
          q.parentId === undefined
            ? sql<SessionRow>`SELECT * FROM sessions ORDER BY created_at DESC, id DESC
                LIMIT ${q.limit ?? 100} OFFSET ${q.offset ?? 0}`
            : sql<
              SessionRow
            >`SELECT * FROM sessions WHERE parent_id = ${q.parentId} ORDER BY created_at DESC, id DESC
                LIMIT ${q.limit ?? 100} OFFSET ${q.offset ?? 0}`,
          (rows) => decodeAll(rows, sessionObject, decodeSession, "listSessions")
        )
      )

    /** Inserts parts (a trigger indexes them for search); the caller is inside a transaction. */
    const insertParts = (message: Pick<NewMessage, "id" | "sessionId" | "parts">) =>
      Effect.gen(function*() {
        if (message.parts.length === 0) return
        const rows = message.parts.map((part, idx) => ({
          id: part.id,
          message_id: message.id,
          session_id: message.sessionId,
          idx,
          type: part.type,
          content: JSON.stringify(partContent(part)),
          token_count: part.tokenCount,
          tool_call_id: part.type === "tool" ? part.toolCallId : null,
          tool_name: part.type === "tool" ? part.toolName : null,
          tool_status: part.type === "tool" ? part.status : null,
          tool_output: part.type === "tool" ? part.output ?? null : null,
          tool_error: part.type === "tool" ? part.error ?? null : null,
          started_at: part.type === "tool" ? part.startedAt ?? null : null,
          completed_at: part.type === "tool" ? part.completedAt ?? null : null
        }))
        yield* sql`INSERT INTO parts ${sql.insert(rows)}`
      })

    const appendMessage = (message: NewMessage) =>
      query(
        "appendMessage",
        Effect.gen(function*() {
          const tokens = message.tokens
          const snapshot = message.snapshot
          const parts = message.parts.map((part) => ({
            id: part.id,
            type: part.type,
            content: partContent(part),
            tokenCount: part.tokenCount,
            ...(part.type === "tool" ?
              {
                toolCallId: part.toolCallId,
                toolName: part.toolName,
                status: part.status,
                output: part.output,
                error: part.error,
                startedAt: part.startedAt,
                completedAt: part.completedAt
              } :
              {})
          }))
          // One statement (see the message_appends view): atomic without a transaction.
          yield* sql`INSERT INTO message_appends (id, session_id, role, agent, model, created_at, tokens_input,
              tokens_output, tokens_cache_read, tokens_cache_write, tokens_total, cost, finish_reason, error,
              in_context, context_tokens, parts, snapshot)
            VALUES (${message.id}, ${message.sessionId}, ${message.role}, ${message.agent}, ${message.model},
              ${message.createdAt}, ${tokens?.input ?? 0}, ${tokens?.output ?? 0}, ${tokens?.cacheRead ?? 0},
              ${tokens?.cacheWrite ?? 0}, ${tokens?.total ?? 0}, ${message.cost ?? 0}, ${
            message.finishReason ?? null
          },
              ${message.error === undefined ? null : JSON.stringify(message.error)}, ${
            message.inContext === false ? 0 : 1
          },
              ${message.parts.reduce((sum, part) => sum + part.tokenCount, MESSAGE_OVERHEAD_TOKENS)},
              ${JSON.stringify(parts)},
              ${
            snapshot === undefined
              ? null
              : JSON.stringify({
                ...snapshot,
                compactionResult: snapshot.compactionResult === undefined
                  ? undefined
                  : encodeCompactionResult(snapshot.compactionResult)
              })
          })`.pipe(
            Effect.catchIf(
              (error) => causeMessage(error.cause).includes("mnesis: session not found"),
              () => Effect.fail(new SessionNotFound({ sessionId: message.sessionId }))
            )
          )
          const [row] = yield* sql<{ seq: number }>`SELECT seq FROM messages WHERE id = ${message.id}`
          const seq = row?.seq ?? 0
          // Everything stored is known here: build the message instead of reading it back.
          return new Message({
            id: message.id,
            sessionId: message.sessionId,
            seq,
            role: message.role,
            agent: message.agent,
            model: message.model,
            isSummary: false,
            createdAt: message.createdAt,
            tokens: tokens === undefined
              ? TokenUsage.zero
              : new TokenUsage(tokens, { disableValidation: true }),
            cost: message.cost ?? 0,
            ...(message.finishReason === undefined ? {} : { finishReason: message.finishReason }),
            ...(message.error === undefined ? {} : { error: message.error }),
            parts: message.parts
          }, { disableValidation: true })
        })
      )

    const updateMessageUsage: Service["updateMessageUsage"] = (id, update) =>
      transaction(
        "updateMessageUsage",
        Effect.gen(function*() {
          const t = update.tokens
          yield* sql`UPDATE sessions SET
              tokens_input = tokens_input + ${t.input} - (SELECT tokens_input FROM messages WHERE id = ${id}),
              tokens_output = tokens_output + ${t.output} - (SELECT tokens_output FROM messages WHERE id = ${id}),
              tokens_cache_read = tokens_cache_read + ${t.cacheRead}
                - (SELECT tokens_cache_read FROM messages WHERE id = ${id}),
              tokens_cache_write = tokens_cache_write + ${t.cacheWrite}
                - (SELECT tokens_cache_write FROM messages WHERE id = ${id}),
              tokens_total = tokens_total + ${
            TokenUsage.effectiveTotal(t)
          } - (SELECT CASE WHEN tokens_total > 0 THEN tokens_total
                ELSE tokens_input + tokens_output + tokens_cache_read + tokens_cache_write END
                FROM messages WHERE id = ${id}),
              cost = cost + ${update.cost} - (SELECT cost FROM messages WHERE id = ${id})
            WHERE id = (SELECT session_id FROM messages WHERE id = ${id})`
          const updated = yield* sql<{ id: string }>`UPDATE messages SET tokens_input = ${t.input},
              tokens_output = ${t.output}, tokens_cache_read = ${t.cacheRead}, tokens_cache_write = ${t.cacheWrite},
              tokens_total = ${t.total}, cost = ${update.cost}, finish_reason = ${update.finishReason}
            WHERE id = ${id} AND role = 'assistant' RETURNING id`
          if (updated.length === 0) {
            return yield* new StorageError({
              operation: "updateMessageUsage",
              reason: `no assistant message ${id}; usage is recorded on assistant messages only`
            })
          }
        })
      )

    /** Writes one tool part's state; the caller is inside a transaction. */
    const writeToolPart = (id: PartId, update: ToolPartUpdate) =>
      Effect.gen(function*() {
        // Adjust the context item first: it is a write, and it needs the part's previous cost.
        yield* sql`UPDATE sessions SET context_version = context_version + 1
            WHERE id = (SELECT session_id FROM parts WHERE id = ${id})`
        yield* sql`UPDATE context_items SET token_count = token_count + ${update.tokenCount}
              - (SELECT token_count FROM parts WHERE id = ${id})
            WHERE item_id = (SELECT message_id FROM parts WHERE id = ${id} AND compacted_at IS NULL)`
        const rows = yield* sql<{ id: string }>`
            UPDATE parts SET
              tool_status = ${update.status},
              tool_output = coalesce(${update.output ?? null}, tool_output),
              tool_error = coalesce(${update.error ?? null}, tool_error),
              started_at = coalesce(${update.startedAt ?? null}, started_at),
              completed_at = coalesce(${update.completedAt ?? null}, completed_at),
              token_count = ${update.tokenCount}
            WHERE id = ${id} AND type = 'tool'
            RETURNING id`
        const row = rows[0]
        if (row === undefined) {
          return yield* new StorageError({ operation: "updateToolPart", reason: `no tool part ${id}` })
        }
      })

    const updateToolPart = (id: PartId, update: ToolPartUpdate) =>
      transaction("updateToolPart", writeToolPart(id, update))

    const updateToolParts: Service["updateToolParts"] = (updates) =>
      updates.length === 0 ? Effect.void : transaction(
        "updateToolParts",
        Effect.forEach(updates, ({ id, update }) => writeToolPart(id, update), { discard: true })
      )

    // One transaction: a failure anywhere rolls every write back. The tool updates go first, as
    // each begins with a write (see the header).
    const appendMessages: Service["appendMessages"] = (messages, toolUpdates = []) =>
      transaction(
        "appendMessages",
        Effect.zipRight(
          Effect.forEach(toolUpdates, ({ id, update }) => writeToolPart(id, update), { discard: true }),
          Effect.forEach(messages, appendMessage)
        )
      )

    const toolParts: Service["toolParts"] = (ids) =>
      ids.length === 0 ? Effect.succeed([]) : query(
        "toolParts",
        Effect.flatMap(
          sql<
            PartRow & { message_id: string }
          >`SELECT p.message_id, p.id AS part_id, p.type, p.content, p.token_count,
              p.tool_status, p.tool_output, p.tool_error, p.started_at, p.completed_at, p.compacted_at
            FROM json_each(${JSON.stringify(ids)}) j
            JOIN parts p ON p.message_id = j.value AND p.type = 'tool'
            ORDER BY j.key, p.idx`,
          (rows) =>
            decodeAll(
              rows,
              partObject,
              decodeToolPart,
              "toolParts"
            ).pipe(
              Effect.map((parts) =>
                parts.map((part, i) => ({ messageId: rows[i]!.message_id as MessageId, part }))
              )
            )
        )
      )

    const findToolCall: Service["findToolCall"] = (sessionId, toolCallId) =>
      query(
        "findToolCall",
        Effect.flatMap(
          sql<{ message_id: string }>`SELECT message_id FROM parts
            WHERE session_id = ${sessionId} AND tool_call_id = ${toolCallId} ORDER BY rowid DESC LIMIT 1`,
          (rows) =>
            rows[0] === undefined
              ? Effect.succeed(undefined)
              : Effect.map(messagesByIds([rows[0].message_id as MessageId]), (messages) => messages[0])
        )
      )

    const tombstone: Service["tombstone"] = (sessionId, parts, at) =>
      parts.length === 0 ? Effect.succeed(0) : transaction(
        "tombstone",
        Effect.gen(function*() {
          yield* sql`UPDATE sessions SET updated_at = max(updated_at, ${at}), context_version = context_version + 1
            WHERE id = ${sessionId}`
          let changed = 0
          for (const part of parts) {
            const rows = yield* sql<{ message_id: string; token_count: number }>`
              UPDATE parts SET compacted_at = ${at}
              WHERE id = ${part.partId} AND session_id = ${sessionId} AND type = 'tool'
                AND compacted_at IS NULL AND tool_status = 'completed'
              RETURNING message_id, token_count`
            const row = rows[0]
            if (row === undefined) continue
            changed++
            yield* sql`UPDATE context_items SET token_count = token_count + ${
              part.tokenCount - row.token_count
            }
              WHERE item_id = ${row.message_id}`
          }
          return changed
        })
      )

    const contextItems: Service["contextItems"] = (sessionId, q: ContextItemsQuery = {}) =>
      query(
        "contextItems",
        Effect.map(
          sql<{
            position: number
            item_type: "message" | "summary"
            item_id: string
            role: "user" | "assistant" | null
            token_count: number
          }>`
            SELECT position, item_type, item_id, role, token_count FROM context_items
            WHERE session_id = ${sessionId}
              ${q.beforePosition === undefined ? sql.literal("") : sql`AND position < ${q.beforePosition}`}
            ORDER BY position ${sql.literal(q.newestFirst === true ? "DESC" : "ASC")}
            ${q.limit === undefined ? sql.literal("") : sql`LIMIT ${q.limit}`}`,
          (rows) =>
            rows.map((row) => ({
              position: row.position,
              kind: row.item_type,
              id: row.item_id as MessageId | SummaryId,
              ...(row.role === null ? {} : { role: row.role }),
              tokenCount: row.token_count
            }))
        )
      )

    const contextSince: Service["contextSince"] = (sessionId, afterPosition) =>
      query(
        "contextSince",
        Effect.map(
          // One statement, so the version and the items come from the same snapshot.
          sql<{
            version: number
            position: number | null
            item_type: "message" | "summary" | null
            item_id: string | null
            role: "user" | "assistant" | null
            token_count: number | null
          }>`SELECT s.context_version AS version, c.position, c.item_type, c.item_id, c.role, c.token_count
            FROM sessions s
            LEFT JOIN context_items c ON c.session_id = s.id AND c.position > ${afterPosition ?? -1}
            WHERE s.id = ${sessionId}
            ORDER BY c.position`,
          (rows) => ({
            version: rows[0]?.version ?? 0,
            items: rows.flatMap((row) =>
              row.position === null || row.item_type === null || row.item_id === null ||
                row.token_count === null
                ? []
                : [{
                  position: row.position,
                  kind: row.item_type,
                  id: row.item_id as MessageId | SummaryId,
                  ...(row.role === null ? {} : { role: row.role }),
                  tokenCount: row.token_count
                }]
            )
          })
        )
      )

    const contextTokens = (sessionId: SessionId) =>
      query(
        "contextTokens",
        Effect.map(
          sql<
            { n: number | null }
          >`SELECT sum(token_count) AS n FROM context_items WHERE session_id = ${sessionId}`,
          (rows) => rows[0]?.n ?? 0
        )
      )

    const messagesByIds: Service["messages"] = (ids) =>
      ids.length === 0 ? Effect.succeed([]) : query(
        "messages",
        Effect.flatMap(
          sql<MessagePartRow>`SELECT ${sql.literal(MESSAGE_COLUMNS)}
            FROM json_each(${JSON.stringify(ids)}) j
            JOIN messages m ON m.id = j.value
            LEFT JOIN parts p ON p.message_id = m.id
            ORDER BY j.key, p.idx`,
          groupMessages
        )
      )

    const history = (sessionId: SessionId, q: HistoryQuery) =>
      query(
        "history",
        Effect.flatMap(
          sql<MessagePartRow>`SELECT ${sql.literal(MESSAGE_COLUMNS)}
            FROM (SELECT * FROM messages WHERE session_id = ${sessionId} AND seq > ${q.afterSeq ?? 0}
                    ${q.includeSummaries === false ? sql.literal("AND is_summary = 0") : sql.literal("")}
                  ORDER BY seq LIMIT ${q.limit}) m
            LEFT JOIN parts p ON p.message_id = m.id
            ORDER BY m.seq, p.idx`,
          groupMessages
        )
      )

    const summaries: Service["summaries"] = (ids) =>
      ids.length === 0 ? Effect.succeed([]) : query(
        "summaries",
        Effect.flatMap(
          sql<SummaryRow>`SELECT ${sql.literal(SUMMARY_COLUMNS)}
            FROM json_each(${JSON.stringify(ids)}) j JOIN summary_nodes n ON n.id = j.value
            ORDER BY j.key`,
          (rows) => decodeAll(rows, summaryObject, decodeSummary, "summaries")
        )
      )

    const sessionSummaries = (sessionId: SessionId) =>
      query(
        "sessionSummaries",
        Effect.flatMap(
          sql<SummaryRow>`SELECT ${sql.literal(SUMMARY_COLUMNS)} FROM summary_nodes n
            WHERE n.session_id = ${sessionId} ORDER BY n.created_at, n.rowid`,
          (rows) => decodeAll(rows, summaryObject, decodeSummary, "sessionSummaries")
        )
      )

    const summarySources = (id: SummaryId) =>
      query(
        "summarySources",
        Effect.map(
          sql<{ source_type: "message" | "summary"; source_id: string }>`
            SELECT source_type, source_id FROM summary_sources WHERE summary_id = ${id} ORDER BY ord`,
          (rows): ReadonlyArray<SummarySource> =>
            rows.map((row) => ({ kind: row.source_type, id: row.source_id as MessageId | SummaryId }))
        )
      )

    const activeCovers: Service["activeCovers"] = (ids) =>
      ids.length === 0 ? Effect.succeed(new Map()) : query(
        "activeCovers",
        Effect.map(
          sql<{ orig: string; sid: string }>`
            WITH RECURSIVE up(orig, sid) AS (
              SELECT s.source_id, s.summary_id FROM summary_sources s
              WHERE s.source_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))
              UNION ALL
              SELECT up.orig, n.superseded_by FROM up JOIN summary_nodes n ON n.id = up.sid
              WHERE n.superseded_by IS NOT NULL
            )
            SELECT up.orig, up.sid FROM up JOIN summary_nodes n ON n.id = up.sid WHERE n.superseded_by IS NULL`,
          (rows) => new Map(rows.map((row) => [row.orig, row.sid as SummaryId]))
        )
      )

    const commitCompaction = (commit: CompactionCommit) =>
      transaction(
        "commitCompaction",
        Effect.gen(function*() {
          const { sessionId, summary, replaces } = commit
          const stale = (reason: string) =>
            new StorageError({
              operation: "commitCompaction",
              reason: `the active context changed under the round (${reason}); nothing was committed`
            })
          if (replaces.length === 0) return yield* stale("nothing to replace")
          const bumped = yield* sql<{ next_seq: number }>`UPDATE sessions SET
              updated_at = max(updated_at, ${summary.createdAt}), context_version = context_version + 1
            WHERE id = ${sessionId} RETURNING next_seq`
          if (bumped[0] === undefined) return yield* new SessionNotFound({ sessionId })
          const seq = bumped[0].next_seq + 1

          const positions = replaces.map((item) => item.position)
          const first = Math.min(...positions)
          const last = Math.max(...positions)
          const current = yield* sql<{ position: number; item_type: string; item_id: string }>`
            SELECT position, item_type, item_id FROM context_items
            WHERE session_id = ${sessionId} AND position BETWEEN ${first} AND ${last} ORDER BY position`
          const expected = new Map(replaces.map((item) => [item.position, item]))
          if (
            current.length !== replaces.length ||
            current.some((row) => expected.get(row.position)?.id !== row.item_id)
          ) {
            return yield* stale("the replaced items are no longer a contiguous run of the context")
          }

          yield* step("message")
          const message = commit.message
          yield* sql`INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at,
              in_context, context_tokens)
            VALUES (${message.id}, ${sessionId}, ${seq}, 'assistant', ${message.agent}, ${message.model}, 1,
              ${message.createdAt}, 0, 0)`
          yield* insertParts({ id: message.id, sessionId, parts: message.parts })

          yield* step("node")
          yield* sql`INSERT INTO summary_nodes (id, session_id, message_id, kind, depth, level, content, token_count,
              span_start, span_end, span_start_seq, span_end_seq, message_count, file_ids, model, created_at)
            VALUES (${summary.id}, ${sessionId}, ${message.id}, ${summary.kind}, ${summary.depth}, ${summary.level},
              ${summary.content}, ${summary.tokenCount}, ${summary.spanStart}, ${summary.spanEnd},
              ${summary.spanStartSeq}, ${summary.spanEndSeq}, ${summary.messageCount},
              ${JSON.stringify(summary.fileIds)}, ${summary.model}, ${summary.createdAt})`

          yield* step("provenance")
          yield* sql`INSERT INTO summary_sources ${
            sql.insert(replaces.map((item, ord) => ({
              summary_id: summary.id,
              ord,
              source_type: item.kind,
              source_id: item.id
            })))
          }`

          yield* step("supersede")
          const parents = replaces.filter((item) => item.kind === "summary").map((item) => item.id)
          if (parents.length > 0) {
            const marked = yield* sql<{ id: string }>`UPDATE summary_nodes SET superseded_by = ${summary.id}
              WHERE id IN (SELECT value FROM json_each(${JSON.stringify(parents)})) AND superseded_by IS NULL
              RETURNING id`
            if (marked.length !== parents.length) {
              return yield* stale("a parent summary was already condensed")
            }
          }

          yield* step("swap")
          yield* sql`DELETE FROM context_items
            WHERE session_id = ${sessionId} AND position BETWEEN ${first} AND ${last}`
          yield* sql`INSERT INTO context_items (session_id, position, item_type, item_id, token_count)
            VALUES (${sessionId}, ${first}, 'summary', ${summary.id}, ${summary.tokenCount})`

          return new Message({
            id: message.id,
            sessionId,
            seq,
            role: "assistant",
            agent: message.agent,
            model: message.model,
            isSummary: true,
            createdAt: message.createdAt,
            tokens: TokenUsage.zero,
            cost: 0,
            parts: message.parts
          }, { disableValidation: true })
        })
      )

    // The turn number is taken in the statement (see migration 2): the next after the session's last.
    const insertSnapshot = (sessionId: SessionId, snapshot: NewTurnSnapshot) =>
      sql`INSERT INTO turn_snapshots (session_id, turn, message_id, context, compaction_triggered,
          compaction_result, created_at)
        SELECT ${sessionId}, COALESCE(MAX(turn), 0) + 1, ${snapshot.messageId}, ${
        JSON.stringify(snapshot.context)
      },
          ${snapshot.compactionTriggered ? 1 : 0},
          ${
        snapshot.compactionResult === undefined
          ? null
          : JSON.stringify(encodeCompactionResult(snapshot.compactionResult))
      },
          ${snapshot.createdAt}
        FROM turn_snapshots WHERE session_id = ${sessionId}`.pipe(Effect.asVoid)

    const appendSnapshot: Service["appendSnapshot"] = (sessionId, snapshot) =>
      query("appendSnapshot", insertSnapshot(sessionId, snapshot))

    const snapshots: Service["snapshots"] = (sessionId, q = {}) =>
      query(
        "snapshots",
        Effect.flatMap(
          // LIMIT -1: no limit, in SQLite's terms
          sql<SnapshotRow>`SELECT * FROM turn_snapshots
            WHERE session_id = ${sessionId} AND turn > ${q.afterTurn ?? 0}
            ORDER BY turn LIMIT ${q.limit ?? -1}`,
          (rows) => decodeAll(rows, snapshotObject, decodeSnapshot, "snapshots")
        )
      )

    const putFileReference = (ref: FileReference) =>
      query(
        "putFileReference",
        sql`INSERT INTO file_references (id, path, file_type, token_count, summary, created_at)
          VALUES (${ref.id}, ${ref.path}, ${ref.fileType}, ${ref.tokenCount}, ${ref.summary}, ${ref.createdAt})
          ON CONFLICT (id) DO UPDATE SET path = excluded.path`.pipe(Effect.asVoid)
      )

    const getFileReference = (id: FileId) =>
      query(
        "getFileReference",
        Effect.flatMap(
          sql<
            {
              id: string
              path: string
              file_type: string
              token_count: number
              summary: string
              created_at: number
            }
          >`
            SELECT * FROM file_references WHERE id = ${id}`,
          (rows) =>
            Option.match(Option.fromNullable(rows[0]), {
              onNone: () => Effect.succeed(undefined),
              onSome: (row) =>
                Effect.mapError(
                  decodeFileReference({
                    id: row.id,
                    path: row.path,
                    fileType: row.file_type,
                    tokenCount: row.token_count,
                    summary: row.summary,
                    createdAt: row.created_at
                  }),
                  unreadable("getFileReference")
                )
            })
        )
      )

    /** Indexes the parts written since the last search, in one transaction. */
    const catchUpIndex = Effect.gen(function*() {
      const [state] = yield* sql<{ upto: number; last: number | null }>`
        SELECT indexed_upto AS upto, (SELECT max(rowid) FROM parts) AS last FROM search_state WHERE id = 1`
      if (state === undefined || state.last === null || state.last <= state.upto) return
      yield* sql.withTransaction(Effect.gen(function*() {
        // a write first, so another process indexing at the same time waits for us
        const [locked] = yield* sql<{ upto: number }>`
          UPDATE search_state SET indexed_upto = indexed_upto WHERE id = 1 RETURNING indexed_upto AS upto`
        const from = locked?.upto ?? state.upto
        yield* sql`INSERT INTO search_index (rowid, body, session_id, message_id)
          SELECT p.rowid, ${sql.literal(searchBody("p"))}, p.session_id, p.message_id FROM parts p
          WHERE p.rowid > ${from} AND p.type IN ('text', 'reasoning', 'tool', 'file_ref')`
        yield* sql`UPDATE search_state SET indexed_upto = (SELECT coalesce(max(rowid), ${from}) FROM parts)
          WHERE id = 1`
      }))
    })

    interface HitRow {
      readonly position: number
      readonly session_id: string
      readonly message_id: string
      readonly part_id: string
      readonly seq: number
      readonly role: "user" | "assistant"
      readonly is_summary: number
      readonly summary_id: string | null
    }

    const hitOf = (row: HitRow): Omit<SearchHit, "snippet"> => ({
      position: row.position,
      sessionId: row.session_id as SessionId,
      messageId: row.message_id as MessageId,
      partId: row.part_id as PartId,
      seq: row.seq,
      role: row.role,
      isSummary: row.is_summary === 1,
      ...(row.summary_id === null ? {} : { summaryId: row.summary_id as SummaryId })
    })

    const seqFilter = (range: readonly [number, number] | undefined) =>
      range === undefined ? sql.literal("") : sql`AND m.seq BETWEEN ${range[0]} AND ${range[1]}`

    const search = (
      q: SearchQuery
    ): Effect.Effect<ReadonlyArray<SearchHit>, StorageError | DatabaseCorrupt> => {
      const match = buildMatchQuery(q.text, q.sessionIds)
      if (match === undefined || q.sessionIds.length === 0) return Effect.succeed([])
      return query(
        "search",
        Effect.zipRight(
          catchUpIndex,
          Effect.map(
            sql<HitRow & { snippet: string }>`SELECT s.rowid AS position, s.session_id, s.message_id,
                p.id AS part_id, m.seq, m.role, m.is_summary, n.id AS summary_id,
                snippet(search_index, 0, '[', ']', '…', 24) AS snippet
              FROM search_index s
              JOIN parts p ON p.rowid = s.rowid
              JOIN messages m ON m.id = s.message_id
              LEFT JOIN summary_nodes n ON n.message_id = m.id
              WHERE search_index MATCH ${match} AND s.rowid > ${q.after ?? 0} ${seqFilter(q.seqRange)}
              ORDER BY s.rowid
              LIMIT ${q.limit}`,
            (rows) => rows.map((row): SearchHit => ({ ...hitOf(row), snippet: row.snippet }))
          )
        )
      )
    }

    const scan: Service["scan"] = (q) =>
      q.sessionIds.length === 0 ? Effect.succeed([]) : query(
        "scan",
        Effect.map(
          sql<
            HitRow & { text: string }
          >`SELECT p.rowid AS position, p.session_id, p.message_id, p.id AS part_id,
              m.seq, m.role, m.is_summary, n.id AS summary_id, ${sql.literal(searchBody("p"))} AS text
            FROM parts p
            JOIN messages m ON m.id = p.message_id
            LEFT JOIN summary_nodes n ON n.message_id = m.id
            WHERE ${
            q.sessionIds.length === 1
              ? sql`p.session_id = ${q.sessionIds[0]!}`
              : sql`p.session_id IN (SELECT value FROM json_each(${JSON.stringify(q.sessionIds)}))`
          }
              AND p.rowid > ${q.after ?? 0} AND p.type IN ('text', 'reasoning', 'tool', 'file_ref')
              ${seqFilter(q.seqRange)}
            ORDER BY p.rowid
            LIMIT ${q.limit}`,
          (rows) => rows.map((row): ScannedText => ({ ...hitOf(row), text: row.text ?? "" }))
        )
      )

    return {
      createSession,
      getSession,
      listSessions,
      appendMessage,
      appendMessages,
      updateMessageUsage,
      updateToolPart,
      updateToolParts,
      toolParts,
      findToolCall,
      tombstone,
      contextItems,
      contextSince,
      contextTokens,
      messages: messagesByIds,
      history,
      summaries,
      sessionSummaries,
      summarySources,
      activeCovers,
      commitCompaction,
      appendSnapshot,
      snapshots,
      putFileReference,
      getFileReference,
      search,
      scan
    } satisfies Service
  })
