/**
 * The `Compactor`: keeps each session's active context under its budget (SPEC §5). A session
 * asks it, through a per-session handle, three things:
 *
 * - before a turn calls the model: at or above the hard threshold, run or join rounds until the
 *   context is below it (the turn waits);
 * - after a turn: at or above the soft threshold with no round in flight, fork one round in the
 *   session's scope (the turn does not wait);
 * - on demand (`compact()`): run a round, or join the one in flight instead of starting another.
 *
 * Rounds never fail a session: a failure is a `CompactionFailed` event.
 *
 * @since 0.1.0
 */
import { Context, type Duration, Effect, Layer, type Option, type Scope } from "effect"
import type { Budget, MnesisConfig } from "./Config.js"
import type { Count } from "./context/Render.js"
import { CompactionResult } from "./Domain.js"
import type { SessionId } from "./Domain.js"
import type { MnesisEvent } from "./Events.js"
import type { ModelInfo } from "./ModelRegistry.js"
import type * as Storage from "./Storage.js"

/** What the compactor knows of a session. */
export interface SessionContext {
  readonly sessionId: SessionId
  readonly agent: string
  readonly model: ModelInfo
  readonly config: MnesisConfig
  readonly budget: Budget
  /** The system prompt's tokens (part of the active context's size). */
  readonly systemTokens: Effect.Effect<number>
  readonly store: Storage.Service
  readonly count: Count
  readonly publish: (event: MnesisEvent) => Effect.Effect<void>
  /** Forget cached renderings of items a round changed. */
  readonly invalidate: (ids: ReadonlyArray<string>) => Effect.Effect<void>
}

/**
 * A session's compaction handle, living in the session's scope.
 *
 * @since 0.1.0
 */
export interface SessionCompactor {
  /** Waits (running or joining rounds) while the context is at or above the hard threshold. */
  readonly beforeTurn: Effect.Effect<Option.Option<CompactionResult>>
  /** Forks a round when the context is at or above the soft threshold; true if it did. */
  readonly afterTurn: Effect.Effect<boolean>
  /** Runs a round now, or joins the one in flight. */
  readonly compact: Effect.Effect<CompactionResult>
  readonly inProgress: Effect.Effect<boolean>
  /** Waits for an in-flight round up to `timeout`, then interrupts it (on session close). */
  readonly shutdown: (timeout: Duration.DurationInput) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 */
export interface Service {
  readonly forSession: (context: SessionContext) => Effect.Effect<SessionCompactor, never, Scope.Scope>
}

export class Compactor extends Context.Tag("mnesis/Compactor")<Compactor, Service>() {}

/**
 * A compactor that never compacts (for hosts that manage memory themselves, and for tests of
 * everything else). `compact()` honestly reports that nothing changed.
 *
 * @since 0.1.0
 */
export const layerDisabled: Layer.Layer<Compactor> = Layer.succeed(Compactor, {
  forSession: (context) =>
    Effect.succeed({
      beforeTurn: Effect.succeedNone,
      afterTurn: Effect.succeed(false),
      compact: Effect.map(
        Effect.orElseSucceed(context.store.contextTokens(context.sessionId), () => 0),
        (tokens) => CompactionResult.none(tokens)
      ),
      inProgress: Effect.succeed(false),
      shutdown: () => Effect.void
    })
})
