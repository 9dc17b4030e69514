/**
 * The data mnesis stores and hands back: ids, sessions, messages and their parts, token usage,
 * summary nodes and file references. Every persisted or public shape is a `Schema`, decoded at the
 * boundaries (database rows, provider responses, user input) and trusted everywhere else.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------------

const ulidPattern = "[0-9A-HJKMNP-TV-Z]{26}"

/** `sess_` + ULID. */
export const SessionId = Schema.String.pipe(
  Schema.pattern(new RegExp(`^sess_${ulidPattern}$`)),
  Schema.brand("SessionId")
)
export type SessionId = typeof SessionId.Type

/** `msg_` + ULID. */
export const MessageId = Schema.String.pipe(
  Schema.pattern(new RegExp(`^msg_${ulidPattern}$`)),
  Schema.brand("MessageId")
)
export type MessageId = typeof MessageId.Type

/** `part_` + ULID. */
export const PartId = Schema.String.pipe(
  Schema.pattern(new RegExp(`^part_${ulidPattern}$`)),
  Schema.brand("PartId")
)
export type PartId = typeof PartId.Type

/** `sum_` + ULID: a summary node of the DAG. */
export const SummaryId = Schema.String.pipe(
  Schema.pattern(new RegExp(`^sum_${ulidPattern}$`)),
  Schema.brand("SummaryId")
)
export type SummaryId = typeof SummaryId.Type

/** `file_` + the hex SHA-256 of the file's content: the same content always has the same id. */
export const FileId = Schema.String.pipe(Schema.pattern(/^file_[0-9a-f]{64}$/), Schema.brand("FileId"))
export type FileId = typeof FileId.Type

/** Matches every file id inside free text (summaries, tool output), for footer propagation. */
export const FILE_ID_PATTERN = /\bfile_[0-9a-f]{64}\b/g

// ---------------------------------------------------------------------------------------------
// Token usage
// ---------------------------------------------------------------------------------------------

const Count = Schema.NonNegativeInt

/**
 * Tokens reported (or counted) for one provider call, a turn or a whole session.
 *
 * @since 0.1.0
 */
export class TokenUsage extends Schema.Class<TokenUsage>("TokenUsage")({
  input: Count,
  output: Count,
  cacheRead: Count,
  cacheWrite: Count,
  total: Count
}) {
  static readonly zero: TokenUsage = new TokenUsage({
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    total: 0
  })

  /** Builds a usage from partial counts; `total` defaults to 0 ("not reported"). */
  static of(fields: { readonly [K in keyof TokenUsageFields]?: number | undefined }): TokenUsage {
    return new TokenUsage({
      input: fields.input ?? 0,
      output: fields.output ?? 0,
      cacheRead: fields.cacheRead ?? 0,
      cacheWrite: fields.cacheWrite ?? 0,
      total: fields.total ?? 0
    })
  }

  /** `total` when the provider reported one, otherwise the sum of every counted field. */
  static effectiveTotal(usage: TokenUsageFields): number {
    return usage.total > 0 ? usage.total : usage.input + usage.output + usage.cacheRead + usage.cacheWrite
  }

  /** Field-wise sum of two valid usages (so the result needs no validation). */
  static add(a: TokenUsageFields, b: TokenUsageFields): TokenUsage {
    return new TokenUsage({
      input: a.input + b.input,
      output: a.output + b.output,
      cacheRead: a.cacheRead + b.cacheRead,
      cacheWrite: a.cacheWrite + b.cacheWrite,
      total: TokenUsage.effectiveTotal(a) + TokenUsage.effectiveTotal(b)
    }, { disableValidation: true })
  }
}

/** The plain fields of a {@link TokenUsage}; any object of this shape is accepted as input. */
export interface TokenUsageFields {
  readonly input: number
  readonly output: number
  readonly cacheRead: number
  readonly cacheWrite: number
  readonly total: number
}

/** Tokens a message costs in the context beyond its parts (role and framing). */
export const MESSAGE_OVERHEAD_TOKENS = 4

