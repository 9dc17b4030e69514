/**
 * A run of an operator and its items, as callers see them and as the store keeps them: the run
 * (which operator, what it was asked, how far it got), each item's status (pending → running →
 * done | failed) with its attempts, usage and output or typed failure, and the results a run
 * yields.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { SessionId, TokenUsage } from "../Domain.js"

/** `run_` + ULID. */
export const RunId = Schema.String.pipe(
  Schema.pattern(/^run_[0-9A-HJKMNP-TV-Z]{26}$/),
  Schema.brand("RunId")
)
export type RunId = typeof RunId.Type

export const OperatorName = Schema.Literal("llm_map", "agentic_map")
export type OperatorName = typeof OperatorName.Type

/** `running` also after a crash (nobody could say otherwise); `resume` picks either up. */
export const RunStatus = Schema.Literal("running", "completed", "interrupted")
export type RunStatus = typeof RunStatus.Type

export const ItemStatus = Schema.Literal("pending", "running", "done", "failed")
export type ItemStatus = typeof ItemStatus.Type

/**
 * Why an item failed. Every reason carries a `message` for people; the tag and the other fields
 * are for programs.
 *
 * @since 0.1.0
 */
export const MapFailure = Schema.Union(
  /** The provider failed for good (a permanent error, or transient ones past the retries). */
  Schema.TaggedStruct("ProviderFailed", { errorTag: Schema.String, message: Schema.String }),
  /** No reply within the per-call timeout, on the last attempt. */
  Schema.TaggedStruct("Timeout", { timeoutMs: Schema.Number, message: Schema.String }),
  /** The replies never decoded with the schema; `error` and `reply` are the last attempt's. */
  Schema.TaggedStruct("InvalidOutput", {
    error: Schema.String,
    reply: Schema.String,
    message: Schema.String
  }),
  /** The item could not fill the template (a missing field); no call was made. */
  Schema.TaggedStruct("InvalidItem", { message: Schema.String }),
  /** A sub-agent stopped without a final answer (max turns, a doom loop, a tool only the host runs). */
  Schema.TaggedStruct("Incomplete", { finishReason: Schema.String, message: Schema.String }),
  /** A sub-agent's session failed for a reason other than its provider (store, budget, …). */
  Schema.TaggedStruct("SessionFailed", { errorTag: Schema.String, message: Schema.String })
)
export type MapFailure = typeof MapFailure.Type

/** What every result says, success or not. */
interface ResultBase<I> {
  readonly runId: RunId
  /** The item's position in the input, from 0. */
  readonly index: number
  readonly input: I
  /** Provider calls made for the item (retries included; for a sub-agent, its turns' steps). */
  readonly attempts: number
  readonly tokens: TokenUsage
  /** USD, from the model registry's list prices. */
  readonly cost: number
  /** Agentic-Map: the item's sub-session (load it to read the whole history). */
  readonly sessionId?: SessionId | undefined
}

export interface MapSuccess<I, A> extends ResultBase<I> {
  readonly _tag: "Success"
  readonly output: A
}

export interface MapFailed<I> extends ResultBase<I> {
  readonly _tag: "Failure"
  readonly reason: MapFailure
}

/** @since 0.1.0 */
export type MapResult<I, A> = MapSuccess<I, A> | MapFailed<I>

/**
 * A whole run's results.
 *
 * @since 0.1.0
 */
export interface MapBatch<I, A> {
  readonly runId: RunId
  readonly total: number
  /** In input order. */
  readonly successes: ReadonlyArray<MapSuccess<I, A>>
  /** In input order. */
  readonly failures: ReadonlyArray<MapFailed<I>>
  /** Provider calls over every item. */
  readonly attempts: number
  readonly tokens: TokenUsage
  readonly cost: number
}

/**
 * A run as stored.
 *
 * @since 0.1.0
 */
export class RunInfo extends Schema.Class<RunInfo>("RunInfo")({
  id: RunId,
  operator: OperatorName,
  /** The session that started the run, when one did. */
  sessionId: Schema.optional(SessionId),
  /** What the run was asked (template, model, limits…), as JSON, so `resume` can do it again. */
  spec: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  status: RunStatus,
  total: Schema.NonNegativeInt,
  done: Schema.NonNegativeInt,
  failed: Schema.NonNegativeInt,
  attempts: Schema.NonNegativeInt,
  tokens: TokenUsage,
  cost: Schema.Number,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
}) {}

/**
 * One item of a stored run. `input` and `output` are JSON values (an output as its schema
 * encodes it); `error` is set on failed items.
 *
 * @since 0.1.0
 */
export class RunItem extends Schema.Class<RunItem>("RunItem")({
  runId: RunId,
  index: Schema.NonNegativeInt,
  input: Schema.Unknown,
  status: ItemStatus,
  attempts: Schema.NonNegativeInt,
  output: Schema.optional(Schema.Unknown),
  error: Schema.optional(MapFailure),
  tokens: TokenUsage,
  cost: Schema.Number,
  sessionId: Schema.optional(SessionId),
  startedAt: Schema.optional(Schema.Number),
  completedAt: Schema.optional(Schema.Number)
}) {}

/** How an item ended, as the store records it. */
export type ItemOutcome =
  | { readonly _tag: "Done"; readonly output: unknown }
  | { readonly _tag: "Failed"; readonly reason: MapFailure }

export interface ItemRecord {
  readonly outcome: ItemOutcome
  readonly attempts: number
  readonly tokens: TokenUsage
  readonly cost: number
  readonly sessionId?: SessionId | undefined
  readonly completedAt: number
}
