/**
 * What a summary covers, for `grep` within it: the original messages under it and the messages
 * carrying the summaries it condenses, transitively (what `expand` reaches from it).
 *
 * Its seq span alone is not enough: summary messages are appended to the history as compaction
 * runs, so another summary's message (or a message of the fresh tail) can sit inside the span
 * without being covered.
 *
 * @internal
 */
import { Effect } from "effect"
import type { SummaryId, SummaryNode } from "../Domain.js"
import type * as Storage from "../Storage.js"

export interface Coverage {
  /** Seqs that hold everything covered: the span's start up to the summary's own message. */
  readonly seqRange: readonly [number, number]
  readonly messageIds: ReadonlySet<string>
}

export const coverage = (
  store: Storage.Service,
  node: SummaryNode
): Effect.Effect<Coverage, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const messageIds = new Set<string>()
    const visited = new Set<string>([node.id])
    let frontier: ReadonlyArray<SummaryId> = [node.id]
    while (frontier.length > 0) {
      const next: Array<SummaryId> = []
      for (const id of frontier) {
        for (const source of yield* store.summarySources(id)) {
          if (source.kind === "message") messageIds.add(source.id)
          else if (!visited.has(source.id)) {
            visited.add(source.id)
            next.push(source.id)
          }
        }
      }
      for (const condensed of yield* store.summaries(next)) messageIds.add(condensed.messageId)
      frontier = next
    }
    // everything covered was written before the summary's own message
    const [own] = yield* store.messages([node.messageId])
    const last = own === undefined ? Number.MAX_SAFE_INTEGER : own.seq - 1
    return { seqRange: [node.spanStartSeq, Math.max(node.spanEndSeq, last)], messageIds }
  })
