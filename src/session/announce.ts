/**
 * What a session tells the world: its creation (replayed to its first subscribers, who could not
 * be listening yet), the messages it stores, and its events as a stream or to subscribers that
 * end when the session closes.
 *
 * @internal
 */
import { Effect, Ref, Scope, Stream } from "effect"
import type { MessageId } from "../Domain.js"
import type { EventOf, EventTag, Handler, Subscription } from "../Events.js"
import { MessageCreated, type MnesisEvent, SessionCreated } from "../Events.js"
import { runCallback } from "../internal/callbacks.js"
import type { Session } from "../Session.js"
import type { SessionCore } from "./core.js"

export interface Announcer {
  readonly messageCreated: (
    messageId: MessageId,
    role: "user" | "assistant",
    at: number
  ) => Effect.Effect<void>
  readonly subscribe: Session["subscribe"]
  readonly events: Session["events"]
  /** Completes when every subscription made so far has ended. */
  readonly subscribersDone: Effect.Effect<void>
}

export const makeAnnouncer = (core: SessionCore) =>
  Effect.gen(function*() {
    const { bus, created: isNew, publish, row, scope, sessionId } = core
    const subscriptions = yield* Ref.make<ReadonlyArray<Subscription>>([])
    const created = new SessionCreated({
      sessionId,
      at: row.createdAt,
      model: row.model,
      ...(row.parentId === undefined ? {} : { parentId: row.parentId })
    })
    if (isNew) yield* publish(created)

    const subscribe: Session["subscribe"] = <T extends EventTag | "*">(
      tag: T,
      handler: Handler<EventOf<T>>
    ) =>
      Effect.gen(function*() {
        if (isNew && (tag === "*" || tag === "SessionCreated")) {
          // The session's creation happened before anyone could subscribe: replay it.
          yield* runCallback(handler, created as EventOf<T>, "the handler of SessionCreated events")
        }
        const subscription = yield* Scope.extend(
          bus.subscribe(tag, handler, {
            filter: (event) => event.sessionId === sessionId,
            until: (event) => event.sessionId === sessionId && event._tag === "SessionClosed"
          }),
          scope
        )
        yield* Ref.update(subscriptions, (all) => [...all, subscription])
        return subscription.unsubscribe
      })

    return {
      messageCreated: (messageId, role, at) =>
        publish(
          new MessageCreated({ sessionId, at, messageId, role, isSummary: false }, {
            disableValidation: true
          })
        ),
      subscribe,
      events: Stream.concat(
        isNew ? Stream.make<Array<MnesisEvent>>(created) : Stream.empty,
        bus.events.pipe(
          Stream.filter((event) => event.sessionId === sessionId),
          Stream.takeUntil((event) => event._tag === "SessionClosed")
        )
      ),
      subscribersDone: Effect.flatMap(
        Ref.get(subscriptions),
        (all) => Effect.forEach(all, (s) => s.done, { discard: true })
      )
    } satisfies Announcer
  })
