/**
 * The store's rules, written once over `@effect/sql`'s `SqlClient` for every database: seq numbers,
 * the session's counters and usage totals, context items and the context version, turn numbers,
 * tool results, tombstones and the compaction commit. Each write runs in one transaction whose
 * first statement writes the session row, so two writers of a session (another handle, another
 * process, another machine) wait for each other in the database, never in this process' memory.
 * What differs between databases comes from the dialect (Dialect.ts).
 *
 * The frequent writes (appends, tool results, tombstones, snapshots) are programs (Program.ts): a
 * runner executes them on one connection, at once where the driver allows it. The rest (the
 * compaction commit, with its test hook between steps; deletion, export and import) are Effects
 * in `sql.withTransaction`, their statements run straight on the transaction's connection.
 *
 * @internal
 */
import { SqlClient } from "@effect/sql"
import type { Connection, Row } from "@effect/sql/SqlConnection"
import { SqlError as SqlErrorClass } from "@effect/sql/SqlError"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Effect, Either, Option, ParseResult, Schema, type Tracer } from "effect"
import type {
  ContextItem,
  FileId,
  FileReference,
  MessageId,
  PartId,
  SessionId,
  SummaryId
} from "../Domain.js"
import {
  Message,
  MESSAGE_OVERHEAD_TOKENS,
  MessageId as MessageIdSchema,
  SummaryId as SummaryIdSchema,
  TokenUsage
} from "../Domain.js"
import { type DatabaseCorrupt, InvalidInput, SessionNotFound, StorageError } from "../Errors.js"
import type {
  CompactionCommit,
  CompactionStep,
  HistoryQuery,
  NewMessage,
  NewSession,
  NewTurnSnapshot,
  Service,
  Tombstone,
  ToolPartUpdate
} from "../Storage.js"
import type { Dialect } from "./Dialect.js"
import * as FileContents from "./files.js"
import * as Lifecycle from "./lifecycle.js"
import { execute, makeRun, makeRunner, makeRunValues, makeTag, type Program, type Step } from "./Program.js"
import { valuesDecoder } from "./rowDecoder.js"
import {
  decodeAll,
  encodeCompactionResult,
  makeRows,
  MESSAGE_COLUMNS,
  partInsertRow,
  unreadable
} from "./rows.js"
import * as Runs from "./runs.js"

export interface Options {
  /** Maps a driver failure of `operation` to the store's errors (the backend knows its codes). */
  readonly fromSqlError: (operation: string, error: SqlError) => StorageError | DatabaseCorrupt
  /** Maps a defect of a transaction's COMMIT or ROLLBACK to the store's errors. */
  readonly fromDefect: (operation: string, defect: unknown) => StorageError | DatabaseCorrupt
  /** Test hook: runs before each step of a compaction commit, inside its transaction. */
  readonly onCompactionStep?: ((step: CompactionStep) => Effect.Effect<void, StorageError>) | undefined
  /** The client's only connection, when it can run a write transaction at once (see Program.ts). */
  readonly connection?: Connection | undefined
}

/** What the parts of the store share: the client, the dialect, the row codecs and the wrappers. */
export interface Context {
  readonly sql: SqlClient.SqlClient
  /** Runs a statement; inside a transaction, straight on its connection (see `run` below). */
  readonly run: (statement: Statement.Statement<Row>) => Effect.Effect<ReadonlyArray<Row>, SqlError>
  readonly dialect: Dialect
  readonly rows: ReturnType<typeof makeRows>
  /** Runs `body`, mapping driver errors and undecodable rows for `operation`, in a span. */
  readonly query: <A, E, R>(
    operation: string,
    body: Effect.Effect<A, E | SqlError | ParseResult.ParseError, R>
  ) => Effect.Effect<A, Exclude<E, SqlError | ParseResult.ParseError> | StorageError | DatabaseCorrupt, R>
  /** `query` in one transaction. */
  readonly transaction: <A, E, R>(
    operation: string,
    body: Effect.Effect<A, E | SqlError | ParseResult.ParseError, R>
  ) => Effect.Effect<A, Exclude<E, SqlError | ParseResult.ParseError> | StorageError | DatabaseCorrupt, R>
}