// ---------------------------------------------------------------------------------------------
// Parts
// ---------------------------------------------------------------------------------------------

/** Why a provider call ended. `error` marks a failed turn (never sent back to a model). */
export const FinishReason = Schema.Literal(
  "stop",
  "max_tokens",
  "tool_calls",
  "max_steps",
  "stop_sequence",
  "content_filter",
  "error",
  "other"
)
export type FinishReason = typeof FinishReason.Type

/**
 * What each provider's own name for why a call ended means here (Anthropic's `stop_reason`,
 * OpenAI's `finish_reason`), so a host can pass its provider's value to `record` as it is.
 */
const providerFinishReasons = {
  end_turn: "stop",
  tool_use: "tool_calls",
  pause_turn: "other",
  refusal: "content_filter",
  length: "max_tokens",
  function_call: "tool_calls"
} as const satisfies Record<string, FinishReason>

const isProviderFinishReason = (name: string): name is keyof typeof providerFinishReasons =>
  Object.hasOwn(providerFinishReasons, name)

/**
 * A finish reason as a caller may give it: one of ours, or a provider's name for one, decoded to
 * ours (`end_turn` → `stop`, `length` → `max_tokens`, `tool_use` → `tool_calls`, …).
 *
 * @since 0.1.0
 */
export const FinishReasonInput = Schema.transform(
  Schema.Union(
    FinishReason,
    Schema.Literal("end_turn", "tool_use", "pause_turn", "refusal", "length", "function_call")
  ).annotations({
    message: () => ({
      message: `must be one of ${FinishReason.literals.join(", ")}, or a provider's name for one (${
        Object.keys(providerFinishReasons).join(", ")
      })`,
      override: true
    })
  }),
  FinishReason,
  {
    strict: true,
    decode: (name) => isProviderFinishReason(name) ? providerFinishReasons[name] : name,
    encode: (reason) => reason
  }
)
export type FinishReasonInput = typeof FinishReasonInput.Encoded

export const Role = Schema.Literal("user", "assistant")
export type Role = typeof Role.Type

export const ToolStatus = Schema.Literal("pending", "running", "completed", "error")
export type ToolStatus = typeof ToolStatus.Type

/** Epoch milliseconds. */
export const Timestamp = Schema.NonNegativeInt

/** Fields every stored part has: its id and its cost in the context as rendered today. */
const StoredFields = {
  id: PartId,
  tokenCount: Count
}

const textFields = { type: Schema.Literal("text"), text: Schema.String }
const reasoningFields = {
  type: Schema.Literal("reasoning"),
  text: Schema.String,
  /** Provider signature that must be echoed back with the reasoning (Anthropic thinking). */
  signature: Schema.optional(Schema.String)
}
const toolFields = {
  type: Schema.Literal("tool"),
  toolName: Schema.String,
  toolCallId: Schema.String,
  input: Schema.Unknown,
  output: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  status: ToolStatus,
  startedAt: Schema.optional(Timestamp),
  completedAt: Schema.optional(Timestamp)
}
const fileRefFields = {
  type: Schema.Literal("file_ref"),
  fileId: FileId,
  path: Schema.String,
  fileType: Schema.String,
  /** Tokens of the file's full content (what inlining it would have cost). */
  fileTokens: Count,
  /** Deterministic structural summary shown in place of the content. */
  summary: Schema.String
}
const compactionFields = {
  type: Schema.Literal("compaction"),
  summaryId: SummaryId,
  level: Schema.Literal(1, 2, 3),
  depth: Count,
  messagesCovered: Count,
  tokensCovered: Count
}

/** Plain text written by the user or the model. */
export const TextPart = Schema.Struct({ ...StoredFields, ...textFields })
export type TextPart = typeof TextPart.Type

/** Model reasoning ("thinking"), kept so it can be returned to providers that require it. */
export const ReasoningPart = Schema.Struct({ ...StoredFields, ...reasoningFields })
export type ReasoningPart = typeof ReasoningPart.Type

/**
 * One tool call together with its result: call and result live in one part so they can never be
 * separated by context assembly or compaction. `compactedAt` is the pruning tombstone.
 */
