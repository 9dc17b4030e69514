/**
 * The append-only store: sessions, messages and parts, the active-context view, the summary DAG
 * with its provenance, file references and full-text search.
 *
 * The interface is backend-neutral (SQLite today, PostgreSQL later): nothing here names a SQLite
 * feature. Message and part content is never rewritten; the only mutations are usage/finish of an
 * assistant message, the lifecycle of a tool part, tombstones, superseded marks and the
 * context-item swaps of compaction.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Context, Duration, Layer } from "effect"
import type { Effect } from "effect"
import type { StoreConfig } from "./Config.js"
import { resolveDbPath } from "./Config.js"
import type {
  ContextItem,
  FileId,
  FileReference,
  FinishReason,
  Message,
  MessageId,
  Part,
  PartId,
  Role,
  SessionId,
  SessionInfo,
  SummaryId,
  SummaryKind,
  SummaryLevel,
  SummaryNode,
  TokenUsage,
  ToolPart,
  ToolStatus,
  TurnError,
  TurnSnapshot
} from "./Domain.js"
import type { DatabaseCorrupt, SchemaTooNew, SessionNotFound, StorageError } from "./Errors.js"
import * as Sqlite from "./storage/Sqlite.js"

/** Failures any store operation may report. */
export type StoreFailure = StorageError | DatabaseCorrupt

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never

/** A part to write: everything but the id, which the store assigns. */
export type NewPart =
  | WithoutId<Exclude<Part, { readonly type: "tool" }>>
  | Omit<
    Extract<Part, { readonly type: "tool" }>,
    "id" | "compactedAt"
  >

export interface NewSession {
  readonly id: SessionId
  readonly parentId?: SessionId | undefined
  readonly model: string
  readonly agent: string
  readonly systemPrompt: string
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  readonly createdAt: number
}

/** A turn's snapshot as written: the store numbers the turn. */
export type NewTurnSnapshot = Omit<TurnSnapshot, "turn">

export interface NewMessage {
  readonly id: MessageId
  readonly sessionId: SessionId
  readonly role: Role
  readonly agent: string
  readonly model: string
  readonly createdAt: number
  /** Parts in order, each with the token count the caller measured (stored, never recomputed). */
  readonly parts: ReadonlyArray<NewPart & { readonly id: PartId }>
  readonly tokens?: TokenUsage | undefined
  readonly cost?: number | undefined
  readonly finishReason?: FinishReason | undefined
  readonly error?: TurnError | undefined
  /**
   * Whether the message joins the active context (default true). Failed turns are stored with
   * `false`: they stay in the history but never reach a model.
   */
  readonly inContext?: boolean | undefined
  /** The snapshot of the turn this message completes, written in the same statement. */
  readonly snapshot?: NewTurnSnapshot | undefined
}

export interface ToolPartUpdate {
  readonly status: ToolStatus
  /** Write-once: an output or error already stored is never replaced. */
  readonly output?: string | undefined
  readonly error?: string | undefined
  readonly startedAt?: number | undefined
  readonly completedAt?: number | undefined
  /** The part's new cost in the context once its result is known. */
  readonly tokenCount: number
}

export interface Tombstone {
  readonly partId: PartId
  /** What the part costs once rendered as a tombstone marker. */
  readonly tokenCount: number
}

export interface ContextItemsQuery {
  /** Only items before this position (for newest-first paging). */
  readonly beforePosition?: number | undefined
  readonly limit?: number | undefined
  /** Newest first instead of position order. */
  readonly newestFirst?: boolean | undefined
}

export interface SnapshotQuery {
  /** Only turns with a larger number (keyset paging). */
  readonly afterTurn?: number | undefined
  readonly limit?: number | undefined
}

export interface HistoryQuery {
  /** Only messages with a larger `seq` (keyset paging). */
  readonly afterSeq?: number | undefined
  readonly limit: number
  readonly includeSummaries?: boolean | undefined
}

/** The new summary a compaction round writes. */
export interface NewSummary {
  readonly id: SummaryId
  readonly kind: SummaryKind
  readonly depth: number
  readonly level: SummaryLevel
  readonly content: string
  /** Cost of the node as rendered in the context. */
  readonly tokenCount: number
  readonly spanStart: MessageId
  readonly spanEnd: MessageId
  readonly spanStartSeq: number
  readonly spanEndSeq: number
  readonly messageCount: number
  readonly fileIds: ReadonlyArray<FileId>
  readonly model: string
  readonly createdAt: number
}

/**
 * Everything one compaction round changes, committed in one transaction: the summary message
 * (its text and compaction-marker parts), the node, one provenance row per replaced item, the
 * superseded marks (for condensation) and the swap of the replaced context items for the node.
 */
