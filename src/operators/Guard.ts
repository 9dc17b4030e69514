/**
 * The delegation guard. Operators started from a session may nest (a sub-agent may start its own
 * map), but only so deep and only by doing less: a session may start an operator only while it
 * is fewer than `operators.maxDepth` levels below its root, and a sub-agent (a session an
 * Agentic-Map spawned for one item of a run of N) must narrow its scope — fewer than N items, or
 * a declared split of its task (`delegation: { delegated, kept }`: what it hands off, and what it
 * keeps doing itself). Anything else is refused with `DelegationRefused`, before any call.
 *
 * @internal
 */
import { Effect, Option, Schema } from "effect"
import type { SessionId, SessionInfo } from "../Domain.js"
import { DelegationRefused } from "../Errors.js"
import type * as Storage from "../Storage.js"
import type { RunId } from "./Run.js"
import { RunId as RunIdSchema } from "./Run.js"

/** The metadata key of a sub-agent's session: the run and item it works on. */
export const SUB_AGENT_KEY = "mnesisOperatorRun"

/** `depth`: how many levels below the root of its work the sub-agent is (its caller's + 1). */
const SubAgentMark = Schema.Struct({
  runId: RunIdSchema,
  index: Schema.Int,
  total: Schema.Int,
  depth: Schema.Int
})
export type SubAgentMark = typeof SubAgentMark.Type

export const markOf = (row: SessionInfo): Option.Option<SubAgentMark> =>
  Schema.decodeUnknownOption(SubAgentMark)(row.metadata?.[SUB_AGENT_KEY])

export const mark = (runId: RunId, index: number, total: number, depth: number): Record<string, unknown> => ({
  [SUB_AGENT_KEY]: { runId, index, total, depth }
})

/**
 * A sub-agent's declared split of its task: what the nested operator does for it, and what it
 * keeps doing itself. Both must say something.
 *
 * @since 0.1.0
 */
export interface Delegation {
  readonly delegated: string
  readonly kept: string
}

/**
 * How many levels `row` is below its root, up to `limit`: a sub-agent's mark says (its run may have
 * been started outside any session); otherwise the parent chain (a session without a parent is at 0).
 */
const depthOf = (store: Storage.Service, row: SessionInfo, limit: number) =>
  Effect.gen(function*() {
    const own = markOf(row)
    if (Option.isSome(own)) return own.value.depth
    let depth = 0
    let parent: SessionId | undefined = row.parentId
    while (parent !== undefined && depth < limit) {
      depth++
      parent = (yield* store.getSession(parent)).parentId
    }
    return depth
  })

/** Checks a nested start; returns the caller's depth. */
export const check = (
  caller: { readonly store: Storage.Service; readonly row: SessionInfo; readonly maxDepth: number },
  request: { readonly items: number; readonly delegation?: Delegation | undefined }
) =>
  Effect.gen(function*() {
    const depth = yield* depthOf(caller.store, caller.row, caller.maxDepth)
    if (depth >= caller.maxDepth) {
      return yield* new DelegationRefused({
        reason: `session ${caller.row.id} is ${depth} levels below its root, and operators may be started ` +
          `at most ${caller.maxDepth} levels deep (operators.maxDepth); do this work here instead`
      })
    }
    const own = markOf(caller.row)
    if (Option.isSome(own) && request.items >= own.value.total) {
      const declared = request.delegation !== undefined &&
        request.delegation.delegated.trim() !== "" && request.delegation.kept.trim() !== ""
      if (!declared) {
        return yield* new DelegationRefused({
          reason: `this sub-agent handles one item of a run of ${own.value.total} (${own.value.runId}); a ` +
            `nested operator must narrow the scope: give it fewer than ${own.value.total} items, or declare ` +
            "delegation: { delegated, kept } naming the part it hands off and the part this agent keeps doing"
        })
      }
    }
    return depth
  })
