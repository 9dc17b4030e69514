/**
 * Sessions: the library as its users meet it.
 *
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const session = yield* Session.open({ model: "anthropic/claude-opus-4-6" })
 *   const turn = yield* session.send("Explain the GIL in Python.")
 *   yield* Effect.log(turn.text)
 * }))
 * ```
 *
 * A session's lifetime is a `Scope`: `Session.open` ties it to the caller's scope; `Session.create`
 * hands it to the caller, who calls `close`. Closing waits for an in-flight turn and background
 * compaction (up to `session.closeTimeout`), interrupts what remains and publishes `SessionClosed`.
 *
 * @since 0.1.0
 */
import type { Effect, Layer, Option, Scope, Stream } from "effect"
import type { Compactor } from "./Compactor.js"
import type { MnesisConfigOverrides, Settings } from "./Config.js"
import type { BuiltContext, ContextBuilder } from "./ContextBuilder.js"
import type {
  CompactionResult,
  ContextBreakdown,
  FileId,
  FinishReason,
  FinishReasonInput,
  Message,
  MessageId,
  Part,
  PartInput,
  SessionId,
  TokenUsage,
  TurnSnapshot
} from "./Domain.js"
import type {
  ConfigError,
  ContextOverflow,
  DatabaseCorrupt,
  FileError,
  InvalidInput,
  LlmError,
  SchemaTooNew,
  SessionIsClosed,
  SessionNotFound,
  StorageError
} from "./Errors.js"
import type { EventBus, EventOf, EventTag, Handler, MnesisEvent } from "./Events.js"
import type { LlmProvider, ToolCall } from "./LlmProvider.js"
import type * as MemoryTools from "./MemoryTools.js"
import * as Impl from "./session/start.js"
import type * as Storage from "./Storage.js"
import type { Tokenizer } from "./Tokenizer.js"
import type { Tool } from "./Tool.js"

/** Every service a session needs; `MnesisLive` and `MnesisTest` provide them all. */
export type MnesisServices =
  | Storage.Storage
  | Tokenizer
  | LlmProvider
  | EventBus
  | Compactor
  | ContextBuilder
  | Settings

/** Every failure a session operation may report. */
export type MnesisError =
  | ConfigError
  | SessionNotFound
  | SessionIsClosed
  | StorageError
  | DatabaseCorrupt
  | SchemaTooNew
  | InvalidInput
  | ContextOverflow
  | FileError
  | LlmError

/**
 * A file in a message (`send`, `stream`, `record`): read from `path`, or `content` given for it
 * (`path` then only names it). Below `file.inlineThreshold` tokens its text goes into the message;
 * at or above it, a `file_ref` part (id, path, type, token count, summary) with the content kept
 * in the store. See {@link Session.attachFile}.
 *
 * @since 0.1.0
 */
export interface FilePartInput {
  readonly type: "file"
  readonly path: string
  readonly content?: string | Uint8Array | undefined
}

/** A part of a message a caller writes: a stored part's input, or a file to attach. */
export type MessagePart = PartInput | FilePartInput

/** What `attachFile` takes: a path to read, or a path naming the content given. */
export type AttachFileInput = string | {
  readonly path: string
  readonly content?: string | Uint8Array | undefined
}

/** A file ready to go into a message, its content (when it is a reference) already stored. */
export interface AttachedFile {
  /** The part to put into a message: the file's text (framed by its path), or its `file_ref`. */
  readonly part: PartInput
  /** True when the text itself goes in (below `file.inlineThreshold`). */
  readonly inline: boolean
  readonly path: string
  readonly fileType: string
  /** Tokens of the file's whole text (0 for binary files). */
  readonly tokens: number
  /** For a reference: the content id (`file_<sha256>`) the memory tools read it by. */
  readonly fileId?: FileId | undefined
  /** For a reference: the exploration summary that stands in for the content. */
  readonly summary?: string | undefined
  /** For a reference: the same content was already stored (not summarised again). */
  readonly reused: boolean
}

