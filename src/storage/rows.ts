/**
 * The store's rows as Schemas, and their mapping to domain values. Column values are decoded
 * here, once: ids by their patterns, enums by their literals, numbers by their ranges, booleans
 * and JSON through the dialect's codecs (SQLite keeps 0/1 and JSON text; another database may
 * return booleans and parsed JSON). A row that does not decode is reported, never passed on.
 *
 * @internal
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import {
  CompactionMarkerPart,
  CompactionResult,
  ContextBreakdown,
  type ContextItem,
  FileId,
  FileReference,
  FileRefPart,
  FinishReason,
  Message,
  MessageId,
  type Part,
  PartId,
  ReasoningPart,
  Role,
  SessionId,
  SessionInfo,
  SummaryId,
  SummaryKind,
  SummaryLevel,
  SummaryNode,
  TextPart,
  Timestamp,
  TokenUsage,
  ToolPart,
  ToolStatus,
  TurnError,
  TurnSnapshot
} from "../Domain.js"
import { StorageError } from "../Errors.js"
import type { NewMessage, ScannedText, SearchHit, SummarySource } from "../Storage.js"
import type { Columns } from "./Dialect.js"
import { rowDecoder, valuesDecoder } from "./rowDecoder.js"

const Count = Schema.NonNegativeInt
const Nullable = Schema.NullOr

/**
 * The columns of the hot reads — a context's messages and parts, its items — hold what the store
 * wrote itself after checking it (ids at the public boundary, counts and times by construction):
 * they are decoded by type (a string, a number), not re-checked against their patterns and ranges
 * on every read, which would cost more than reading the rows (bench/README.md, cold build).
 */
const Stored = {
  MessageId: Schema.String.pipe(Schema.brand("MessageId")),
  SessionId: Schema.String.pipe(Schema.brand("SessionId")),
  PartId: Schema.String.pipe(Schema.brand("PartId")),
  SummaryId: Schema.String.pipe(Schema.brand("SummaryId")),
  Count: Schema.Number,
  Int: Schema.Number,
  Time: Schema.Number
}

/** A ParseError from a row, as the storage failure callers see. */
export const unreadable = (operation: string) => (error: ParseResult.ParseError) =>
  new StorageError({
    operation,
    reason: `a stored row does not match the expected shape: ${
      ParseResult.TreeFormatter.formatErrorSync(error)
    }`
  })

/** Decodes every row with `schema`, or fails with the first row that does not match. */
export const decodeAll = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = rowDecoder(schema)
  return (rows: ReadonlyArray<unknown>): Effect.Effect<Array<A>, ParseResult.ParseError> =>
    Effect.suspend(() => {
      const out: Array<A> = []
      for (const row of rows) {
        const decoded = decode(row)
        if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
        out.push(decoded.right)
      }
      return Effect.succeed(out)
    })
}

/** `{ [key]: value }`, or `{}` when the column is NULL (optional fields are absent, not undefined). */
const present = <K extends string, V>(key: K, value: V | null): { readonly [P in K]?: V } =>
  value === null ? {} : { [key]: value } as { readonly [P in K]: V }