export const ToolPart = Schema.Struct({
  ...StoredFields,
  ...toolFields,
  compactedAt: Schema.optional(Timestamp)
})
export type ToolPart = typeof ToolPart.Type

/** A large file kept out of the context: its id, path and structural summary stand in for it. */
export const FileRefPart = Schema.Struct({ ...StoredFields, ...fileRefFields })
export type FileRefPart = typeof FileRefPart.Type

/** Marks a summary message: which summary node it carries and what it replaced. */
export const CompactionMarkerPart = Schema.Struct({ ...StoredFields, ...compactionFields })
export type CompactionMarkerPart = typeof CompactionMarkerPart.Type

export const Part = Schema.Union(TextPart, ReasoningPart, ToolPart, FileRefPart, CompactionMarkerPart)
export type Part = typeof Part.Type

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A part's content: everything but its id and token count. */
export type PartBody = DistributiveOmit<Part, "id" | "tokenCount">

/** What a caller writes: a part without id and token count (mnesis assigns both). */
export const PartInput = Schema.Union(
  Schema.Struct(textFields),
  Schema.Struct(reasoningFields),
  Schema.Struct({
    ...toolFields,
    status: Schema.optionalWith(ToolStatus, { default: () => "completed" as const })
  }),
  Schema.Struct(fileRefFields)
)
export type PartInput = typeof PartInput.Encoded

/** Constructors for part inputs. */
export const Parts = {
  text: (text: string): PartInput => ({ type: "text", text }),
  reasoning: (text: string, signature?: string): PartInput =>
    signature === undefined ? { type: "reasoning", text } : { type: "reasoning", text, signature },
  tool: (fields: Omit<Extract<PartInput, { type: "tool" }>, "type">): PartInput => ({
    type: "tool",
    ...fields
  })
} as const

// ---------------------------------------------------------------------------------------------
// Messages and sessions
// ---------------------------------------------------------------------------------------------

/** A stored error of a failed turn: what went wrong, never shown to a model as content. */
export const TurnError = Schema.Struct({ tag: Schema.String, message: Schema.String })
export type TurnError = typeof TurnError.Type

/**
 * One stored message with its parts. `seq` orders the session's history (1, 2, 3, …); summary
 * messages (`isSummary`) are written by compaction and carry a compaction marker part.
 */
export class Message extends Schema.Class<Message>("Message")({
  id: MessageId,
  sessionId: SessionId,
  seq: Schema.Int,
  role: Role,
  agent: Schema.String,
  model: Schema.String,
  isSummary: Schema.Boolean,
  createdAt: Timestamp,
  tokens: TokenUsage,
  cost: Schema.NonNegative,
  finishReason: Schema.optional(FinishReason),
  error: Schema.optional(TurnError),
  parts: Schema.Array(Part)
}) {
  /** The concatenated text parts. */
  get text(): string {
    let out = ""
    for (const part of this.parts) if (part.type === "text") out += part.text
    return out
  }
}

/**
 * A stored session: the model and system prompt it was opened with and the accumulated usage
 * (what `Storage.getSession` and `listSessions` return; `Session` is the API that runs one).
 *
 * @since 0.1.0
 */
export class SessionInfo extends Schema.Class<SessionInfo>("SessionInfo")({
  id: SessionId,
  parentId: Schema.optional(SessionId),
  model: Schema.String,
  agent: Schema.String,
  systemPrompt: Schema.String,
  metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** Sum of every turn's usage since the session was created (survives reloads). */
  tokens: TokenUsage,
  cost: Schema.NonNegative,
  /** Number of messages written so far (the last `seq`). */
  messageCount: Count
}) {}

// ---------------------------------------------------------------------------------------------
// Summary DAG, context items, files
// ---------------------------------------------------------------------------------------------

export const SummaryKind = Schema.Literal("leaf", "condensed")
export type SummaryKind = typeof SummaryKind.Type

/** The escalation level that produced a summary: 1 detailed, 2 aggressive, 3 extractive. */
export const SummaryLevel = Schema.Literal(1, 2, 3)
export type SummaryLevel = typeof SummaryLevel.Type

