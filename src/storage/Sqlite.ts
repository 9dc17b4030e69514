/**
 * The SQLite store on `@effect/sql-sqlite-node` (better-sqlite3): one serialised connection per
 * store, WAL, foreign keys, a busy timeout so concurrent processes wait instead of failing, and
 * versioned migrations. SQLite specifics (FTS5 syntax, pragmas, json_each) live only here.
 *
 * Every write transaction starts with a write (bumping the session row): with a deferred `BEGIN`,
 * a transaction that read first could not take the write lock once another process had written,
 * and SQLite would fail it at once instead of waiting for the busy timeout.
 *
 * @internal
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { Migrator, SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Either, Option, ParseResult, Schedule, Schema, type Scope } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import type { FileId, MessageId, PartId, SessionId, SummaryId } from "../Domain.js"
import { FileReference, Message, MESSAGE_OVERHEAD_TOKENS, Session, SummaryNode, TokenUsage } from "../Domain.js"
import { DatabaseCorrupt, SchemaTooNew, SessionNotFound, StorageError } from "../Errors.js"
import type {
  CompactionCommit,
  CompactionStep,
  ContextItemsQuery,
  HistoryQuery,
  NewMessage,
  NewSession,
  SearchHit,
  SearchQuery,
  Service,
  SummarySource,
  ToolPartUpdate
} from "../Storage.js"
import { LATEST_SCHEMA_VERSION, migrations } from "./migrations.js"
import { buildMatchQuery } from "./searchQuery.js"

const SQLITE_HEADER = "SQLite format 3\u0000"

export interface Options {
  readonly filename: string
  readonly walMode?: boolean | undefined
  readonly busyTimeoutMs?: number | undefined
  readonly onCompactionStep?: ((step: CompactionStep) => Effect.Effect<void, StorageError>) | undefined
}

// ---------------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------------

const sqliteCode = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? cause.code : undefined
  return typeof code === "string" ? code : undefined
}

const causeMessage = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

const hintFor = (code: string | undefined): string => {
  switch (code) {
    case "SQLITE_BUSY":
    case "SQLITE_BUSY_SNAPSHOT":
    case "SQLITE_LOCKED":
      return "another connection held the database lock longer than store.busyTimeout; raise it or reduce contention"
    case "SQLITE_READONLY":
    case "SQLITE_READONLY_DIRECTORY":
    case "SQLITE_CANTOPEN":
      return "the database file or its directory is not writable; check the path and its permissions"
    case "SQLITE_FULL":
      return "the disk is full"
    default:
      return "see the cause for details"
  }
}

/** Maps a driver failure to our errors; corruption gets its own tag. */
const fromCause = (path: string, operation: string, cause: unknown): StorageError | DatabaseCorrupt => {
  const code = sqliteCode(cause)
  if (code === "SQLITE_NOTADB" || code?.startsWith("SQLITE_CORRUPT")) {
    return new DatabaseCorrupt({ path, reason: causeMessage(cause) })
  }
  return new StorageError({
    operation,
    reason: `${code ?? "error"}: ${causeMessage(cause)} (${hintFor(code)})`,
    cause
  })
}

// ---------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------

/** Checks the file before SQLite touches it: directory, permissions, and the SQLite header. */
const preflight = (filename: string): Effect.Effect<void, StorageError | DatabaseCorrupt> =>
  Effect.suspend((): Effect.Effect<void, StorageError | DatabaseCorrupt> => {
    if (filename === ":memory:") return Effect.void
    const fail = (reason: string, cause?: unknown) =>
      Effect.fail(new StorageError({ operation: "open", reason, cause }))
    const dir = NodePath.dirname(filename)
    try {
      NodeFs.mkdirSync(dir, { recursive: true })
    } catch (cause) {
      return fail(`cannot create the directory ${dir} (${causeMessage(cause)}); choose a writable store.dbPath`, cause)
    }
    let stat: NodeFs.Stats | undefined
    try {
      stat = NodeFs.statSync(filename)
    } catch {
      stat = undefined
    }
    if (stat !== undefined && !stat.isFile()) {
      return fail(`${filename} is not a regular file; store.dbPath must name a file`)
    }
    try {
      NodeFs.accessSync(dir, NodeFs.constants.W_OK)
      if (stat !== undefined) NodeFs.accessSync(filename, NodeFs.constants.R_OK | NodeFs.constants.W_OK)
    } catch (cause) {
      return fail(
        `the database ${filename} or its directory is read-only; mnesis needs write access (also for the WAL files)`,
        cause
      )
    }
    if (stat !== undefined && stat.size > 0) {
      const header = Buffer.alloc(16)
      const fd = NodeFs.openSync(filename, "r")
      try {
        NodeFs.readSync(fd, header, 0, 16, 0)
      } finally {
        NodeFs.closeSync(fd)
      }
      if (header.toString("latin1") !== SQLITE_HEADER) {
        return Effect.fail(new DatabaseCorrupt({ path: filename, reason: "the file is not a SQLite database" }))
      }
    }
    return Effect.void
  })