/** The immutable fields of a part, stored as JSON in `parts.content`. */
export const partContent = (part: NewMessage["parts"][number] | Part): Record<string, unknown> => {
  switch (part.type) {
    case "text":
      return { text: part.text }
    case "reasoning":
      return part.signature === undefined
        ? { text: part.text }
        : { text: part.text, signature: part.signature }
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

/** The `parts` row of a part (a stored part keeps its tombstone; a new one has none). */
export const partInsertRow = (
  json: (value: unknown) => string,
  message: { readonly id: string; readonly sessionId: string },
  part: NewMessage["parts"][number] | Part,
  idx: number
) => {
  const tool = part.type === "tool" ? part : undefined
  return {
    id: part.id,
    message_id: message.id,
    session_id: message.sessionId,
    idx,
    type: part.type,
    content: json(partContent(part)),
    token_count: part.tokenCount,
    tool_call_id: tool?.toolCallId ?? null,
    tool_name: tool?.toolName ?? null,
    tool_status: tool?.status ?? null,
    tool_output: tool?.output ?? null,
    tool_error: tool?.error ?? null,
    started_at: tool?.startedAt ?? null,
    completed_at: tool?.completedAt ?? null,
    compacted_at: tool !== undefined && "compactedAt" in tool ? tool.compactedAt ?? null : null
  }
}

/** What `parts.content` holds for each part type: the part without the fields kept in columns. */
const TextContent = TextPart.pipe(Schema.omit("id", "tokenCount", "type"))
const ReasoningContent = ReasoningPart.pipe(Schema.omit("id", "tokenCount", "type"))
const ToolContent = ToolPart.pipe(Schema.pick("toolName", "toolCallId", "input"))
const FileRefContent = FileRefPart.pipe(Schema.omit("id", "tokenCount", "type"))
const CompactionContent = CompactionMarkerPart.pipe(Schema.omit("id", "tokenCount", "type"))

export const encodeCompactionResult = Schema.encodeSync(CompactionResult)

/** A row's token columns as a `TokenUsage` (the shared zero for the many messages without usage). */
const usage = (row: {
  readonly tokens_input: number
  readonly tokens_output: number
  readonly tokens_cache_read: number
  readonly tokens_cache_write: number
  readonly tokens_total: number
}) =>
  row.tokens_input === 0 && row.tokens_output === 0 && row.tokens_cache_read === 0 &&
    row.tokens_cache_write === 0 && row.tokens_total === 0
    ? TokenUsage.zero
    : new TokenUsage({
      input: row.tokens_input,
      output: row.tokens_output,
      cacheRead: row.tokens_cache_read,
      cacheWrite: row.tokens_cache_write,
      total: row.tokens_total
    }, { disableValidation: true })

/**
 * A `Message` from fields already decoded: what `new Message(fields, { disableValidation: true })`
 * builds — an object with Message's prototype and the fields as its own properties — without the
 * constructor's two copies of the fields and its walk over them for defaults (Message has none),
 * which cost as much as decoding the row (bench/README.md, cold build).
 * test/storage/RowDecoder.test.ts checks that both give equal messages.
 */
export const makeMessage = (fields: ConstructorParameters<typeof Message>[0]): Message => {
  const made: unknown = Object.create(Message.prototype)
  return made instanceof Message
    ? Object.assign(made, fields)
    : new Message(fields, { disableValidation: true })
}

/** The row Schemas for a dialect's column codecs. */
export const makeRows = (columns: Columns) => {
  const { Bool, Json } = columns

  const MessageRow = Schema.Struct({
    id: Stored.MessageId,
    session_id: Stored.SessionId,
    seq: Stored.Int,
    role: Role,
    agent: Schema.String,
    model: Schema.String,
    is_summary: Bool,
    created_at: Stored.Time,
    tokens_input: Stored.Count,
    tokens_output: Stored.Count,
    tokens_cache_read: Stored.Count,
    tokens_cache_write: Stored.Count,
    tokens_total: Stored.Count,
    cost: Schema.Number,
    finish_reason: Nullable(Schema.String),
    error: Nullable(Json(TurnError))
  })

  const partBase = { part_id: Stored.PartId, token_count: Stored.Count }
  const toolRowFields = {
    ...partBase,
    type: Schema.Literal("tool"),
    content: Json(ToolContent),
    tool_status: ToolStatus,
    tool_output: Nullable(Schema.String),
    tool_error: Nullable(Schema.String),
    started_at: Nullable(Stored.Time),
    completed_at: Nullable(Stored.Time),
    compacted_at: Nullable(Stored.Time)
  }
  const ToolPartRow = Schema.Struct(toolRowFields)
  const PartRow = Schema.Union(
    Schema.Struct({ ...partBase, type: Schema.Literal("text"), content: Json(TextContent) }),
    Schema.Struct({
      ...partBase,
      type: Schema.Literal("reasoning"),
      content: Json(ReasoningContent)
    }),
    ToolPartRow,
    Schema.Struct({ ...partBase, type: Schema.Literal("file_ref"), content: Json(FileRefContent) }),
    Schema.Struct({
      ...partBase,
      type: Schema.Literal("compaction"),
      content: Json(CompactionContent)
    })
  )
  type PartRow = typeof PartRow.Type

  const toToolPart = (row: typeof ToolPartRow.Type): ToolPart => ({
    id: row.part_id,
    tokenCount: row.token_count,
    type: "tool",
    ...row.content,
    status: row.tool_status,
    ...present("output", row.tool_output),
    ...present("error", row.tool_error),
    ...present("startedAt", row.started_at),
    ...present("completedAt", row.completed_at),
    ...present("compactedAt", row.compacted_at)
  })

  const toPart = (row: PartRow): Part => {
    // text first and without spreads: nearly every part is text
    if (row.type === "text") {
      return { id: row.part_id, tokenCount: row.token_count, type: "text", text: row.content.text }
    }
    const base = { id: row.part_id, tokenCount: row.token_count }
    switch (row.type) {
      case "reasoning":
        return { ...base, type: "reasoning", ...row.content }
      case "file_ref":
        return { ...base, type: "file_ref", ...row.content }
      case "compaction":
        return { ...base, type: "compaction", ...row.content }
      case "tool":
        return toToolPart(row)
    }
  }

  /** A tool part with the id of its message (what `toolParts` reads). */
  const MessageToolPartRow = Schema.Struct({ ...toolRowFields, message_id: Stored.MessageId })
  const toMessageToolPart = (row: typeof MessageToolPartRow.Type) => ({
    messageId: row.message_id,
    part: toToolPart(row)
  })

  const decodeMessageRow = valuesDecoder(MessageRow, MESSAGE_COLUMN_NAMES)
  const decodePartRow = valuesDecoder(PartRow, MESSAGE_COLUMN_NAMES)
  const reasons: ReadonlySet<string> = new Set(FinishReason.literals)
  const isFinishReason = (reason: string): reason is FinishReason => reasons.has(reason)
  const ID = MESSAGE_COLUMN_NAMES.indexOf("id")
  const PART_ID = MESSAGE_COLUMN_NAMES.indexOf("part_id")

  /**
   * Joined message/part rows as column values in {@link MESSAGE_COLUMN_NAMES} order (ordered by
   * message, then part; part columns NULL for a message without parts) grouped into messages.
   * Message columns are decoded once per message.
   */
  const groupMessageValues = (rows: ReadonlyArray<ReadonlyArray<unknown>>) =>
    Effect.suspend((): Effect.Effect<Array<Message>, ParseResult.ParseError> => {
      const out: Array<Message> = []
      // Before `record` validated its input it stored finish reasons as given (`end_turn`); such
      // rows cannot be repaired (append-only), so they read as "other" rather than failing.
      const unknownReasons: Array<string> = []
      let current: typeof MessageRow.Type | undefined
      let parts: Array<Part> = []
      const flush = () => {
        if (current === undefined) return
        const m = current
        const base = {
          id: m.id,
          sessionId: m.session_id,
          seq: m.seq,
          role: m.role,
          agent: m.agent,
          model: m.model,
          isSummary: m.is_summary,
          createdAt: m.created_at,
          tokens: usage(m),
          cost: m.cost,
          parts
        }
        const reason = m.finish_reason
        if (reason === null && m.error === null) {
          out.push(makeMessage(base))
          return
        }
        if (reason !== null && !isFinishReason(reason)) unknownReasons.push(`${m.id} ("${reason}")`)
        out.push(makeMessage({
          ...base,
          ...(reason === null ? {} : { finishReason: isFinishReason(reason) ? reason : "other" }),
          ...present("error", m.error)
        }))
      }
      for (const row of rows) {
        if (current === undefined || current.id !== row[ID]) {
          flush()
          const decoded = decodeMessageRow(row)
          if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
          current = decoded.right
          parts = []
        }
        if (row[PART_ID] !== null) {
          const part = decodePartRow(row)
          if (Either.isLeft(part)) return Effect.fail(part.left)
          parts.push(toPart(part.right))
        }
      }
      flush()
      return unknownReasons.length === 0 ? Effect.succeed(out) : Effect.as(
        Effect.logWarning(
          `stored messages with a finish reason mnesis does not know read as "other": ${
            unknownReasons.join(", ")
          }`
        ),
        out
      )
    })

  /** {@link groupMessageValues} for rows as objects with (at least) the columns of {@link MESSAGE_COLUMNS}. */
  const groupMessages = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>) =>
    groupMessageValues(rows.map((row) => MESSAGE_COLUMN_NAMES.map((column) => row[column])))

  const SessionRow = Schema.Struct({
    id: SessionId,
    parent_id: Nullable(SessionId),
    model: Schema.String,
    agent: Schema.String,
    system_prompt: Schema.String,
    metadata: Nullable(Json(Schema.Record({ key: Schema.String, value: Schema.Unknown }))),
    created_at: Timestamp,
    updated_at: Timestamp,
    next_seq: Count,
    next_position: Count,
    context_version: Count,
    tokens_input: Count,
    tokens_output: Count,
    tokens_cache_read: Count,
    tokens_cache_write: Count,
    tokens_total: Count,
    cost: Schema.NonNegative
  })
  const toSession = (row: typeof SessionRow.Type) =>
    new SessionInfo({
      id: row.id,
      ...present("parentId", row.parent_id),
      model: row.model,
      agent: row.agent,
      systemPrompt: row.system_prompt,
      ...present("metadata", row.metadata),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      tokens: new TokenUsage({
        input: row.tokens_input,
        output: row.tokens_output,
        cacheRead: row.tokens_cache_read,
        cacheWrite: row.tokens_cache_write,
        total: row.tokens_total
      }, { disableValidation: true }),
      cost: row.cost,
      messageCount: row.next_seq
    }, { disableValidation: true })

  const SummaryRow = Schema.Struct({
    id: SummaryId,
    session_id: SessionId,
    message_id: MessageId,
    kind: SummaryKind,
    depth: Count,
    level: SummaryLevel,
    content: Schema.String,
    token_count: Count,
    span_start: MessageId,
    span_end: MessageId,
    span_start_seq: Schema.Int,
    span_end_seq: Schema.Int,
    message_count: Count,
    file_ids: Json(Schema.Array(FileId)),
    model: Schema.String,
    created_at: Timestamp,
    superseded_by: Nullable(SummaryId)
  })
  const toSummary = (row: typeof SummaryRow.Type, parents: ReadonlyArray<SummaryId>) =>
    new SummaryNode({
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
      parents,
      fileIds: row.file_ids,
      model: row.model,
      createdAt: row.created_at,
      ...present("supersededBy", row.superseded_by)
    }, { disableValidation: true })

  const SourceRow = Schema.Union(
    Schema.Struct({ summary_id: SummaryId, source_type: Schema.Literal("message"), source_id: MessageId }),
    Schema.Struct({ summary_id: SummaryId, source_type: Schema.Literal("summary"), source_id: SummaryId })
  )
  const toSource = (row: typeof SourceRow.Type): SummarySource =>
    row.source_type === "message"
      ? { kind: "message", id: row.source_id }
      : { kind: "summary", id: row.source_id }

  const ContextItemRow = Schema.Struct({
    position: Stored.Int,
    item_type: Schema.Literal("message", "summary"),
    item_id: Schema.Union(Stored.MessageId, Stored.SummaryId),
    role: Nullable(Role),
    token_count: Stored.Count
  })
  const toContextItem = (row: typeof ContextItemRow.Type): ContextItem =>
    row.role === null
      ? { position: row.position, kind: row.item_type, id: row.item_id, tokenCount: row.token_count }
      : {
        position: row.position,
        kind: row.item_type,
        id: row.item_id,
        role: row.role,
        tokenCount: row.token_count
      }

  const SnapshotRow = Schema.Struct({
    session_id: SessionId,
    turn: Schema.Int,
    message_id: MessageId,
    context: Json(ContextBreakdown),
    compaction_triggered: Bool,
    compaction_result: Nullable(Json(CompactionResult)),
    created_at: Timestamp
  })
  const toSnapshot = (row: typeof SnapshotRow.Type) =>
    new TurnSnapshot({
      turn: row.turn,
      messageId: row.message_id,
      context: row.context,
      compactionTriggered: row.compaction_triggered,
      ...present("compactionResult", row.compaction_result),
      createdAt: row.created_at
    }, { disableValidation: true })

  const FileReferenceRow = Schema.Struct({
    id: FileId,
    path: Schema.String,
    file_type: Schema.String,
    token_count: Count,
    summary: Schema.String,
    created_at: Timestamp
  })
  const toFileReference = (row: typeof FileReferenceRow.Type) =>
    new FileReference({
      id: row.id,
      path: row.path,
      fileType: row.file_type,
      tokenCount: row.token_count,
      summary: row.summary,
      createdAt: row.created_at
    }, { disableValidation: true })

  const hitFields = {
    position: Schema.Int,
    session_id: SessionId,
    message_id: MessageId,
    part_id: PartId,
    seq: Schema.Int,
    role: Role,
    is_summary: Bool,
    summary_id: Nullable(SummaryId)
  }
  const HitRow = Schema.Struct({ ...hitFields, snippet: Schema.String })
  const ScanRow = Schema.Struct({ ...hitFields, text: Nullable(Schema.String) })
  const hitOf = (row: Omit<typeof HitRow.Type, "snippet">): Omit<SearchHit, "snippet"> => ({
    position: row.position,
    sessionId: row.session_id,
    messageId: row.message_id,
    partId: row.part_id,
    seq: row.seq,
    role: row.role,
    isSummary: row.is_summary,
    ...present("summaryId", row.summary_id)
  })
  const toHit = (row: typeof HitRow.Type): SearchHit => ({ ...hitOf(row), snippet: row.snippet })
  const toScanned = (row: typeof ScanRow.Type): ScannedText => ({ ...hitOf(row), text: row.text ?? "" })

  return {
    MessageRow,
    PartRow,
    toPart,
    groupMessages,
    groupMessageValues,
    MessageToolPartRow,
    toMessageToolPart,
    SessionRow,
    toSession,
    SummaryRow,
    toSummary,
    SourceRow,
    toSource,
    ContextItemRow,
    toContextItem,
    SnapshotRow,
    toSnapshot,
    FileReferenceRow,
    toFileReference,
    HitRow,
    toHit,
    ScanRow,
    toScanned
  }
}

export type Rows = ReturnType<typeof makeRows>

const MESSAGE_FIELDS = [
  "id",
  "session_id",
  "seq",
  "role",
  "agent",
  "model",
  "is_summary",
  "created_at",
  "tokens_input",
  "tokens_output",
  "tokens_cache_read",
  "tokens_cache_write",
  "tokens_total",
  "cost",
  "finish_reason",
  "error"
]
const PART_FIELDS = [
  "type",
  "content",
  "token_count",
  "tool_status",
  "tool_output",
  "tool_error",
  "started_at",
  "completed_at",
  "compacted_at"
]

/** The names of the columns of {@link MESSAGE_COLUMNS}, in order. */
export const MESSAGE_COLUMN_NAMES: ReadonlyArray<string> = [...MESSAGE_FIELDS, "part_id", ...PART_FIELDS]

/** The columns of a message joined with its parts (`m`, `p`), in the shape `groupMessages` reads. */
export const MESSAGE_COLUMNS = [
  ...MESSAGE_FIELDS.map((column) => `m.${column}`),
  "p.id AS part_id",
  ...PART_FIELDS.map((column) => `p.${column}`)
].join(", ")

export const SUMMARY_COLUMNS =
  `n.id, n.session_id, n.message_id, n.kind, n.depth, n.level, n.content, n.token_count,
  n.span_start, n.span_end, n.span_start_seq, n.span_end_seq, n.message_count, n.file_ids, n.model,
  n.created_at, n.superseded_by`
