/**
 * What the library's own modules may know of an open session beyond its public interface: its
 * core (store, configuration, row). Sub-sessions are spawned in their parent's store with its
 * configuration, and operators keep their runs where the session keeps its history.
 *
 * @internal
 */
import { Effect } from "effect"
import { InvalidInput, type SessionIsClosed } from "../Errors.js"
import type { Session } from "../Session.js"
import type { SessionCore } from "./core.js"

export interface Internals {
  readonly core: SessionCore
  readonly whileOpen: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SessionIsClosed, R>
}

const registry = new WeakMap<Session, Internals>()

export const register = (session: Session, internals: Internals): void => {
  registry.set(session, internals)
}

/** The internals of a session this library opened; `InvalidInput` for any other object. */
export const internalsOf = (session: Session, field: string): Effect.Effect<Internals, InvalidInput> => {
  const internals = registry.get(session)
  return internals === undefined
    ? Effect.fail(
      new InvalidInput({ field, reason: "must be a session opened by mnesis (Session.open, create or load)" })
    )
    : Effect.succeed(internals)
}