export interface OpenOptions {
  /** `provider/model`, e.g. `anthropic/claude-opus-4-6`, `openai/gpt-5`, `mock/echo`. */
  readonly model: string
  readonly systemPrompt?: string | undefined
  /** Overrides merged over the layer's configuration for this session. */
  readonly config?: MnesisConfigOverrides | undefined
  /**
   * Use this store instead of the layer's (built for the session and closed with it), e.g.
   * `SqliteStore.layer({ filename })` for a session in its own database file.
   */
  readonly storage?: Layer.Layer<Storage.Storage, Storage.StoreOpenFailure> | undefined
  readonly parentId?: SessionId | undefined
  readonly agent?: string | undefined
  /** Tools offered on every `send` (more can be passed per call). */
  readonly tools?: ReadonlyArray<Tool> | undefined
  /**
   * Offer the model the memory tools (`grep`, `describe`, `expand`) on every `send`. With
   * `{ relatedSessions: true }` they also read the parent session and child sessions.
   */
  readonly memoryTools?: boolean | { readonly relatedSessions?: boolean | undefined } | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A page of `history`: the turns after `afterTurn` (default 0: from the first), at most `limit`.
 *
 * @since 0.1.0
 */
export interface HistoryOptions {
  readonly afterTurn?: number | undefined
  readonly limit?: number | undefined
}

export interface LoadOptions {
  readonly config?: MnesisConfigOverrides | undefined
  /** Use this store instead of the layer's (see `OpenOptions.storage`). */
  readonly storage?: Layer.Layer<Storage.Storage, Storage.StoreOpenFailure> | undefined
  readonly tools?: ReadonlyArray<Tool> | undefined
  readonly memoryTools?: OpenOptions["memoryTools"]
}

/** Live events of a turn, as `stream` yields them and `onPart` receives them. */
export type StreamEvent =
  | { readonly type: "text_delta"; readonly text: string }
  | { readonly type: "reasoning_delta"; readonly text: string }
  | { readonly type: "tool_call"; readonly id: string; readonly name: string; readonly input: unknown }
  | {
    readonly type: "tool_result"
    readonly id: string
    readonly name: string
    readonly output?: string | undefined
    readonly error?: string | undefined
  }
  /** A provider call failed and is retried: discard the deltas received since the last step began. */
  | { readonly type: "retry"; readonly attempt: number; readonly delayMs: number; readonly error: string }
  /** A new provider call of the tool loop begins. */
  | { readonly type: "step"; readonly step: number }
  | { readonly type: "turn_complete"; readonly result: TurnResult }

export interface SendOptions<R = never> {
  /** More tools for this turn (besides the session's). */
  readonly tools?: ReadonlyArray<Tool<R>> | undefined
  /** Replaces the session's system prompt for this turn only. */
  readonly systemPrompt?: string | undefined
  readonly maxSteps?: number | undefined
  /**
   * Called with each live event. Its failures are logged and never fail the turn; a slow callback
   * does not hold the model's stream (events are delivered from a queue).
   */
  readonly onPart?: ((event: StreamEvent) => unknown) | undefined
}

/** The outcome of one `send`. */
export interface TurnResult {
  /** The turn's final assistant message. */
  readonly messageId: MessageId
  readonly text: string
  /** Every part the model produced in this turn, across tool-loop steps. */
  readonly parts: ReadonlyArray<Part>
  /** Usage summed over the turn's provider calls. */
  readonly tokens: TokenUsage
  /** The context the turn's last provider call was sent, by kind (the reply is not in it). */
  readonly context: ContextBreakdown
  readonly finishReason: FinishReason
  /** USD, from the model registry's list prices. */
  readonly cost: number
  /** A background compaction round started after this turn. */
  readonly compactionTriggered: boolean
  /** Set when this turn waited for compaction at the hard threshold. */
  readonly compactionResult?: CompactionResult | undefined
  readonly doomLoopDetected: boolean
  /** Provider calls made. */
  readonly steps: number
  /** Calls to tools without a handler, for the host to run and `record`. */
  readonly pendingToolCalls: ReadonlyArray<ToolCall>
}

export interface RecordInput {
  readonly user?: string | ReadonlyArray<MessagePart> | undefined
  readonly assistant?: string | ReadonlyArray<MessagePart> | undefined
  /** Usage the host's provider reported (whole numbers ≥ 0); counted when absent. */
  readonly tokens?: Partial<TokenUsage> | undefined
  /**
   * Why the host's provider call ended (default `stop`): one of mnesis's reasons, or the
   * provider's own name for one (`end_turn`, `length`, `tool_use`, …), stored as mnesis's.
   */
  readonly finishReason?: FinishReasonInput | undefined
  /** Results of pending tool calls (from a `send` that ended with `pendingToolCalls`). */
  readonly toolResults?:
    | ReadonlyArray<{ readonly toolCallId: string; readonly output?: string; readonly error?: string }>
    | undefined
}

export interface RecordResult {
  readonly userMessageId?: MessageId | undefined
  readonly assistantMessageId?: MessageId | undefined
  readonly tokens: TokenUsage
  readonly compactionTriggered: boolean
}

/**
 * An open session.
 *
 * @since 0.1.0
 */
export interface Session {
  readonly id: SessionId
  readonly model: string
  /** The session's system prompt (restored by `load`). */
  readonly systemPrompt: string
  readonly send: <R = never>(
    message: string | ReadonlyArray<MessagePart>,
    options?: SendOptions<R>
  ) => Effect.Effect<TurnResult, MnesisError, R>
  readonly stream: <R = never>(
    message: string | ReadonlyArray<MessagePart>,
    options?: Omit<SendOptions<R>, "onPart">
  ) => Stream.Stream<StreamEvent, MnesisError, R>
  readonly record: (input: RecordInput) => Effect.Effect<RecordResult, MnesisError>
  /**
   * Reads a file (or takes its content) and gives the part to put into a message: its text below
   * `file.inlineThreshold` tokens, otherwise a `file_ref` whose content is now stored (once per
   * content, shared by every session), so the model can `describe` and `expand` it. Writes no
   * message. A missing file, a directory, a permission error or a file over `file.maxFileBytes`
   * fail with `FileError`, and nothing is stored.
   */
  readonly attachFile: (file: AttachFileInput) => Effect.Effect<AttachedFile, MnesisError>
  /** What the next `send` would send (waits for compaction at the hard threshold, as `send` does). */
  readonly contextForNextTurn: (
    options?: { readonly systemPrompt?: string | undefined }
  ) => Effect.Effect<BuiltContext, MnesisError>
  /** The full immutable history, chronological (summary messages included, flagged `isSummary`). */
  readonly messages: (
    options?: { readonly includeSummaries?: boolean | undefined }
  ) => Effect.Effect<ReadonlyArray<Message>, MnesisError>
  /**
   * One snapshot per completed turn, in order: all of them, or a page — the turns after
   * `afterTurn`, at most `limit` (a positive integer) of them.
   */
  readonly history: (options?: HistoryOptions) => Effect.Effect<ReadonlyArray<TurnSnapshot>, MnesisError>
  /** Runs a compaction round now, or joins the one in flight. */
  readonly compact: () => Effect.Effect<CompactionResult, MnesisError>
  /** Searches the whole history (see `MemoryTools.grep`). */
  readonly grep: (input: MemoryTools.GrepInput) => Effect.Effect<MemoryTools.GrepResult, MnesisError>
  /** What an id is (see `MemoryTools.describe`). */
  readonly describe: (
    input: MemoryTools.DescribeInput
  ) => Effect.Effect<MemoryTools.DescribeResult, MnesisError>
  /** The originals behind a summary, or a message in full (see `MemoryTools.expand`). */
  readonly expand: (input: MemoryTools.ExpandInput) => Effect.Effect<MemoryTools.ExpandResult, MnesisError>
  readonly tokenUsage: Effect.Effect<TokenUsage>
  readonly compactionInProgress: Effect.Effect<boolean>
  /** Waits for the background round in flight, if any, and returns its result (never starts one). */
  readonly awaitCompaction: Effect.Effect<Option.Option<CompactionResult>>
  /** This session's events (its `SessionCreated` first), while consumed. */
  readonly events: Stream.Stream<MnesisEvent>
  /** Runs `handler` for this session's events of `tag` until `close`; returns an unsubscribe effect. */
  readonly subscribe: <T extends EventTag | "*">(
    tag: T,
    handler: Handler<EventOf<T>>
  ) => Effect.Effect<Effect.Effect<void>>
  /** Idempotent. */
  readonly close: Effect.Effect<void>
}

/**
 * Creates a session whose lifetime is the current scope.
 *
 * @since 0.1.0
 */
export const open = (
  options: OpenOptions
): Effect.Effect<Session, MnesisError, Scope.Scope | MnesisServices> => Impl.open(options)

/**
 * Creates a session the caller closes with `close`.
 *
 * @since 0.1.0
 */
export const create = (options: OpenOptions): Effect.Effect<Session, MnesisError, MnesisServices> =>
  Impl.create(options)

/**
 * Resumes a stored session (model, system prompt, agent, usage and turn history come back).
 * Unknown id → `SessionNotFound`. The caller closes it, or wraps it with {@link loadScoped}.
 *
 * @since 0.1.0
 */
export const load = (
  id: SessionId | string,
  options: LoadOptions = {}
): Effect.Effect<Session, MnesisError, MnesisServices> => Impl.load(id, options)

/**
 * `load` with the session's lifetime tied to the current scope.
 *
 * @since 0.1.0
 */
export const loadScoped = (
  id: SessionId | string,
  options: LoadOptions = {}
): Effect.Effect<Session, MnesisError, Scope.Scope | MnesisServices> => Impl.loadScoped(id, options)