/**
 * A node of the summary DAG. A leaf stands for a contiguous run of messages, a condensed node for
 * a run of summaries one depth below it. `supersededBy` is set when a condensed node replaces it.
 */
export class SummaryNode extends Schema.Class<SummaryNode>("SummaryNode")({
  id: SummaryId,
  sessionId: SessionId,
  /** The summary message that carries this node in the history. */
  messageId: MessageId,
  kind: SummaryKind,
  depth: Count,
  level: SummaryLevel,
  content: Schema.String,
  /** Tokens of the node as rendered in the context. */
  tokenCount: Count,
  /** First and last original message covered (transitively, for condensed nodes). */
  spanStart: MessageId,
  spanEnd: MessageId,
  spanStartSeq: Schema.Int,
  spanEndSeq: Schema.Int,
  /** Number of original messages covered, transitively. */
  messageCount: Count,
  /** Summaries this node condenses (empty for leaves). */
  parents: Schema.Array(SummaryId),
  fileIds: Schema.Array(FileId),
  model: Schema.String,
  createdAt: Timestamp,
  supersededBy: Schema.optional(SummaryId)
}) {}

/** One entry of the active context, in position order. */
export const ContextItem = Schema.Struct({
  position: Schema.Int,
  kind: Schema.Literal("message", "summary"),
  id: Schema.Union(MessageId, SummaryId),
  /** The message's role; absent for summaries. */
  role: Schema.optional(Role),
  tokenCount: Count
})
export type ContextItem = typeof ContextItem.Type

/** A large file known to the store, shared by every session of the database. */
export class FileReference extends Schema.Class<FileReference>("FileReference")({
  id: FileId,
  path: Schema.String,
  fileType: Schema.String,
  tokenCount: Count,
  summary: Schema.String,
  createdAt: Timestamp
}) {}

// ---------------------------------------------------------------------------------------------
// Compaction results and turn snapshots
// ---------------------------------------------------------------------------------------------

/**
 * What a compaction call did — honestly: `compacted` is false and the counts are zero when nothing
 * changed. Token figures are the active context's size before and after.
 */
export class CompactionResult extends Schema.Class<CompactionResult>("CompactionResult")({
  compacted: Schema.Boolean,
  /** The last summary written (the condensed node when the call ended with a condensation). */
  summaryId: Schema.optional(SummaryId),
  /** Escalation level of that summary (0 when none was written). */
  level: Schema.Literal(0, 1, 2, 3),
  depth: Count,
  /** Original messages newly covered by leaf summaries in this call. */
  messagesCovered: Count,
  tokensBefore: Count,
  tokensAfter: Count,
  pruned: Schema.Struct({ count: Count, tokens: Count }),
  /** Summaries written (leaves and condensations). */
  rounds: Count,
  elapsedMs: Schema.NonNegative
}) {
  static none(tokens: number, elapsedMs = 0): CompactionResult {
    return new CompactionResult({
      compacted: false,
      level: 0,
      depth: 0,
      messagesCovered: 0,
      tokensBefore: tokens,
      tokensAfter: tokens,
      pruned: { count: 0, tokens: 0 },
      rounds: 0,
      elapsedMs
    })
  }
}

/** Where the tokens of an assembled context go. `total` = system + summaries + messages. */
export const ContextBreakdown = Schema.Struct({
  system: Count,
  summaries: Count,
  messages: Count,
  /** The part of `messages` spent on tool calls and results. */
  toolOutputs: Count,
  total: Count
})
export type ContextBreakdown = typeof ContextBreakdown.Type

/** One completed turn, as `session.history()` reports it. */
export class TurnSnapshot extends Schema.Class<TurnSnapshot>("TurnSnapshot")({
  turn: Schema.Int,
  /** The turn's final assistant message (or the recorded one). */
  messageId: MessageId,
  context: ContextBreakdown,
  compactionTriggered: Schema.Boolean,
  compactionResult: Schema.optional(CompactionResult),
  createdAt: Timestamp
}) {}
