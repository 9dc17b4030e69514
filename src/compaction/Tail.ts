/**
 * The fresh tail: the newest `freshTailTurns` user turns and everything after them. Nothing in
 * it is ever summarised or pruned — it is what the model is working on.
 *
 * @internal
 */
import type { ContextItem } from "../Domain.js"

/**
 * The index of the first context item of the fresh tail. With fewer user turns than
 * `freshTailTurns`, the tail starts at the first user message (all raw turns are fresh).
 */
export const freshTailStart = (items: ReadonlyArray<ContextItem>, freshTailTurns: number): number => {
  let seen = 0
  let firstUser = items.length
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!
    if (item.kind !== "message" || item.role !== "user") continue
    firstUser = i
    seen++
    if (seen === freshTailTurns) return i
  }
  return firstUser
}
