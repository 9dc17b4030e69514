/**
 * The summary DAG's invariants, checked against the store:
 * - no summary in the active context is superseded;
 * - every message of the history (summary messages and failed turns aside) is either in the
 *   active context or covered, through provenance, by exactly one active summary — never both,
 *   never twice, never neither (nothing unreachable after compaction).
 */
import { Effect } from "effect"
import type { SessionId, SummaryId, SummaryNode } from "../../src/Domain.js"
import * as Storage from "../../src/Storage.js"

export interface DagReport {
  readonly messages: number
  readonly inContext: number
  readonly covered: number
  readonly activeSummaries: number
  readonly maxDepth: number
  readonly problems: ReadonlyArray<string>
}

export const checkDag = (sessionId: SessionId) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const problems: Array<string> = []
    const items = yield* store.contextItems(sessionId)
    const inContext = new Set(items.filter((i) => i.kind === "message").map((i) => i.id))
    const active = items.filter((i) => i.kind === "summary").map((i) => i.id as SummaryId)
    const nodes = new Map(
      (yield* store.sessionSummaries(sessionId)).map((n): [string, SummaryNode] => [n.id, n])
    )
    const covered = new Map<string, number>()
    const expand = (id: SummaryId): Effect.Effect<void, Storage.StoreFailure> =>
      Effect.gen(function*() {
        for (const source of yield* store.summarySources(id)) {
          if (source.kind === "message") covered.set(source.id, (covered.get(source.id) ?? 0) + 1)
          else yield* expand(source.id)
        }
      })
    for (const id of active) {
      const node = nodes.get(id)
      if (node === undefined) problems.push(`${id} is in the context but not stored`)
      else if (node.supersededBy !== undefined) problems.push(`${id} is in the context but superseded`)
      yield* expand(id)
    }
    let messages = 0
    let after = 0
    for (;;) {
      const page = yield* store.history(sessionId, { afterSeq: after, limit: 500, includeSummaries: false })
      for (const message of page) {
        if (message.finishReason === "error") continue
        messages++
        const times = (inContext.has(message.id) ? 1 : 0) + (covered.get(message.id) ?? 0)
        if (times !== 1) problems.push(`${message.id} (seq ${message.seq}) is reachable ${times} times`)
      }
      if (page.length < 500) break
      after = page[page.length - 1]!.seq
    }
    return {
      messages,
      inContext: inContext.size,
      covered: covered.size,
      activeSummaries: active.length,
      maxDepth: Math.max(0, ...[...nodes.values()].map((n) => n.depth)),
      problems
    } satisfies DagReport
  })
