/**
 * The append-only store: sessions, messages and parts, the active-context view, the summary DAG
 * with its provenance, file references and full-text search — the tag and the interface only.
 *
 * The interface is backend-neutral: nothing here names a database. Message and part content is
 * never rewritten; the only mutations are the lifecycle of a tool part, tombstones, superseded
 * marks and the context-item swaps of compaction. Sessions go only as a whole (`deleteSession`,
 * `deleteSessionsUntouchedSince`), with everything that belongs to them.
 *
 * @since 0.1.0
 */
import type { Effect, Stream } from "effect"
import { Context } from "effect"
import type { ArchiveRecord } from "./Archive.js"
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
import type {
  DatabaseCorrupt,
  InvalidInput,
  RunNotFound,
  RunTakenOver,
  SchemaTooNew,
  SessionExists,
  SessionNotFound,
  StorageError
} from "./Errors.js"
import type { FileSymbol } from "./files/Symbols.js"
import type {
  ItemRecord,
  ItemStatus,
  OperatorName,
  RunId,
  RunInfo,
  RunItem,
  RunStatus
} from "./operators/Run.js"

/** Failures any store operation may report. */
export type StoreFailure = StorageError | DatabaseCorrupt

/** Failures of opening a store (building its layer). */
export type StoreOpenFailure = StoreFailure | SchemaTooNew

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
  /** The snapshot of the turn this message completes, written in the same transaction. */
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

/** Steps of a compaction commit, in order (see the store's `onCompactionStep` test hook). */
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
export type SummarySource =
  | { readonly kind: "message"; readonly id: MessageId }
  | { readonly kind: "summary"; readonly id: SummaryId }

/**
 * The store's operations.
 *
 * @since 0.1.0
 */
// ---------------------------------------------------------------------------------------------
// Operator runs
// ---------------------------------------------------------------------------------------------

export interface NewRun {
  readonly id: RunId
  readonly operator: OperatorName
  /** The session that started the run, if one did. */
  readonly sessionId?: SessionId | undefined
  /** What the run was asked, as JSON (so it can be resumed). */
  readonly spec: Readonly<Record<string, unknown>>
  /** The runner writing to the run (see {@link Runs}). */
  readonly owner: string
  readonly createdAt: number
}

export interface RunItemsQuery {
  /** Only items in these states (all when absent). */
  readonly statuses?: ReadonlyArray<ItemStatus> | undefined
  /** Only items after this index (keyset paging). */
  readonly afterIndex?: number | undefined
  readonly limit: number
}

export interface RunsQuery {
  readonly sessionId?: SessionId | undefined
  readonly status?: RunStatus | undefined
  readonly limit?: number | undefined
}

/**
 * Durable operator runs: a run and each item's status (pending → running → done | failed), its
 * attempts, usage and output or typed failure. Every write names the runner that owns the run
 * (`owner`, a token that `takeOverRun` replaces): a runner that lost its run is refused with
 * `RunTakenOver` at its next write instead of racing the one that took it over.
 *
 * @since 0.1.0
 */
export interface Runs {
  /** Writes the run and its items (all pending; inputs as JSON values) in one transaction. */
  readonly createRun: (run: NewRun, inputs: ReadonlyArray<unknown>) => Effect.Effect<RunInfo, StoreFailure>
  readonly getRun: (id: RunId) => Effect.Effect<RunInfo, RunNotFound | StoreFailure>
  /** Runs, newest first. */
  readonly listRuns: (query?: RunsQuery) => Effect.Effect<ReadonlyArray<RunInfo>, StoreFailure>
  /**
   * Makes `owner` the run's runner, in one transaction: items left running (by a runner that
   * crashed or stopped) are pending again, and the run is running again.
   */
  readonly takeOverRun: (
    id: RunId,
    owner: string,
    at: number
  ) => Effect.Effect<RunInfo, RunNotFound | StoreFailure>
  /** The run's items in index order. */
  readonly runItems: (id: RunId, query: RunItemsQuery) => Effect.Effect<ReadonlyArray<RunItem>, StoreFailure>
  /** A pending item becomes running. */
  readonly startRunItem: (
    id: RunId,
    owner: string,
    index: number,
    at: number
  ) => Effect.Effect<void, RunTakenOver | StoreFailure>
  /**
   * A running item becomes done or failed, and the run's counters and usage grow with it, in one
   * transaction. An item that is not running (finished already) is refused: nothing counts twice.
   */
  readonly finishRunItem: (
    id: RunId,
    owner: string,
    index: number,
    record: ItemRecord
  ) => Effect.Effect<void, RunTakenOver | StoreFailure>
  /** The run stops: `completed` when every item finished, `interrupted` otherwise. */
  readonly endRun: (
    id: RunId,
    owner: string,
    status: Exclude<RunStatus, "running">,
    at: number
  ) => Effect.Effect<void, RunTakenOver | StoreFailure>
}

// ---------------------------------------------------------------------------------------------
// File contents
// ---------------------------------------------------------------------------------------------

/** A file to store: its reference and its bytes. */
export interface NewFile {
  readonly reference: FileReference
  readonly content: Uint8Array
  /** Text read back by lines; false for binary files and SQLite databases (kept, never paged). */
  readonly text: boolean
  /** A source file's symbols with their line spans, for `expand file_… symbol=…`. */
  readonly symbols?: ReadonlyArray<FileSymbol> | undefined
}

/** What the store knows of a file's content (not the bytes themselves). */
export interface FileContentInfo {
  readonly byteLength: number
  /** Lines of a text file (0 for binary content). */
  readonly lineCount: number
  readonly text: boolean
  readonly symbols?: ReadonlyArray<FileSymbol> | undefined
}

