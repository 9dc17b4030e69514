/**
 * Tool-output pruning (SPEC §6): old, completed tool outputs are replaced in the context by a
 * one-line tombstone; the output itself stays in the store, reachable through `expand`.
 *
 * The scan runs newest to oldest over the raw messages just before the fresh tail and stops at
 * the most recent summary. The newest `pruneProtectTokens` of tool output stay; older outputs are
 * candidates, pruned only when together they exceed `pruneMinimumTokens` (so a prune is always
 * worth the prompt-cache miss it causes). Protected tools, errors and unfinished calls are kept.
 *
 * @internal
 */
import { Clock, Effect } from "effect"
import type { SessionContext } from "../Compactor.js"
import { tombstoneCost } from "../context/Render.js"
import type { ContextItem, MessageId, ToolPart } from "../Domain.js"
import { PruneCompleted } from "../Events.js"
import type { StoreFailure, Tombstone } from "../Storage.js"
import { freshTailStart } from "./Tail.js"

export interface PruneOutcome {
  readonly count: number
  readonly tokens: number
}

/** The raw message items between the last summary and the fresh tail, newest first. */
const prunableItems = (items: ReadonlyArray<ContextItem>, freshTailTurns: number): Array<MessageId> => {
  const out: Array<MessageId> = []
  for (let i = freshTailStart(items, freshTailTurns) - 1; i >= 0 && items[i]!.kind === "message"; i--) {
    out.push(items[i]!.id as MessageId)
  }
  return out
}

export const prune = (
  context: SessionContext,
  items: ReadonlyArray<ContextItem>
): Effect.Effect<PruneOutcome, StoreFailure> =>
  Effect.gen(function*() {
    const config = context.config.compaction
    if (!config.prune) return { count: 0, tokens: 0 }
    const ids = prunableItems(items, config.freshTailTurns)
    if (ids.length === 0) return { count: 0, tokens: 0 }
    const protectedTools = new Set(config.protectedTools)
    // Only tool parts matter here: read those, not whole messages.
    const byMessage = new Map<MessageId, Array<ToolPart>>()
    for (const { messageId, part } of yield* context.store.toolParts(ids)) {
      const parts = byMessage.get(messageId) ?? []
      parts.push(part)
      byMessage.set(messageId, parts)
    }
    let seen = 0
    let volume = 0
    const candidates: Array<Tombstone & { readonly messageId: MessageId; readonly freed: number }> = []
    for (const messageId of ids) {
      for (const part of (byMessage.get(messageId) ?? []).reverse()) {
        if (
          part.status !== "completed" || part.compactedAt !== undefined || protectedTools.has(part.toolName)
        ) continue
        const tombstone = tombstoneCost(part, messageId, context.count)
        const output = Math.max(0, part.tokenCount - tombstone)
        // An output no larger than its tombstone is cheaper to keep than to replace.
        if (output <= 0) continue
        seen += output
        if (seen <= config.pruneProtectTokens) continue
        candidates.push({ partId: part.id, tokenCount: tombstone, messageId, freed: output })
        volume += output
      }
    }
    if (volume <= config.pruneMinimumTokens) return { count: 0, tokens: 0 }
    const at = yield* Clock.currentTimeMillis
    const count = yield* context.store.tombstone(context.sessionId, candidates, at)
    yield* context.invalidate([...new Set(candidates.map((c) => c.messageId))])
    yield* context.publish(new PruneCompleted({ sessionId: context.sessionId, at, count, tokens: volume }))
    return { count, tokens: volume }
  }).pipe(Effect.withSpan("Compactor.prune"))