export interface CompactionCommit {
  readonly sessionId: SessionId
  readonly summary: NewSummary
  /** The context items the summary replaces: a contiguous run, all still in the context. */
  readonly replaces: ReadonlyArray<Pick<ContextItem, "position" | "kind" | "id">>
  /** The summary message written to the history. */
  readonly message: Omit<NewMessage, "sessionId" | "role" | "inContext" | "tokens" | "cost">
}

/** Steps of a compaction commit, in order; used by tests to inject failures at each one. */
export type CompactionStep = "message" | "node" | "provenance" | "supersede" | "swap"

export interface SearchQuery {
  readonly sessionIds: ReadonlyArray<SessionId>
  /** Free text; FTS syntax in it is treated as literal words, never as operators. */
  readonly text: string
  readonly limit: number
  /** Only hits after this `position` (keyset paging; positions grow with writing order). */
  readonly after?: number | undefined
  /** Only messages whose seq lies in this inclusive range. */
  readonly seqRange?: readonly [number, number] | undefined
}

export interface SearchHit {
  /** Where the hit stands in writing order; pass it as `after` for the next page. */
  readonly position: number
  readonly sessionId: SessionId
  readonly messageId: MessageId
  readonly partId: PartId
  readonly seq: number
  readonly role: Role
  readonly isSummary: boolean
  /** For a hit in a summary message: the summary it carries. */
  readonly summaryId?: SummaryId | undefined
  /** The matching text with the match marked `[…]`. */
  readonly snippet: string
}

export interface ScanQuery {
  readonly sessionIds: ReadonlyArray<SessionId>
  /** Only parts after this position. */
  readonly after?: number | undefined
  readonly limit: number
  readonly seqRange?: readonly [number, number] | undefined
}

/** A part's searchable text, for scans that FTS cannot answer (regular expressions). */
export interface ScannedText extends Omit<SearchHit, "snippet"> {
  readonly text: string
}

/** A provenance row: one item a summary stands for. */
export interface SummarySource {
  readonly kind: "message" | "summary"
  readonly id: MessageId | SummaryId
}

/**
 * The store's operations.
 *
 * @since 0.1.0
 */
export interface Service {
  readonly createSession: (session: NewSession) => Effect.Effect<SessionInfo, SessionNotFound | StoreFailure>
  readonly getSession: (id: SessionId) => Effect.Effect<SessionInfo, SessionNotFound | StoreFailure>
  readonly listSessions: (
    query?: { readonly parentId?: SessionId; readonly limit?: number; readonly offset?: number }
  ) => Effect.Effect<ReadonlyArray<SessionInfo>, StoreFailure>

  /** Appends a message with its parts; assigns the next `seq` and its context item atomically. */
  readonly appendMessage: (message: NewMessage) => Effect.Effect<Message, SessionNotFound | StoreFailure>
  /**
   * Appends messages in order, with the tool parts' updates, in one transaction: all are written
   * (consecutive in their session, nothing of another writer between them), or none.
   */
  readonly appendMessages: (
    messages: ReadonlyArray<NewMessage>,
    toolUpdates?: ReadonlyArray<{ readonly id: PartId; readonly update: ToolPartUpdate }>
  ) => Effect.Effect<ReadonlyArray<Message>, SessionNotFound | StoreFailure>
  /** Sets an assistant message's usage, cost and finish reason (after streaming). */
  readonly updateMessageUsage: (
    id: MessageId,
    update: { readonly tokens: TokenUsage; readonly cost: number; readonly finishReason: FinishReason }
  ) => Effect.Effect<void, StoreFailure>
  readonly updateToolPart: (id: PartId, update: ToolPartUpdate) => Effect.Effect<void, StoreFailure>
  /** Several tool parts' updates in one transaction: all are written, or none. */
  readonly updateToolParts: (
    updates: ReadonlyArray<{ readonly id: PartId; readonly update: ToolPartUpdate }>
  ) => Effect.Effect<void, StoreFailure>
  /** The tool parts of these messages (with their message ids), in message then part order. */
  readonly toolParts: (
    ids: ReadonlyArray<MessageId>
  ) => Effect.Effect<ReadonlyArray<{ readonly messageId: MessageId; readonly part: ToolPart }>, StoreFailure>
  /** The message holding the newest tool call with this id in the session. */
  readonly findToolCall: (
    sessionId: SessionId,
    toolCallId: string
  ) => Effect.Effect<Message | undefined, StoreFailure>
  /** Tombstones completed tool outputs; returns how many parts changed (already-tombstoned skip). */
  readonly tombstone: (
    sessionId: SessionId,
    parts: ReadonlyArray<Tombstone>,
    at: number
  ) => Effect.Effect<number, StoreFailure>

