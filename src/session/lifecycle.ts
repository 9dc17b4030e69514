/**
 * A session's lifecycle: whether it is open, the lock that runs its turns one at a time in call
 * order, and `close` (the in-flight turn, then background compaction, each up to the deadline;
 * `SessionClosed`; the subscribers; the scope).
 *
 * @internal
 */
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
          Effect.timeout(config.session.closeTimeout),
          Effect.ignore
        )
        yield* compaction.shutdown(config.session.closeTimeout)
        yield* publish(new SessionClosed({ sessionId, at: yield* Clock.currentTimeMillis }))
        // Subscribers end on SessionClosed; give them the same deadline to get there.
        yield* subscribersDone.pipe(Effect.timeout(config.session.closeTimeout), Effect.ignore)
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.withSpan("Session.close", { attributes: { sessionId } }))

    return {
      whileOpen,
      guarded: (effect) =>
        whileOpen(turnLock.withPermits(1)(effect)),
      close
    } satisfies Lifecycle
  })
