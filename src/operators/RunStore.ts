/**
 * What the operators need of the store to make runs durable. Every write names the runner that
 * owns the run (`owner`, a token `resume` replaces): a runner that lost its run (another process
 * resumed it) is refused with `RunTakenOver` at its next write instead of racing the new one.
 *
 * @internal
 */
import type { Effect } from "effect"
import type { SessionId } from "../Domain.js"
import type { RunNotFound, RunTakenOver } from "../Errors.js"
import type { StoreFailure } from "../Storage.js"
import type { ItemRecord, ItemStatus, OperatorName, RunId, RunInfo, RunItem, RunStatus } from "./Run.js"

export interface NewRun {
  readonly id: RunId
  readonly operator: OperatorName
  readonly sessionId?: SessionId | undefined
  readonly spec: Readonly<Record<string, unknown>>
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

export interface RunStore {
  /** Writes the run and its items (all pending, inputs as JSON) in one transaction. */
  readonly createRun: (run: NewRun, inputs: ReadonlyArray<unknown>) => Effect.Effect<RunInfo, StoreFailure>
  readonly getRun: (id: RunId) => Effect.Effect<RunInfo, RunNotFound | StoreFailure>
  /** Runs, newest first. */
  readonly listRuns: (query?: RunsQuery) => Effect.Effect<ReadonlyArray<RunInfo>, StoreFailure>
  /**
   * Makes `owner` the run's runner, in one transaction: items left running (by a runner that
   * crashed or stopped) go back to pending, and the run is running again.
   */
  readonly takeOverRun: (
    id: RunId,
    owner: string,
    at: number
  ) => Effect.Effect<RunInfo, RunNotFound | StoreFailure>
  /** Items in index order. */
  readonly runItems: (id: RunId, query: RunItemsQuery) => Effect.Effect<ReadonlyArray<RunItem>, StoreFailure>
  /** A pending item becomes running. */
  readonly startRunItem: (
    id: RunId,
    owner: string,
    index: number,
    at: number
  ) => Effect.Effect<void, RunTakenOver | StoreFailure>
  /** A running item becomes done or failed, and the run's counters and usage grow with it. */
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