const isBusy = (error: unknown): boolean => {
  const cause = typeof error === "object" && error !== null && "cause" in error ? error.cause : error
  const code = sqliteCode(cause)
  return code !== undefined && code.startsWith("SQLITE_BUSY")
}

const migrate = (
  sql: SqlClient.SqlClient,
  path: string
): Effect.Effect<void, StorageError | DatabaseCorrupt | SchemaTooNew> => {
  const currentVersion = Effect.gen(function*() {
    const table = yield* sql<{ n: number }>`
      SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'effect_sql_migrations'`
    if ((table[0]?.n ?? 0) === 0) return 0
    const rows = yield* sql<{ v: number | null }>`SELECT max(migration_id) AS v FROM effect_sql_migrations`
    return rows[0]?.v ?? 0
  })
  const run = Migrator.make({})({
    loader: Migrator.fromRecord(Object.fromEntries(migrations.map(([id, name, effect]) => [`${id}_${name}`, effect])))
  })
  const attempt = Effect.gen(function*() {
    const before = yield* currentVersion
    if (before > LATEST_SCHEMA_VERSION) {
      return yield* new SchemaTooNew({ path, found: before, supported: LATEST_SCHEMA_VERSION })
    }
    if (before < LATEST_SCHEMA_VERSION) yield* run
    // Another process may have won the race to migrate and not committed yet: wait for it.
    const after = yield* currentVersion
    if (after < LATEST_SCHEMA_VERSION) {
      return yield* new StorageError({ operation: "migrate", reason: "SQLITE_BUSY: migration in progress elsewhere" })
    }
  })
  return attempt.pipe(
    Effect.catchTag("MigrationError", (error) =>
      Effect.fail(new StorageError({ operation: "migrate", reason: error.message, cause: error }))),
    Effect.catchTag("SqlError", (error) => Effect.fail(fromCause(path, "migrate", error.cause))),
    Effect.catchAllDefect((defect) => {
      const cause = typeof defect === "object" && defect !== null && "cause" in defect ? defect.cause : defect
      return Effect.fail(fromCause(path, "migrate", cause))
    }),
    Effect.retry({
      while: (error) => error._tag === "StorageError" && (isBusy(error) || error.reason.startsWith("SQLITE_BUSY")),
      schedule: Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(200)))
    }),
    Effect.provideService(SqlClient.SqlClient, sql)
  )
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

interface MessageRow {
  readonly id: string
  readonly session_id: string
  readonly seq: number
  readonly role: string
  readonly agent: string
  readonly model: string
  readonly is_summary: number
  readonly created_at: number
  readonly tokens_input: number
  readonly tokens_output: number
  readonly tokens_cache_read: number
  readonly tokens_cache_write: number
  readonly tokens_total: number
  readonly cost: number
  readonly finish_reason: string | null
  readonly error: string | null
}

interface PartRow {
  readonly part_id: string | null
  readonly type: string | null
  readonly content: string | null
  readonly token_count: number | null
  readonly tool_status: string | null
  readonly tool_output: string | null
  readonly tool_error: string | null
  readonly started_at: number | null
  readonly completed_at: number | null
  readonly compacted_at: number | null
}

type MessagePartRow = MessageRow & PartRow