/** The session's counters after a bump: the message's seq and the position of its context item. */
const Counters = Schema.Struct({ next_seq: Schema.Int, next_position: Schema.Int })
const VersionRow = Schema.Struct({ version: Schema.Int })
const TombstonedRow = Schema.Struct({ message_id: MessageIdSchema, token_count: Schema.NonNegativeInt })
const MessageIdRow = Schema.Struct({ message_id: MessageIdSchema })
const CoverRow = Schema.Struct({ orig: Schema.Union(MessageIdSchema, SummaryIdSchema), sid: SummaryIdSchema })
const ContextRow = Schema.Struct({ position: Schema.Int, item_id: Schema.String })
/** The columns `contextSince` reads, in order. */
const CONTEXT_SINCE_COLUMNS = ["version", "position", "item_type", "item_id", "role", "token_count"]

const decodeCounters = Schema.decodeUnknownEither(Counters)

// The id patterns of Domain.ts as plain regular expressions: checked on every append, where a
// Schema check costs more than the statement it guards.
const ULID = "[0-9A-HJKMNP-TV-Z]{26}"
const SESSION_ID = new RegExp(`^sess_${ULID}$`)
const MESSAGE_ID = new RegExp(`^msg_${ULID}$`)
const PART_ID = new RegExp(`^part_${ULID}$`)

const invalidId = (field: string, id: string, shape: string) =>
  new InvalidInput({ field, reason: `"${id}" is not a valid id (expected ${shape})` })

/** The later of a stored timestamp column and a value, in SQL every database understands. */
const later = (sql: SqlClient.SqlClient, column: string, value: number) =>
  sql`CASE WHEN ${sql.literal(column)} > ${value} THEN ${sql.literal(column)} ELSE ${value} END`

/**
 * A span around a store operation when a tracer is installed. Effect's default tracer keeps spans
 * only for their children, and creating one costs as much as an append's SQLite work (see
 * bench/README.md): with it, the span is left out.
 */
