/**
 * Rows of the SQLite store and their mapping to domain values. Rows are decoded with the domain
 * Schemas at this boundary; a row that does not decode is reported, never passed on.
 *
 * @internal
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import {
  CompactionResult,
  FileReference,
  FinishReason,
  Message,
  SessionInfo,
  SummaryNode,
  ToolPart,
  TurnSnapshot
} from "../Domain.js"
import { StorageError } from "../Errors.js"
import type { NewMessage } from "../Storage.js"

// ---------------------------------------------------------------------------------------------

export interface MessageRow {
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

export interface PartRow {
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

export type MessagePartRow = MessageRow & PartRow

export const MESSAGE_COLUMNS =
  `m.id, m.session_id, m.seq, m.role, m.agent, m.model, m.is_summary, m.created_at,
  m.tokens_input, m.tokens_output, m.tokens_cache_read, m.tokens_cache_write, m.tokens_total, m.cost,
  m.finish_reason, m.error,
  p.id AS part_id, p.type, p.content, p.token_count, p.tool_status, p.tool_output, p.tool_error,
  p.started_at, p.completed_at, p.compacted_at`

const optional = <K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** The token-usage columns that messages and sessions both carry, as a `TokenUsage` object. */
interface TokenColumns {
  readonly tokens_input: number
  readonly tokens_output: number
  readonly tokens_cache_read: number
  readonly tokens_cache_write: number
  readonly tokens_total: number
}

const tokenUsageObject = (row: TokenColumns) => ({
  input: row.tokens_input,
  output: row.tokens_output,
  cacheRead: row.tokens_cache_read,
  cacheWrite: row.tokens_cache_write,
  total: row.tokens_total
})

export const partObject = (row: PartRow): Record<string, unknown> => {
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
  tokens: tokenUsageObject(row),
  cost: row.cost,
  ...optional("finishReason", row.finish_reason),
  ...optional("error", row.error === null ? null : JSON.parse(row.error)),
  parts
})

const decodeMessage = Schema.decodeUnknownEither(Message)
/**
 * Checks a row against the message's fields without the class transformation, which costs more
 * than the check itself; rows that pass become `Message`s directly. A row that fails goes through
 * the full decode, for its error message.
 */
const isMessageShape = Schema.is(Schema.Struct(Message.fields))
export const decodeSession = Schema.decodeUnknownEither(SessionInfo)
export const decodeSummary = Schema.decodeUnknownEither(SummaryNode)
export const decodeFileReference = Schema.decodeUnknownEither(FileReference)
export const decodeToolPart = Schema.decodeUnknownEither(ToolPart)

export const unreadable = (operation: string) => (error: ParseResult.ParseError) =>
  new StorageError({
    operation,
    reason: `a stored row does not match the expected shape: ${
      ParseResult.TreeFormatter.formatErrorSync(error)
    }`
  })

const isFinishReason = Schema.is(FinishReason)

/** Groups joined message/part rows (ordered by message, then part) into messages. */
export const groupMessages = (
  rows: ReadonlyArray<MessagePartRow>
): Effect.Effect<Array<Message>, StorageError> => {
  const out: Array<Message> = []
  // Before record validated its input, it stored finish reasons as given (`end_turn`); such a
  // row cannot be repaired (append-only), so it reads as "other" rather than failing every read.
  const unknownReasons: Array<string> = []
  let current: MessageRow | undefined
  let parts: Array<Record<string, unknown>> = []
  const flush = (): StorageError | undefined => {
    if (current === undefined) return undefined
    let object = messageObject(current, parts)
    if (isMessageShape(object)) {
      out.push(new Message(object, { disableValidation: true }))
      return undefined
    }
    if (current.finish_reason !== null && !isFinishReason(current.finish_reason)) {
      unknownReasons.push(`${current.id} ("${current.finish_reason}")`)
      object = { ...object, finishReason: "other" }
    }
    const decoded = decodeMessage(object)
    if (Either.isLeft(decoded)) return unreadable("read messages")(decoded.left)
    out.push(decoded.right)
    return undefined
  }
  for (const row of rows) {
    if (current === undefined || current.id !== row.id) {
      const error = flush()
      if (error !== undefined) return Effect.fail(error)
      current = row
      parts = []
    }
    if (row.part_id !== null) parts.push(partObject(row))
  }
  const error = flush()
  if (error !== undefined) return Effect.fail(error)
  if (unknownReasons.length === 0) return Effect.succeed(out)
  return Effect.as(
    Effect.logWarning(
      `stored messages with a finish reason mnesis does not know read as "other": ${
        unknownReasons.join(", ")
      }`
    ),
    out
  )
}

export interface SessionRow {
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

export const sessionObject = (row: SessionRow) => ({
  id: row.id,
  ...optional("parentId", row.parent_id),
  model: row.model,
  agent: row.agent,
  systemPrompt: row.system_prompt,
  ...optional("metadata", row.metadata === null ? null : JSON.parse(row.metadata)),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  tokens: tokenUsageObject(row),
  cost: row.cost,
  messageCount: row.next_seq
})

export interface SummaryRow {
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

export const SUMMARY_COLUMNS =
  `n.id, n.session_id, n.message_id, n.kind, n.depth, n.level, n.content, n.token_count,
  n.span_start, n.span_end, n.span_start_seq, n.span_end_seq, n.message_count, n.file_ids, n.model,
  n.created_at, n.superseded_by,
  (SELECT json_group_array(s.source_id ORDER BY s.ord) FROM summary_sources s
     WHERE s.summary_id = n.id AND s.source_type = 'summary') AS parents`

export const summaryObject = (row: SummaryRow) => ({
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
  parents: JSON.parse(row.parents) as unknown,
  fileIds: JSON.parse(row.file_ids) as unknown,
  model: row.model,
  createdAt: row.created_at,
  ...optional("supersededBy", row.superseded_by)
})

export const decodeAll = <A, R>(
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
export const partContent = (part: NewMessage["parts"][number]): Record<string, unknown> => {
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

export interface SnapshotRow {
  readonly session_id: string
  readonly turn: number
  readonly message_id: string
  readonly context: string
  readonly compaction_triggered: number
  readonly compaction_result: string | null
  readonly created_at: number
}

export const snapshotObject = (row: SnapshotRow) => ({
  turn: row.turn,
  messageId: row.message_id,
  context: JSON.parse(row.context) as unknown,
  compactionTriggered: row.compaction_triggered === 1,
  ...(row.compaction_result === null
    ? {}
    : { compactionResult: JSON.parse(row.compaction_result) as unknown }),
  createdAt: row.created_at
})

export const decodeSnapshot = Schema.decodeUnknownEither(TurnSnapshot)
export const encodeCompactionResult = Schema.encodeSync(CompactionResult)
