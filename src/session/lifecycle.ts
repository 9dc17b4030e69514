/**
 * A session's lifecycle: whether it is open, the lock that runs its turns one at a time in call
 * order, and `close` (the in-flight turn, then background compaction, each up to the deadline;
 * `SessionClosed`; the subscribers; the scope).
 *
 * @internal
 */
import type { Duration } from "effect"
import { Clock, Effect, Exit, Ref, Scope } from "effect"
import { SessionIsClosed } from "../Errors.js"
import { SessionClosed } from "../Events.js"
import type { SessionCore } from "./core.js"

export interface Lifecycle {
  /** Runs `effect` unless the session is closed (its store may be closed with it). */
  readonly whileOpen: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SessionIsClosed, R>
  /** `whileOpen`, one at a time: turns of a session run in call order. */
  readonly guarded: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SessionIsClosed, R>
  /** Idempotent. `subscribersDone` completes when the session's subscribers have ended. */
  readonly close: (subscribersDone: Effect.Effect<void>) => Effect.Effect<void>
}

/** Waits for `effect` up to `timeout`; past it, gives up and says so in a warning. */
const warnAfter = (timeout: Duration.DurationInput, warning: string) => (effect: Effect.Effect<void>) =>
  effect.pipe(
    Effect.timeoutTo({ duration: timeout, onSuccess: () => true, onTimeout: () => false }),
    Effect.flatMap((finished) => finished ? Effect.void : Effect.logWarning(warning))
  )

export const makeLifecycle = (core: SessionCore) =>
  Effect.gen(function*() {
    const { compaction, config, publish, scope, sessionId } = core
    const turnLock = yield* Effect.makeSemaphore(1)
    const closed = yield* Ref.make(false)

    const whileOpen: Lifecycle["whileOpen"] = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(Ref.get(closed), (isClosed): Effect.Effect<A, E | SessionIsClosed, R> =>
        isClosed ? Effect.fail(new SessionIsClosed({ sessionId })) : effect)

    const close: Lifecycle["close"] = (subscribersDone) =>
      Effect.gen(function*() {
        if (yield* Ref.getAndSet(closed, true)) {
          return
        }
        // Let an in-flight turn finish, then background compaction, each up to the deadline.
        yield* turnLock.withPermits(1)(Effect.void).pipe(
          warnAfter(
            config.session.closeTimeout,
            "the turn in flight did not finish before the session's close deadline " +
              "(session.closeTimeout); the session closed under it and the turn's unstored part is lost"
          )
        )
        yield* compaction.shutdown(config.session.closeTimeout)
        yield* publish(new SessionClosed({ sessionId, at: yield* Clock.currentTimeMillis }))
        // Subscribers end on SessionClosed; give them the same deadline to get there.
        yield* subscribersDone.pipe(
          warnAfter(
            config.session.closeTimeout,
            "event subscribers did not end before the session's close deadline (session.closeTimeout); " +
              "they were stopped and may have missed the last events"
          )
        )
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.withSpan("Session.close", { attributes: { sessionId } }))

    return {
      whileOpen,
      guarded: (effect) =>
        whileOpen(turnLock.withPermits(1)(effect)),
      close
    } satisfies Lifecycle
  })