/** A stored file: its reference, and its content's facts unless only the reference is stored. */
export interface StoredFile {
  readonly reference: FileReference
  /** Absent for a reference written without its content (by an older version, or an old archive). */
  readonly content?: FileContentInfo | undefined
}

/**
 * Large files' contents, stored once per content id (`file_<sha256>`) and shared by every session
 * of the database, kept in pieces that end on line breaks so a page of lines is read without the
 * rest of the file. Contents go when the last session using them is deleted (see `deleteSession`).
 *
 * @since 0.1.0
 */
export interface Files {
  /**
   * Stores a file in one transaction: its content unless that id is stored (the first copy stays:
   * same id, same bytes), and its reference unless one is stored (the first path stays). Returns
   * whether the content was written now. Putting again repairs a reference stored without content.
   */
  readonly putFile: (file: NewFile) => Effect.Effect<boolean, StoreFailure>
  /** The reference and content facts of a stored file, or undefined. */
  readonly getFile: (id: FileId) => Effect.Effect<StoredFile | undefined, StoreFailure>
  /**
   * Lines `from`..`to` (1-based, inclusive, clipped to the file) of a stored text file, without
   * their line breaks; empty for unknown ids and binary content.
   */
  readonly fileLines: (
    id: FileId,
    from: number,
    to: number
  ) => Effect.Effect<ReadonlyArray<string>, StoreFailure>
  /** The whole content, byte for byte, or undefined when it is not stored. */
  readonly fileContent: (id: FileId) => Effect.Effect<Uint8Array | undefined, StoreFailure>
  /** The ids of the files that these sessions' `file_ref` parts use, in id order. */
  readonly sessionFiles: (
    sessionIds: ReadonlyArray<SessionId>
  ) => Effect.Effect<ReadonlyArray<FileId>, StoreFailure>
}

export interface Service extends Runs, Files {
  /** Creates a session; its id (and its parent's) must be well-formed (`InvalidInput` otherwise). */
  readonly createSession: (
    session: NewSession
  ) => Effect.Effect<SessionInfo, SessionNotFound | InvalidInput | StoreFailure>
  readonly getSession: (id: SessionId) => Effect.Effect<SessionInfo, SessionNotFound | StoreFailure>
  readonly listSessions: (
    query?: { readonly parentId?: SessionId; readonly limit?: number; readonly offset?: number }
  ) => Effect.Effect<ReadonlyArray<SessionInfo>, StoreFailure>

  /**
   * Appends a message with its parts; assigns the next `seq` and its context item atomically. Ids
   * must be well-formed (`InvalidInput` otherwise, before anything is written).
   */
  readonly appendMessage: (
    message: NewMessage
  ) => Effect.Effect<Message, SessionNotFound | InvalidInput | StoreFailure>
  /**
   * Appends messages in order, with the tool parts' updates, in one transaction: all are written
   * (consecutive in their session, nothing of another writer between them), or none.
   */
  readonly appendMessages: (
    messages: ReadonlyArray<NewMessage>,
    toolUpdates?: ReadonlyArray<{ readonly id: PartId; readonly update: ToolPartUpdate }>
  ) => Effect.Effect<ReadonlyArray<Message>, SessionNotFound | InvalidInput | StoreFailure>
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

  /** The session's active context, in position order. */
  readonly contextItems: (sessionId: SessionId) => Effect.Effect<ReadonlyArray<ContextItem>, StoreFailure>
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

  /**
   * Deletes a session with its sub-sessions and everything they hold (messages, parts, summaries,
   * provenance, context, snapshots, search rows, the operator runs they started, and the file
   * references and contents no other session uses), in one transaction. Returns the deleted sessions' ids, the given one first.
   */
  readonly deleteSession: (
    id: SessionId
  ) => Effect.Effect<ReadonlyArray<SessionId>, SessionNotFound | StoreFailure>
  /**
   * Retention: deletes every session tree (a session without a parent, with its sub-sessions) in
   * which no session was updated at or after `cutoff` (epoch milliseconds), then the files stored
   * before `cutoff` that no session uses. Returns the deleted ids.
   */
  readonly deleteSessionsUntouchedSince: (
    cutoff: number
  ) => Effect.Effect<ReadonlyArray<SessionId>, StoreFailure>
  /**
   * Reads a session and its sub-sessions as archive records (see `Archive`), in one transaction,
   * handing them to `write` a page at a time in an order `importSession` accepts. The files their
   * parts reference go with them, contents included, so they still expand after an import.
   */
  readonly exportSession: <E, R>(
    id: SessionId,
    write: (records: ReadonlyArray<ArchiveRecord>) => Effect.Effect<void, E, R>
  ) => Effect.Effect<void, E | SessionNotFound | StoreFailure, R>
  /**
   * Writes exported sessions back with every id, counter, summary and provenance row as it was,
   * in one transaction. Fails with `SessionExists` when a session is already here, and with
   * `SessionNotFound` when the first session's parent is neither here nor in the archive.
   */
  readonly importSession: <E, R>(
    records: Stream.Stream<ArchiveRecord, E, R>
  ) => Effect.Effect<
    ReadonlyArray<SessionId>,
    E | SessionExists | SessionNotFound | InvalidInput | StoreFailure,
    R
  >
}

/**
 * The store as an Effect service. Backends provide it with their own layers (the SQLite one is
 * `SqliteStore.layer`); this module names none of them.
 *
 * @since 0.1.0
 */
export class Storage extends Context.Tag("mnesis/Storage")<Storage, Service>() {}