const MESSAGE_COLUMNS = `m.id, m.session_id, m.seq, m.role, m.agent, m.model, m.is_summary, m.created_at,
  m.tokens_input, m.tokens_output, m.tokens_cache_read, m.tokens_cache_write, m.tokens_total, m.cost,
  m.finish_reason, m.error,
  p.id AS part_id, p.type, p.content, p.token_count, p.tool_status, p.tool_output, p.tool_error,
  p.started_at, p.completed_at, p.compacted_at`

const optional = <K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

const partObject = (row: PartRow): Record<string, unknown> => {
  const content = JSON.parse(row.content ?? "{}") as Record<string, unknown>
  const base = { id: row.part_id, type: row.type, tokenCount: row.token_count, ...content }
  if (row.type !== "tool") return base
  return {
    ...base,
    status: row.tool_status,
    ...optional("output", row.tool_output),
    ...optional("error", row.tool_error),
    ...optional("startedAt", row.started_at),
    ...optional("completedAt", row.completed_at),
    ...optional("compactedAt", row.compacted_at)
  }
}

const messageObject = (row: MessageRow, parts: Array<Record<string, unknown>>): Record<string, unknown> => ({
  id: row.id,
  sessionId: row.session_id,
  seq: row.seq,
  role: row.role,
  agent: row.agent,
  model: row.model,
  isSummary: row.is_summary === 1,
  createdAt: row.created_at,
  tokens: {
    input: row.tokens_input,
    output: row.tokens_output,
    cacheRead: row.tokens_cache_read,
    cacheWrite: row.tokens_cache_write,
    total: row.tokens_total
  },
  cost: row.cost,
  ...optional("finishReason", row.finish_reason),
  ...optional("error", row.error === null ? null : JSON.parse(row.error)),
  parts
})

const decodeMessage = Schema.decodeUnknownEither(Message)
const decodeSession = Schema.decodeUnknownEither(Session)
const decodeSummary = Schema.decodeUnknownEither(SummaryNode)
const decodeFileReference = Schema.decodeUnknownEither(FileReference)

