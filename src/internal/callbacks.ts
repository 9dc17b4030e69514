/**
 * Runs a user callback of any kind — one returning an Effect, a Promise or a plain value —
 * isolating its failures: they are logged with `label` and never propagated.
 *
 * @internal
 */
import { Cause, Effect } from "effect"

export const runCallback = <A>(
  callback: (arg: A) => unknown,
  arg: A,
  label: string
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const result = callback(arg)
    // `isEffect` cannot narrow requirements; callbacks are typed to need none.
    if (Effect.isEffect(result)) return Effect.asVoid(result as Effect.Effect<unknown, unknown>)
    if (result instanceof Promise) return Effect.asVoid(Effect.tryPromise(() => result))
    return Effect.void
  }).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.void
        : Effect.logWarning(`${label} failed; going on without it`, cause)
    )
  )
