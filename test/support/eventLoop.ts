/**
 * Letting the event loop turn in long tests.
 *
 * A vitest worker answers its RPC with the main process (`onTaskUpdate`, 60 s timeout) only when
 * its event loop turns. Effect's own yields (`Effect.yieldNow`, the yield every 2,048 operations)
 * go through the microtask queue and reach a macrotask only after 2,048 drains in a row, and the
 * SQLite store is synchronous: a test that loops over hundreds of turns, or a property with a
 * thousand runs (each its own fiber), can hold the loop for a minute on a busy machine, and the
 * run then fails although every test passed. Long loops in tests call these every few iterations.
 */
import { Effect } from "effect"

/** Resolves from a `setImmediate` callback: after the I/O the loop has waiting. */
export const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** `nextMacrotask` as an Effect (real, not clock-driven: it works under `TestClock`). */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})