const unreadable = (operation: string) => (error: ParseResult.ParseError) =>
  new StorageError({
    operation,
    reason: `a stored row does not match the expected shape: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
  })

/** Groups joined message/part rows (ordered by message, then part) into messages. */
const groupMessages = (rows: ReadonlyArray<MessagePartRow>): Either.Either<Array<Message>, StorageError> => {
  const out: Array<Message> = []
  let current: MessageRow | undefined
  let parts: Array<Record<string, unknown>> = []
  const flush = (): StorageError | undefined => {
    if (current === undefined) return undefined
    const decoded = decodeMessage(messageObject(current, parts))
    if (Either.isLeft(decoded)) return unreadable("read messages")(decoded.left)
    out.push(decoded.right)
    return undefined
  }
  for (const row of rows) {
    if (current === undefined || current.id !== row.id) {
      const error = flush()
      if (error !== undefined) return Either.left(error)
      current = row
      parts = []
    }
    if (row.part_id !== null) parts.push(partObject(row))
  }
  const error = flush()
  return error === undefined ? Either.right(out) : Either.left(error)
}

interface SessionRow {
  readonly id: string
  readonly parent_id: string | null
  readonly model: string
  readonly agent: string
  readonly system_prompt: string
  readonly metadata: string | null
  readonly created_at: number
  readonly updated_at: number
  readonly next_seq: number
  readonly tokens_input: number
  readonly tokens_output: number
  readonly tokens_cache_read: number
  readonly tokens_cache_write: number
  readonly tokens_total: number
  readonly cost: number
}

const sessionObject = (row: SessionRow) => ({
  id: row.id,
  ...optional("parentId", row.parent_id),
  model: row.model,
  agent: row.agent,
  systemPrompt: row.system_prompt,
  ...optional("metadata", row.metadata === null ? null : JSON.parse(row.metadata)),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  tokens: {
    input: row.tokens_input,
    output: row.tokens_output,
    cacheRead: row.tokens_cache_read,
    cacheWrite: row.tokens_cache_write,
    total: row.tokens_total
  },
  cost: row.cost,
  messageCount: row.next_seq
})

interface SummaryRow {
  readonly id: string
  readonly session_id: string
  readonly message_id: string
  readonly kind: string
  readonly depth: number
  readonly level: number
  readonly content: string
  readonly token_count: number
  readonly span_start: string
  readonly span_end: string
  readonly span_start_seq: number
  readonly span_end_seq: number
  readonly message_count: number
  readonly file_ids: string
  readonly model: string
  readonly created_at: number
  readonly superseded_by: string | null
  readonly parents: string
}

const SUMMARY_COLUMNS = `n.id, n.session_id, n.message_id, n.kind, n.depth, n.level, n.content, n.token_count,
  n.span_start, n.span_end, n.span_start_seq, n.span_end_seq, n.message_count, n.file_ids, n.model,
  n.created_at, n.superseded_by,
  (SELECT json_group_array(s.source_id ORDER BY s.ord) FROM summary_sources s
     WHERE s.summary_id = n.id AND s.source_type = 'summary') AS parents`

const summaryObject = (row: SummaryRow) => ({
  id: row.id,
  sessionId: row.session_id,
  messageId: row.message_id,
  kind: row.kind,
  depth: row.depth,
  level: row.level,
  content: row.content,
  tokenCount: row.token_count,
  spanStart: row.span_start,
  spanEnd: row.span_end,
  spanStartSeq: row.span_start_seq,
  spanEndSeq: row.span_end_seq,
  messageCount: row.message_count,
  parents: JSON.parse(row.parents),
  fileIds: JSON.parse(row.file_ids),
  model: row.model,
  createdAt: row.created_at,
  ...optional("supersededBy", row.superseded_by)
})

const decodeAll = <A, R>(
  rows: ReadonlyArray<R>,
  toObject: (row: R) => unknown,
  decode: (u: unknown) => Either.Either<A, ParseResult.ParseError>,
  operation: string
): Effect.Effect<Array<A>, StorageError> =>
  Effect.suspend(() => {
    const out: Array<A> = []
    for (const row of rows) {
      const decoded = decode(toObject(row))
      if (Either.isLeft(decoded)) return Effect.fail(unreadable(operation)(decoded.left))
      out.push(decoded.right)
    }
    return Effect.succeed(out)
  })

/** Immutable fields of a part, stored as JSON in `parts.content`. */
const partContent = (part: NewMessage["parts"][number]): Record<string, unknown> => {
  switch (part.type) {
    case "text":
      return { text: part.text }
    case "reasoning":
      return part.signature === undefined ? { text: part.text } : { text: part.text, signature: part.signature }
    case "tool":
      return { toolName: part.toolName, toolCallId: part.toolCallId, input: part.input }
    case "file_ref":
      return {
        fileId: part.fileId,
        path: part.path,
        fileType: part.fileType,
        fileTokens: part.fileTokens,
        summary: part.summary
      }
    case "compaction":
      return {
        summaryId: part.summaryId,
        level: part.level,
        depth: part.depth,
        messagesCovered: part.messagesCovered,
        tokensCovered: part.tokensCovered
      }
  }
}

/** The searchable text of a part, or undefined when it has none. */
const searchBody = (
  part: { readonly type: string } & Record<string, unknown>,
  output?: string | undefined,
  error?: string | undefined
): string | undefined => {
  switch (part.type) {
    case "text":
    case "reasoning":
      return typeof part.text === "string" && part.text !== "" ? part.text : undefined
    case "tool":
      return [String(part.toolName), JSON.stringify(part.input ?? null), output ?? "", error ?? ""].join("\n")
    case "file_ref":
      return `${String(part.path)}\n${String(part.fileId)}\n${String(part.summary)}`
    default:
      return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------

export const make = (options: Options): Effect.Effect<Service, StorageError | DatabaseCorrupt | SchemaTooNew, Scope.Scope> =>
  Effect.gen(function*() {
    const path = options.filename
    yield* preflight(path)

    const sql = yield* SqliteClient.make({ filename: path, disableWAL: options.walMode === false }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.catchAllDefect((defect) => Effect.fail(fromCause(path, "open", defect)))
    )
    const fail = (operation: string) => (error: SqlError) => Effect.fail(fromCause(path, operation, error.cause))

    yield* Effect.all([
      sql.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.round(options.busyTimeoutMs ?? 30_000))}`),
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
        Effect.withSpan(`Storage.${operation}`)
      )

    /** Runs `body` in one transaction, mapping driver errors for `operation`. */
    const transaction = <A, E extends { readonly _tag: string }, R>(
      operation: string,
      body: Effect.Effect<A, E | SqlError, R>
    ) => query(operation, sql.withTransaction(body))

    const selectSession = (id: string): Effect.Effect<Session, SessionNotFound | StorageError | SqlError> =>
      Effect.flatMap(
        sql<SessionRow>`SELECT * FROM sessions WHERE id = ${id}`,
        (rows): Effect.Effect<Session, SessionNotFound | StorageError> =>
          rows[0] === undefined
            ? Effect.fail(new SessionNotFound({ sessionId: id }))
            : Effect.mapError(decodeSession(sessionObject(rows[0])), unreadable("read session"))
      )

    const createSession = (input: NewSession) =>
      transaction(
        "createSession",
        Effect.gen(function*() {
          if (input.parentId !== undefined) {
            const parent = yield* sql<{ n: number }>`SELECT count(*) AS n FROM sessions WHERE id = ${input.parentId}`
            if ((parent[0]?.n ?? 0) === 0) return yield* new SessionNotFound({ sessionId: input.parentId })
          }
          yield* sql`INSERT INTO sessions (id, parent_id, model, agent, system_prompt, metadata, created_at, updated_at)
            VALUES (${input.id}, ${input.parentId ?? null}, ${input.model}, ${input.agent}, ${input.systemPrompt},
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
            : sql<SessionRow>`SELECT * FROM sessions WHERE parent_id = ${q.parentId} ORDER BY created_at DESC, id DESC
                LIMIT ${q.limit ?? 100} OFFSET ${q.offset ?? 0}`,
          (rows) => decodeAll(rows, sessionObject, decodeSession, "listSessions")
        )
      )

    /** Inserts parts and their search rows; the caller is inside a transaction. */
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
        const inserted = yield* sql<{ rowid: number; id: string }>`INSERT INTO parts ${sql.insert(rows)}
          RETURNING rowid, id`
        const rowids = new Map(inserted.map((r) => [r.id, r.rowid]))
        const search = message.parts.flatMap((part) => {
          const body = searchBody(
            { ...part, ...partContent(part) },
            part.type === "tool" ? part.output : undefined,
            part.type === "tool" ? part.error : undefined
          )
          const rowid = rowids.get(part.id)
          return body === undefined || rowid === undefined
            ? []
            : [{ rowid, body, session_id: message.sessionId, message_id: message.id }]
        })
        if (search.length > 0) yield* sql`INSERT INTO search_index ${sql.insert(search)}`
      })

    const appendMessage = (message: NewMessage) =>
      transaction(
        "appendMessage",
        Effect.gen(function*() {
          const inContext = message.inContext ?? true
          const tokens = message.tokens
          const bumped = yield* sql<{ next_seq: number; next_position: number }>`UPDATE sessions SET
              next_seq = next_seq + 1,
              next_position = next_position + ${inContext ? 1 : 0},
              updated_at = max(updated_at, ${message.createdAt}),
              tokens_input = tokens_input + ${tokens?.input ?? 0},
              tokens_output = tokens_output + ${tokens?.output ?? 0},
              tokens_cache_read = tokens_cache_read + ${tokens?.cacheRead ?? 0},
              tokens_cache_write = tokens_cache_write + ${tokens?.cacheWrite ?? 0},
              tokens_total = tokens_total + ${tokens === undefined ? 0 : TokenUsage.effectiveTotal(tokens)},
              cost = cost + ${message.cost ?? 0}
            WHERE id = ${message.sessionId}
            RETURNING next_seq, next_position`
          const counters = bumped[0]
          if (counters === undefined) return yield* new SessionNotFound({ sessionId: message.sessionId })
          yield* sql`INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at,
              tokens_input, tokens_output, tokens_cache_read, tokens_cache_write, tokens_total, cost,
              finish_reason, error)
            VALUES (${message.id}, ${message.sessionId}, ${counters.next_seq}, ${message.role}, ${message.agent},
              ${message.model}, 0, ${message.createdAt}, ${tokens?.input ?? 0}, ${tokens?.output ?? 0},
              ${tokens?.cacheRead ?? 0}, ${tokens?.cacheWrite ?? 0}, ${tokens?.total ?? 0}, ${message.cost ?? 0},
              ${message.finishReason ?? null}, ${message.error === undefined ? null : JSON.stringify(message.error)})`
          yield* insertParts(message)
          if (inContext) {
            const tokenCount = message.parts.reduce((sum, part) => sum + part.tokenCount, MESSAGE_OVERHEAD_TOKENS)
            yield* sql`INSERT INTO context_items (session_id, position, item_type, item_id, token_count)
              VALUES (${message.sessionId}, ${counters.next_position}, 'message', ${message.id}, ${tokenCount})`
          }
          const rows = yield* sql<MessagePartRow>`SELECT ${sql.literal(MESSAGE_COLUMNS)}
            FROM messages m LEFT JOIN parts p ON p.message_id = m.id
            WHERE m.id = ${message.id} ORDER BY p.idx`
          const decoded = yield* groupMessages(rows)
          return decoded[0]!
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
              tokens_total = tokens_total + ${TokenUsage.effectiveTotal(t)} - (SELECT CASE WHEN tokens_total > 0 THEN tokens_total
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

    const updateToolPart = (id: PartId, update: ToolPartUpdate) =>
      transaction(
        "updateToolPart",
        Effect.gen(function*() {
          // Adjust the context item first: it is a write, and it needs the part's previous cost.
          yield* sql`UPDATE context_items SET token_count = token_count + ${update.tokenCount}
              - (SELECT token_count FROM parts WHERE id = ${id})
            WHERE item_id = (SELECT message_id FROM parts WHERE id = ${id} AND compacted_at IS NULL)`
          const rows = yield* sql<{ rowid: number; session_id: string; message_id: string; content: string }>`
            UPDATE parts SET
              tool_status = ${update.status},
              tool_output = coalesce(${update.output ?? null}, tool_output),
              tool_error = coalesce(${update.error ?? null}, tool_error),
              started_at = coalesce(${update.startedAt ?? null}, started_at),
              completed_at = coalesce(${update.completedAt ?? null}, completed_at),
              token_count = ${update.tokenCount}
            WHERE id = ${id} AND type = 'tool'
            RETURNING rowid, session_id, message_id, content, tool_output, tool_error`
          const row = rows[0] as
            | { rowid: number; session_id: string; message_id: string; content: string; tool_output: string | null; tool_error: string | null }
            | undefined
          if (row === undefined) {
            return yield* new StorageError({ operation: "updateToolPart", reason: `no tool part ${id}` })
          }
          if (update.output !== undefined || update.error !== undefined) {
            const content = JSON.parse(row.content) as Record<string, unknown>
            const body = searchBody({ type: "tool", ...content }, row.tool_output ?? undefined, row.tool_error ?? undefined)
            yield* sql`DELETE FROM search_index WHERE rowid = ${row.rowid}`
            yield* sql`INSERT INTO search_index (rowid, body, session_id, message_id)
              VALUES (${row.rowid}, ${body ?? ""}, ${row.session_id}, ${row.message_id})`
          }
        })
      )

    const tombstone: Service["tombstone"] = (sessionId, parts, at) =>
      parts.length === 0 ? Effect.succeed(0) : transaction(
        "tombstone",
        Effect.gen(function*() {
          yield* sql`UPDATE sessions SET updated_at = max(updated_at, ${at}) WHERE id = ${sessionId}`
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
            yield* sql`UPDATE context_items SET token_count = token_count + ${part.tokenCount - row.token_count}
              WHERE item_id = ${row.message_id}`
          }
          return changed
        })
      )

    const contextItems: Service["contextItems"] = (sessionId, q: ContextItemsQuery = {}) =>
      query(
        "contextItems",
        Effect.map(
          sql<{ position: number; item_type: "message" | "summary"; item_id: string; token_count: number }>`
            SELECT position, item_type, item_id, token_count FROM context_items
            WHERE session_id = ${sessionId}
              ${q.beforePosition === undefined ? sql.literal("") : sql`AND position < ${q.beforePosition}`}
            ORDER BY position ${sql.literal(q.newestFirst === true ? "DESC" : "ASC")}
            ${q.limit === undefined ? sql.literal("") : sql`LIMIT ${q.limit}`}`,
          (rows) =>
            rows.map((row) => ({
              position: row.position,
              kind: row.item_type,
              id: row.item_id as MessageId | SummaryId,
              tokenCount: row.token_count
            }))
        )
      )

    const contextTokens = (sessionId: SessionId) =>
      query(
        "contextTokens",
        Effect.map(
          sql<{ n: number | null }>`SELECT sum(token_count) AS n FROM context_items WHERE session_id = ${sessionId}`,
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
          const bumped = yield* sql<{ next_seq: number }>`UPDATE sessions SET next_seq = next_seq + 1,
              updated_at = max(updated_at, ${summary.createdAt})
            WHERE id = ${sessionId} RETURNING next_seq`
          const seq = bumped[0]?.next_seq
          if (seq === undefined) return yield* new SessionNotFound({ sessionId })

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
          yield* sql`INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at)
            VALUES (${message.id}, ${sessionId}, ${seq}, 'assistant', ${message.agent}, ${message.model}, 1,
              ${message.createdAt})`
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
            if (marked.length !== parents.length) return yield* stale("a parent summary was already condensed")
          }

          yield* step("swap")
          yield* sql`DELETE FROM context_items
            WHERE session_id = ${sessionId} AND position BETWEEN ${first} AND ${last}`
          yield* sql`INSERT INTO context_items (session_id, position, item_type, item_id, token_count)
            VALUES (${sessionId}, ${first}, 'summary', ${summary.id}, ${summary.tokenCount})`

          const rows = yield* sql<MessagePartRow>`SELECT ${sql.literal(MESSAGE_COLUMNS)}
            FROM messages m LEFT JOIN parts p ON p.message_id = m.id
            WHERE m.id = ${message.id} ORDER BY p.idx`
          const decoded = yield* groupMessages(rows)
          return decoded[0]!
        })
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
          sql<{ id: string; path: string; file_type: string; token_count: number; summary: string; created_at: number }>`
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

    const search = (q: SearchQuery): Effect.Effect<ReadonlyArray<SearchHit>, StorageError | DatabaseCorrupt> => {
      const match = buildMatchQuery(q.text, q.sessionIds)
      if (match === undefined || q.sessionIds.length === 0) return Effect.succeed([])
      return query(
        "search",
        Effect.map(
          sql<{
            session_id: string
            message_id: string
            part_id: string
            seq: number
            role: "user" | "assistant"
            is_summary: number
            snippet: string
          }>`SELECT s.session_id, s.message_id, p.id AS part_id, m.seq, m.role, m.is_summary,
                snippet(search_index, 0, '[', ']', '…', 24) AS snippet
              FROM search_index s
              JOIN parts p ON p.rowid = s.rowid
              JOIN messages m ON m.id = s.message_id
              WHERE search_index MATCH ${match}
              ORDER BY s.rowid
              LIMIT ${q.limit} OFFSET ${q.offset ?? 0}`,
          (rows) =>
            rows.map((row): SearchHit => ({
              sessionId: row.session_id as SessionId,
              messageId: row.message_id as MessageId,
              partId: row.part_id as PartId,
              seq: row.seq,
              role: row.role,
              isSummary: row.is_summary === 1,
              snippet: row.snippet
            }))
        )
      )
    }

    return {
      createSession,
      getSession,
      listSessions,
      appendMessage,
      updateMessageUsage,
      updateToolPart,
      tombstone,
      contextItems,
      contextTokens,
      messages: messagesByIds,
      history,
      summaries,
      sessionSummaries,
      summarySources,
      activeCovers,
      commitCompaction,
      putFileReference,
      getFileReference,
      search
    } satisfies Service
  })