  readonly contextItems: (
    sessionId: SessionId,
    query?: ContextItemsQuery
  ) => Effect.Effect<ReadonlyArray<ContextItem>, StoreFailure>
  /**
   * The context's version and its items after `afterPosition` (all when absent), in position
   * order, read consistently. The version changes whenever an existing item changes (compaction
   * swap, tombstone, tool result); appends do not change it, so a reader that saw version `v`
   * and position `p` can catch up by reading only the items after `p` while the version is `v`.
   */
  readonly contextSince: (
    sessionId: SessionId,
    afterPosition?: number
  ) => Effect.Effect<{ readonly version: number; readonly items: ReadonlyArray<ContextItem> }, StoreFailure>
  /** Sum of the token counts of every item in the active context. */
  readonly contextTokens: (sessionId: SessionId) => Effect.Effect<number, StoreFailure>
  /** Messages with their parts, in the order of `ids`; unknown ids are skipped. One query. */
  readonly messages: (ids: ReadonlyArray<MessageId>) => Effect.Effect<ReadonlyArray<Message>, StoreFailure>
  readonly history: (
    sessionId: SessionId,
    query: HistoryQuery
  ) => Effect.Effect<ReadonlyArray<Message>, StoreFailure>

  readonly summaries: (
    ids: ReadonlyArray<SummaryId>
  ) => Effect.Effect<ReadonlyArray<SummaryNode>, StoreFailure>
  /** Every summary of a session (superseded ones included), oldest first. */
  readonly sessionSummaries: (sessionId: SessionId) => Effect.Effect<ReadonlyArray<SummaryNode>, StoreFailure>
  /** What a summary stands for, in order: messages for a leaf, summaries for a condensed node. */
  readonly summarySources: (id: SummaryId) => Effect.Effect<ReadonlyArray<SummarySource>, StoreFailure>
  /** For each id (message or summary), the active summary that covers it now, if any. */
  readonly activeCovers: (
    ids: ReadonlyArray<MessageId | SummaryId>
  ) => Effect.Effect<ReadonlyMap<string, SummaryId>, StoreFailure>
  readonly commitCompaction: (
    commit: CompactionCommit
  ) => Effect.Effect<Message, SessionNotFound | StoreFailure>

  /** Appends the snapshot of a completed turn; the store gives it the session's next turn number. */
  readonly appendSnapshot: (
    sessionId: SessionId,
    snapshot: NewTurnSnapshot
  ) => Effect.Effect<void, StoreFailure>
  /** The session's turn snapshots in turn order; `afterTurn` and `limit` page through them. */
  readonly snapshots: (
    sessionId: SessionId,
    query?: SnapshotQuery
  ) => Effect.Effect<ReadonlyArray<TurnSnapshot>, StoreFailure>

  readonly putFileReference: (ref: FileReference) => Effect.Effect<void, StoreFailure>
  readonly getFileReference: (id: FileId) => Effect.Effect<FileReference | undefined, StoreFailure>

  readonly search: (query: SearchQuery) => Effect.Effect<ReadonlyArray<SearchHit>, StoreFailure>
  /** The searchable text of the sessions' parts in writing order, a page at a time. */
  readonly scan: (query: ScanQuery) => Effect.Effect<ReadonlyArray<ScannedText>, StoreFailure>
}

/**
 * The store as an Effect service.
 *
 * @since 0.1.0
 */
export class Storage extends Context.Tag("mnesis/Storage")<Storage, Service>() {}

export interface SqliteOptions {
  /** A file path (`~` is expanded; the parent directory is created) or `:memory:`. */
  readonly filename: string
  readonly walMode?: boolean | undefined
  /** Milliseconds a writer waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number | undefined
  /** Test hook: runs before each step of a compaction commit, inside the transaction. */
  readonly onCompactionStep?: ((step: CompactionStep) => Effect.Effect<void, StorageError>) | undefined
}

/** The SQLite store as a scoped effect (the connection closes with the scope). */
export const makeSqlite = (
  options: SqliteOptions
): Effect.Effect<Service, StorageError | DatabaseCorrupt | SchemaTooNew, Scope.Scope> =>
  Sqlite.make({ ...options, filename: resolveDbPath(options.filename) })

/**
 * SQLite at `filename`.
 *
 * @since 0.1.0
 */
export const layerSqlite = (
  options: SqliteOptions
): Layer.Layer<Storage, StorageError | DatabaseCorrupt | SchemaTooNew> =>
  Layer.scoped(Storage, makeSqlite(options))

/**
 * SQLite in memory: the same SQL as the file store, gone when the layer's scope closes.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Storage, StorageError | DatabaseCorrupt | SchemaTooNew> = Layer.suspend(
  () => layerSqlite({ filename: ":memory:" })
)

/** SQLite configured by the `store` section of `MnesisConfig`. */
export const layerFromConfig = (
  store: StoreConfig
): Layer.Layer<Storage, StorageError | DatabaseCorrupt | SchemaTooNew> =>
  layerSqlite({
    filename: store.dbPath,
    walMode: store.walMode,
    busyTimeoutMs: Duration.toMillis(store.busyTimeout)
  })