const traced = (name: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.tracerWith((tracer) =>
    tracer === defaultTracer() ? effect : Effect.withSpan(effect, name, { captureStackTrace: false })
  )

let nativeTracer: Tracer.Tracer | undefined
const defaultTracer = () => (nativeTracer ??= Effect.runSync(Effect.tracer))

export const make = (
  dialect: Dialect,
  options: Options
): Effect.Effect<Service, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = makeRows(dialect.columns)
    const step = (name: CompactionStep) => options.onCompactionStep?.(name) ?? Effect.void

    const query: Context["query"] = <A, E, R>(
      operation: string,
      body: Effect.Effect<A, E | SqlError | ParseResult.ParseError, R>
    ) =>
      body.pipe(
        Effect.catchIf(
          (error): error is SqlError | ParseResult.ParseError =>
            error instanceof SqlErrorClass || ParseResult.isParseError(error),
          (error) =>
            Effect.fail(
              error instanceof SqlErrorClass
                ? options.fromSqlError(operation, error)
                : unreadable(operation)(error)
            )
        ),
        // one span per store operation; the statements inside it are not traced one by one
        Effect.withTracerEnabled(false),
        traced(`Storage.${operation}`)
      )

    // A failed COMMIT or ROLLBACK surfaces from `@effect/sql` as a defect; it is a storage failure here.
    const transaction: Context["transaction"] = (operation, body) =>
      query(operation, sql.withTransaction(body)).pipe(
        Effect.catchAllDefect((defect) => Effect.fail(options.fromDefect(operation, defect)))
      )

    /**
     * Runs a statement. Inside a transaction it goes straight to the transaction's connection:
     * `@effect/sql`'s statement pipeline (span, connection lookup) costs several times what the
     * statement itself does, and an append runs four statements (see bench/README.md).
     */
    const run: Context["run"] = makeRun({ connection: options.connection })
    /** `run` giving rows as arrays of column values, for the hot reads (see Program.ts). */
    const runValues = makeRunValues({ connection: options.connection })

    const ctx: Context = { sql, dialect, rows, run, query, transaction }
    const stmt = makeTag(sql)
    /** Runs a step on the connection of the transaction around it (see `run`). */
    const runStep = (step: Step) =>
      Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (open) =>
        Option.isSome(open) ? execute(open.value[0], step) : sql.unsafe(step.sql, step.params))
    const transact = makeRunner(sql, { begin: dialect.beginWrite, connection: options.connection })
    const decodeSessions = decodeAll(rows.SessionRow)

    const selectSession = (id: SessionId) =>
      Effect.flatMap(run(sql`SELECT * FROM sessions WHERE id = ${id}`), decodeSessions).pipe(
        Effect.flatMap((found) =>
          found[0] === undefined
            ? Effect.fail(new SessionNotFound({ sessionId: id }))
            : Effect.succeed(rows.toSession(found[0]))
        )
      )

    const createSession: Service["createSession"] = (input: NewSession) =>
      Effect.zipRight(
        Effect.suspend(() => {
          const bad = [input.id, input.parentId ?? input.id].find((id) =>
            !SESSION_ID.test(id)
          )
          return bad === undefined ? Effect.void : Effect.fail(invalidId("session id", bad, "sess_<ULID>"))
        }),
        transaction(
          "createSession",
          Effect.gen(function*() {
            if (input.parentId !== undefined) {
              const parent = yield* run(sql`SELECT id FROM sessions WHERE id = ${input.parentId}`)
              if (parent.length === 0) return yield* new SessionNotFound({ sessionId: input.parentId })
            }
            yield* run(
              sql`INSERT INTO sessions (id, parent_id, model, agent, system_prompt, metadata, created_at,
                updated_at)
              VALUES (${input.id}, ${
                input.parentId ?? null
              }, ${input.model}, ${input.agent}, ${input.systemPrompt},
                ${input.metadata === undefined ? null : dialect.json(input.metadata)}, ${input.createdAt},
                ${input.createdAt})`
            )
            return yield* selectSession(input.id)
          })
        )
      )

    const getSession = (id: SessionId) => query("getSession", selectSession(id))

    const listSessions: Service["listSessions"] = (q = {}) =>
      query(
        "listSessions",
        Effect.map(
          Effect.flatMap(
            run(sql`SELECT * FROM sessions
              ${q.parentId === undefined ? sql.literal("") : sql`WHERE parent_id = ${q.parentId}`}
              ORDER BY created_at DESC, id DESC LIMIT ${q.limit ?? 100} OFFSET ${q.offset ?? 0}`),
            decodeSessions
          ),
          (found) => found.map(rows.toSession)
        )
      )

    /** Writes a turn's snapshot with the session's next turn number; the caller holds the session row. */
    const insertSnapshot = (sessionId: SessionId, messageId: MessageId, snapshot: NewTurnSnapshot) =>
      stmt`INSERT INTO turn_snapshots (session_id, turn, message_id, context, compaction_triggered,
          compaction_result, created_at)
        SELECT ${sessionId}, COALESCE(MAX(turn), 0) + 1, ${messageId}, ${dialect.json(snapshot.context)},
          ${snapshot.compactionTriggered},
          ${
        snapshot.compactionResult === undefined
          ? null
          : dialect.json(encodeCompactionResult(snapshot.compactionResult))
      }, ${snapshot.createdAt}
        FROM turn_snapshots WHERE session_id = ${sessionId}`

    /** One multi-row INSERT of a message's parts; its text is compiled once per number of parts. */
    const partTexts = new Map<number, string>()
    const insertParts = (message: Pick<NewMessage, "id" | "sessionId" | "parts">): Step => {
      const rows = message.parts.map((part, idx) => partInsertRow(dialect.json, message, part, idx))
      let text = partTexts.get(rows.length)
      if (text === undefined) {
        text = sql`INSERT INTO parts ${sql.insert(rows)}`.compile()[0]
        partTexts.set(rows.length, text)
      }
      return { sql: text, params: rows.flatMap((row) => Object.values(row)) }
    }

    /**
     * One message: the session row first (its seq, position and totals move, and the row is locked
     * for the rest of the transaction), then the message, its parts, its context item and the
     * snapshot of the turn it completes.
     */
    function* insertMessage(message: NewMessage): Program<Message, SessionNotFound | ParseResult.ParseError> {
      const inContext = message.inContext !== false
      const tokens = message.tokens ?? TokenUsage.zero
      const at = message.createdAt
      const bumped = yield stmt`UPDATE sessions SET
          next_seq = next_seq + 1,
          next_position = next_position + ${inContext ? 1 : 0},
          updated_at = CASE WHEN updated_at > ${at} THEN updated_at ELSE ${at} END,
          tokens_input = tokens_input + ${tokens.input},
          tokens_output = tokens_output + ${tokens.output},
          tokens_cache_read = tokens_cache_read + ${tokens.cacheRead},
          tokens_cache_write = tokens_cache_write + ${tokens.cacheWrite},
          tokens_total = tokens_total + ${TokenUsage.effectiveTotal(tokens)},
          cost = cost + ${message.cost ?? 0}
        WHERE id = ${message.sessionId}
        RETURNING next_seq, next_position`
      if (bumped[0] === undefined) return Either.left(new SessionNotFound({ sessionId: message.sessionId }))
      const counters = decodeCounters(bumped[0])
      if (Either.isLeft(counters)) return Either.left(counters.left)
      const { next_position: position, next_seq: seq } = counters.right
      const contextTokens = message.parts.reduce(
        (sum, part) => sum + part.tokenCount,
        MESSAGE_OVERHEAD_TOKENS
      )
      yield stmt`INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at, tokens_input,
          tokens_output, tokens_cache_read, tokens_cache_write, tokens_total, cost, finish_reason, error,
          in_context, context_tokens)
        VALUES (${message.id}, ${message.sessionId}, ${seq}, ${message.role}, ${message.agent}, ${message.model},
          ${false}, ${at}, ${tokens.input}, ${tokens.output}, ${tokens.cacheRead}, ${tokens.cacheWrite},
          ${tokens.total}, ${message.cost ?? 0}, ${message.finishReason ?? null},
          ${
        message.error === undefined ? null : dialect.json(message.error)
      }, ${inContext}, ${contextTokens})`
      if (message.parts.length > 0) yield insertParts(message)
      if (inContext) {
        yield stmt`INSERT INTO context_items (session_id, position, item_type, item_id, role, token_count)
          VALUES (${message.sessionId}, ${position}, 'message', ${message.id}, ${message.role}, ${contextTokens})`
      }
      if (message.snapshot !== undefined) {
        yield insertSnapshot(message.sessionId, message.id, message.snapshot)
      }
      // Everything stored is known here: build the message instead of reading it back.
      return Either.right(
        new Message({
          id: message.id,
          sessionId: message.sessionId,
          seq,
          role: message.role,
          agent: message.agent,
          model: message.model,
          isSummary: false,
          createdAt: at,
          tokens: message.tokens === undefined
            ? TokenUsage.zero
            : new TokenUsage(tokens, { disableValidation: true }),
          cost: message.cost ?? 0,
          ...(message.finishReason === undefined ? {} : { finishReason: message.finishReason }),
          ...(message.error === undefined ? {} : { error: message.error }),
          parts: message.parts
        }, { disableValidation: true })
      )
    }

    /** One tool part's new state. */
    function* writeToolPart(id: PartId, update: ToolPartUpdate): Program<void, StorageError> {
      // The session row first (see the header); an existing item changes, so the version moves.
      const session = yield stmt`UPDATE sessions SET context_version = context_version + 1
        WHERE id = (SELECT session_id FROM parts WHERE id = ${id} AND type = 'tool') RETURNING id`
      if (session.length === 0) {
        return Either.left(new StorageError({ operation: "updateToolPart", reason: `no tool part ${id}` }))
      }
      // the item's cost moves by the part's change (a tombstoned part no longer counts its output)
      yield stmt`UPDATE context_items SET token_count = token_count + ${update.tokenCount}
          - (SELECT token_count FROM parts WHERE id = ${id})
        WHERE item_id = (SELECT message_id FROM parts WHERE id = ${id} AND compacted_at IS NULL)`
      yield stmt`UPDATE parts SET
          tool_status = ${update.status},
          tool_output = coalesce(${update.output ?? null}, tool_output),
          tool_error = coalesce(${update.error ?? null}, tool_error),
          started_at = coalesce(${update.startedAt ?? null}, started_at),
          completed_at = coalesce(${update.completedAt ?? null}, completed_at),
          token_count = ${update.tokenCount}
        WHERE id = ${id}`
      if (update.output !== undefined || update.error !== undefined) yield* dialect.search.partChanged(id)
      return Either.right(undefined)
    }

    function* writeToolParts(
      updates: ReadonlyArray<{ readonly id: PartId; readonly update: ToolPartUpdate }>
    ): Program<void, StorageError> {
      for (const { id, update } of updates) {
        const written = yield* writeToolPart(id, update)
        if (Either.isLeft(written)) return written
      }
      return Either.right(undefined)
    }

    function* appendAll(
      messages: ReadonlyArray<NewMessage>,
      toolUpdates: ReadonlyArray<{ readonly id: PartId; readonly update: ToolPartUpdate }>
    ): Program<Array<Message>, SessionNotFound | StorageError | ParseResult.ParseError> {
      const written = yield* writeToolParts(toolUpdates)
      if (Either.isLeft(written)) return Either.left(written.left)
      const out: Array<Message> = []
      for (const message of messages) {
        const stored = yield* insertMessage(message)
        if (Either.isLeft(stored)) return Either.left(stored.left)
        out.push(stored.right)
      }
      return Either.right(out)
    }

    /** Ids a caller writes are checked here, so a row that could never be read back is never written. */
    const checkMessages = (messages: ReadonlyArray<NewMessage>) => {
      for (const message of messages) {
        if (!MESSAGE_ID.test(message.id)) {
          return Effect.fail(invalidId("message id", message.id, "msg_<ULID>"))
        }
        for (const part of message.parts) {
          if (!PART_ID.test(part.id)) return Effect.fail(invalidId("part id", part.id, "part_<ULID>"))
        }
      }
      return Effect.void
    }

    const appendMessage: Service["appendMessage"] = (message) =>
      Effect.zipRight(
        checkMessages([message]),
        query("appendMessage", transact(() => insertMessage(message)))
      )

    const appendMessages: Service["appendMessages"] = (messages, toolUpdates = []) =>
      messages.length === 0 && toolUpdates.length === 0
        ? Effect.succeed([])
        : Effect.zipRight(
          checkMessages(messages),
          query("appendMessages", transact(() => appendAll(messages, toolUpdates)))
        )

    const updateToolPart: Service["updateToolPart"] = (id, update) =>
      query("updateToolPart", transact(() => writeToolPart(id, update)))

    const updateToolParts: Service["updateToolParts"] = (updates) =>
      updates.length === 0 ? Effect.void : query("updateToolParts", transact(() => writeToolParts(updates)))

    const decodeToolParts = decodeAll(rows.MessageToolPartRow)
    const toolParts: Service["toolParts"] = (ids) =>
      ids.length === 0 ? Effect.succeed([]) : query(
        "toolParts",
        run(
          sql`SELECT p.message_id, p.id AS part_id, p.type, p.content, p.token_count, p.tool_status, p.tool_output,
            p.tool_error, p.started_at, p.completed_at, p.compacted_at
          FROM ${dialect.idList(ids)}
          JOIN parts p ON p.message_id = j.value AND p.type = 'tool'
          ORDER BY j.key, p.idx`
        ).pipe(
          Effect.flatMap(decodeToolParts),
          Effect.map((found) => found.map(rows.toMessageToolPart))
        )
      )

    const selectMessages = (ids: ReadonlyArray<string>) =>
      Effect.flatMap(
        runValues(sql`SELECT ${sql.literal(MESSAGE_COLUMNS)}
          FROM ${dialect.idList(ids)}
          JOIN messages m ON m.id = j.value
          LEFT JOIN parts p ON p.message_id = m.id
          ORDER BY j.key, p.idx`),
        rows.groupMessageValues
      )

    const messages: Service["messages"] = (ids) =>
      ids.length === 0 ? Effect.succeed([]) : query("messages", selectMessages(ids))

    const decodeMessageIds = decodeAll(MessageIdRow)
    const findToolCall: Service["findToolCall"] = (sessionId, toolCallId) =>
      query(
        "findToolCall",
        Effect.gen(function*() {
          const [row] = yield* Effect.flatMap(
            run(sql`SELECT p.message_id FROM parts p JOIN messages m ON m.id = p.message_id
              WHERE p.session_id = ${sessionId} AND p.tool_call_id = ${toolCallId}
              ORDER BY m.seq DESC LIMIT 1`),
            decodeMessageIds
          )
          if (row === undefined) return undefined
          const [message] = yield* selectMessages([row.message_id])
          return message
        })
      )

    const decodeTombstoned = Schema.decodeUnknownEither(TombstonedRow)
    function* tombstoneParts(
      sessionId: SessionId,
      parts: ReadonlyArray<Tombstone>,
      at: number
    ): Program<number, ParseResult.ParseError> {
      yield stmt`UPDATE sessions SET updated_at = CASE WHEN updated_at > ${at} THEN updated_at ELSE ${at} END,
          context_version = context_version + 1
        WHERE id = ${sessionId}`
      let changed = 0
      for (const part of parts) {
        const [found] = yield stmt`UPDATE parts SET compacted_at = ${at}
          WHERE id = ${part.partId} AND session_id = ${sessionId} AND type = 'tool'
            AND compacted_at IS NULL AND tool_status = 'completed'
          RETURNING message_id, token_count`
        if (found === undefined) continue
        const row = decodeTombstoned(found)
        if (Either.isLeft(row)) return Either.left(row.left)
        changed++
        yield stmt`UPDATE context_items SET token_count = token_count + ${
          part.tokenCount - row.right.token_count
        }
          WHERE item_id = ${row.right.message_id}`
      }
      return Either.right(changed)
    }

    const tombstone: Service["tombstone"] = (sessionId, parts, at) =>
      parts.length === 0
        ? Effect.succeed(0)
        : query("tombstone", transact(() => tombstoneParts(sessionId, parts, at)))

    const decodeContextItems = decodeAll(rows.ContextItemRow)
    const contextItems: Service["contextItems"] = (sessionId) =>
      query(
        "contextItems",
        run(sql`SELECT position, item_type, item_id, role, token_count FROM context_items
          WHERE session_id = ${sessionId} ORDER BY position`).pipe(
          Effect.flatMap(decodeContextItems),
          Effect.map((items) => items.map(rows.toContextItem))
        )
      )

    const decodeVersion = valuesDecoder(VersionRow, CONTEXT_SINCE_COLUMNS)
    const decodeSinceItem = valuesDecoder(rows.ContextItemRow, CONTEXT_SINCE_COLUMNS)
    const contextSince: Service["contextSince"] = (sessionId, afterPosition) =>
      query(
        "contextSince",
        Effect.flatMap(
          // One statement, so the version and the items come from the same snapshot.
          runValues(
            sql`SELECT s.context_version AS version, c.position, c.item_type, c.item_id, c.role,
              c.token_count
            FROM sessions s
            LEFT JOIN context_items c ON c.session_id = s.id AND c.position > ${afterPosition ?? -1}
            WHERE s.id = ${sessionId}
            ORDER BY c.position`
          ),
          (found) => {
            let version = 0
            const items: Array<ContextItem> = []
            for (const [index, row] of found.entries()) {
              if (index === 0) {
                const decoded = decodeVersion(row)
                if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
                version = decoded.right.version
              }
              // a session without (new) items: one row, its item columns NULL
              if (row[1] === null) continue
              const item = decodeSinceItem(row)
              if (Either.isLeft(item)) return Effect.fail(item.left)
              items.push(rows.toContextItem(item.right))
            }
            return Effect.succeed({ version, items })
          }
        )
      )

    const history: Service["history"] = (sessionId, q: HistoryQuery) =>
      query(
        "history",
        Effect.flatMap(
          runValues(sql`SELECT ${sql.literal(MESSAGE_COLUMNS)}
            FROM (SELECT * FROM messages WHERE session_id = ${sessionId} AND seq > ${q.afterSeq ?? 0}
                    ${q.includeSummaries === false ? sql`AND is_summary = ${false}` : sql.literal("")}
                  ORDER BY seq LIMIT ${q.limit}) m
            LEFT JOIN parts p ON p.message_id = m.id
            ORDER BY m.seq, p.idx`),
          rows.groupMessageValues
        )
      )

    const decodeSummaryRows = decodeAll(rows.SummaryRow)
    const decodeSources = decodeAll(rows.SourceRow)

    /** Summary rows with the summaries each condenses (its provenance rows of kind "summary"). */
    const withParents = (
      found: ReadonlyArray<typeof rows.SummaryRow.Type>,
      parentRows: ReadonlyArray<typeof rows.SourceRow.Type>
    ) => {
      const parents = new Map<string, Array<SummaryId>>()
      for (const row of parentRows) {
        if (row.source_type !== "summary") continue
        const list = parents.get(row.summary_id) ?? []
        list.push(row.source_id)
        parents.set(row.summary_id, list)
      }
      return found.map((row) => rows.toSummary(row, parents.get(row.id) ?? []))
    }

    const summaries: Service["summaries"] = (ids) =>
      ids.length === 0 ? Effect.succeed([]) : query(
        "summaries",
        Effect.gen(function*() {
          const found = yield* Effect.flatMap(
            run(
              sql`SELECT n.* FROM ${
                dialect.idList(ids)
              } JOIN summary_nodes n ON n.id = j.value ORDER BY j.key`
            ),
            decodeSummaryRows
          )
          const parentRows = found.some((row) => row.kind === "condensed")
            ? yield* Effect.flatMap(
              run(sql`SELECT summary_id, source_type, source_id FROM summary_sources
                WHERE summary_id IN (SELECT j.value FROM ${dialect.idList(ids)}) AND source_type = 'summary'
                ORDER BY summary_id, ord`),
              decodeSources
            )
            : []
          return withParents(found, parentRows)
        })
      )

    const sessionSummaries: Service["sessionSummaries"] = (sessionId) =>
      query(
        "sessionSummaries",
        Effect.gen(function*() {
          const found = yield* Effect.flatMap(
            run(sql`SELECT n.* FROM summary_nodes n JOIN messages m ON m.id = n.message_id
              WHERE n.session_id = ${sessionId} ORDER BY m.seq`),
            decodeSummaryRows
          )
          const parentRows = yield* Effect.flatMap(
            run(sql`SELECT s.summary_id, s.source_type, s.source_id FROM summary_sources s
              JOIN summary_nodes n ON n.id = s.summary_id
              WHERE n.session_id = ${sessionId} AND s.source_type = 'summary'
              ORDER BY s.summary_id, s.ord`),
            decodeSources
          )
          return withParents(found, parentRows)
        })
      )

    const summarySources: Service["summarySources"] = (id) =>
      query(
        "summarySources",
        run(
          sql`SELECT summary_id, source_type, source_id FROM summary_sources WHERE summary_id = ${id} ORDER BY ord`
        )
          .pipe(
            Effect.flatMap(decodeSources),
            Effect.map((found) => found.map(rows.toSource))
          )
      )

    const decodeCovers = decodeAll(CoverRow)
    const activeCovers: Service["activeCovers"] = (ids) =>
      ids.length === 0 ? Effect.succeed(new Map()) : query(
        "activeCovers",
        run(sql`WITH RECURSIVE up(orig, sid) AS (
            SELECT s.source_id, s.summary_id FROM summary_sources s
            WHERE s.source_id IN (SELECT j.value FROM ${dialect.idList(ids)})
            UNION ALL
            SELECT up.orig, n.superseded_by FROM up JOIN summary_nodes n ON n.id = up.sid
            WHERE n.superseded_by IS NOT NULL
          )
          SELECT up.orig, up.sid FROM up JOIN summary_nodes n ON n.id = up.sid WHERE n.superseded_by IS NULL`)
          .pipe(
            Effect.flatMap(decodeCovers),
            Effect.map((found) => new Map(found.map((row) => [row.orig, row.sid])))
          )
      )

    const decodeContextRows = decodeAll(ContextRow)
    const commitCompaction: Service["commitCompaction"] = (commit: CompactionCommit) =>
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
          const bumped = yield* run(sql`UPDATE sessions SET
              next_seq = next_seq + 1,
              updated_at = ${later(sql, "updated_at", summary.createdAt)},
              context_version = context_version + 1
            WHERE id = ${sessionId} RETURNING next_seq, next_position`)
          if (bumped[0] === undefined) return yield* new SessionNotFound({ sessionId })
          const seq = (yield* Schema.decodeUnknown(Counters)(bumped[0])).next_seq

          const positions = replaces.map((item) => item.position)
          const first = Math.min(...positions)
          const last = Math.max(...positions)
          const current = yield* Effect.flatMap(
            run(sql`SELECT position, item_id FROM context_items
              WHERE session_id = ${sessionId} AND position BETWEEN ${first} AND ${last} ORDER BY position`),
            decodeContextRows
          )
          const expected = new Map(replaces.map((item) => [item.position, item]))
          if (
            current.length !== replaces.length ||
            current.some((row) => expected.get(row.position)?.id !== row.item_id)
          ) {
            return yield* stale("the replaced items are no longer a contiguous run of the context")
          }

          yield* step("message")
          const message = commit.message
          yield* run(
            sql`INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at,
              in_context, context_tokens)
            VALUES (${message.id}, ${sessionId}, ${seq}, 'assistant', ${message.agent}, ${message.model}, ${true},
              ${message.createdAt}, ${false}, 0)`
          )
          if (message.parts.length > 0) {
            yield* runStep(insertParts({ id: message.id, sessionId, parts: message.parts }))
          }

          yield* step("node")
          yield* run(
            sql`INSERT INTO summary_nodes (id, session_id, message_id, kind, depth, level, content, token_count,
              span_start, span_end, span_start_seq, span_end_seq, message_count, file_ids, model, created_at)
            VALUES (${summary.id}, ${sessionId}, ${message.id}, ${summary.kind}, ${summary.depth}, ${summary.level},
              ${summary.content}, ${summary.tokenCount}, ${summary.spanStart}, ${summary.spanEnd},
              ${summary.spanStartSeq}, ${summary.spanEndSeq}, ${summary.messageCount},
              ${dialect.json(summary.fileIds)}, ${summary.model}, ${summary.createdAt})`
          )

          yield* step("provenance")
          yield* run(sql`INSERT INTO summary_sources ${
            sql.insert(replaces.map((item, ord) => ({
              summary_id: summary.id,
              ord,
              source_type: item.kind,
              source_id: item.id
            })))
          }`)

          yield* step("supersede")
          const parents = replaces.filter((item) => item.kind === "summary").map((item) => item.id)
          if (parents.length > 0) {
            const marked = yield* run(sql`UPDATE summary_nodes SET superseded_by = ${summary.id}
              WHERE id IN (SELECT j.value FROM ${dialect.idList(parents)}) AND superseded_by IS NULL
              RETURNING id`)
            if (marked.length !== parents.length) {
              return yield* stale("a parent summary was already condensed")
            }
          }

          yield* step("swap")
          yield* run(sql`DELETE FROM context_items
            WHERE session_id = ${sessionId} AND position BETWEEN ${first} AND ${last}`)
          yield* run(sql`INSERT INTO context_items (session_id, position, item_type, item_id, token_count)
            VALUES (${sessionId}, ${first}, 'summary', ${summary.id}, ${summary.tokenCount})`)

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

    function* snapshotAlone(sessionId: SessionId, snapshot: NewTurnSnapshot): Program<void, StorageError> {
      // the session row first: two writers of one session then number their turns one after the other
      const at = snapshot.createdAt
      const session =
        yield stmt`UPDATE sessions SET updated_at = CASE WHEN updated_at > ${at} THEN updated_at ELSE ${at} END
        WHERE id = ${sessionId} RETURNING id`
      if (session.length === 0) {
        return Either.left(
          new StorageError({ operation: "appendSnapshot", reason: `no session ${sessionId}` })
        )
      }
      yield insertSnapshot(sessionId, snapshot.messageId, snapshot)
      return Either.right(undefined)
    }

    const appendSnapshot: Service["appendSnapshot"] = (sessionId, snapshot) =>
      query("appendSnapshot", transact(() => snapshotAlone(sessionId, snapshot)))

    const decodeSnapshots = decodeAll(rows.SnapshotRow)
    const snapshots: Service["snapshots"] = (sessionId, q = {}) =>
      query(
        "snapshots",
        run(sql`SELECT * FROM turn_snapshots WHERE session_id = ${sessionId} AND turn > ${q.afterTurn ?? 0}
          ORDER BY turn ${q.limit === undefined ? sql.literal("") : sql`LIMIT ${q.limit}`}`).pipe(
          Effect.flatMap(decodeSnapshots),
          Effect.map((found) => found.map(rows.toSnapshot))
        )
      )

    const putFileReference: Service["putFileReference"] = (ref: FileReference) =>
      query(
        "putFileReference",
        run(sql`INSERT INTO file_references (id, path, file_type, token_count, summary, created_at)
          VALUES (${ref.id}, ${ref.path}, ${ref.fileType}, ${ref.tokenCount}, ${ref.summary}, ${ref.createdAt})
          ON CONFLICT (id) DO UPDATE SET path = excluded.path`).pipe(Effect.asVoid)
      )

    const decodeFileReferences = decodeAll(rows.FileReferenceRow)
    const getFileReference: Service["getFileReference"] = (id: FileId) =>
      query(
        "getFileReference",
        run(sql`SELECT * FROM file_references WHERE id = ${id}`).pipe(
          Effect.flatMap(decodeFileReferences),
          Effect.map((found) => found[0] === undefined ? undefined : rows.toFileReference(found[0]))
        )
      )

    const search: Service["search"] = (q) => query("search", dialect.search.search(q))
    const scan: Service["scan"] = (q) => query("scan", dialect.search.scan(q))

    const lifecycle = Lifecycle.make(ctx)
    const runs = Runs.make(ctx, { stmt, transact })
    const files = FileContents.make(ctx)

    return {
      createSession,
      getSession,
      listSessions,
      appendMessage,
      appendMessages,
      updateToolPart,
      updateToolParts,
      toolParts,
      findToolCall,
      tombstone,
      contextItems,
      contextSince,
      messages,
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
      scan,
      ...lifecycle,
      ...runs,
      ...files
    } satisfies Service
  })
