/**
 * The end of a turn, in one place: the compaction check that follows every completed turn, and
 * the turn's snapshot (what `history()` returns). A turn whose final message is still to be
 * written gets its snapshot written with that message, in the same transaction; a turn whose last
 * message is already stored (it ended after running tools) gets its snapshot written on its own.
 *
 * @internal
 */
import { Clock, Effect } from "effect"
import type { CompactionResult, ContextBreakdown, MessageId } from "../Domain.js"
import type * as Storage from "../Storage.js"
import type { SessionCore } from "./core.js"

export interface TurnEnd {
  /** The turn's final message. */
  readonly messageId: MessageId
  /** The context the turn's final reply answered, by kind. */
  readonly context: ContextBreakdown
  /** The round this turn waited for at the hard threshold, if any. */
  readonly compactionResult?: CompactionResult | undefined
  /** When the turn ended (now when absent). */
  readonly at?: number | undefined
}

export interface Snapshots {
  /**
   * The snapshot of a turn whose final message is about to be written (the caller writes it with
   * the message). `sizeAfter` is the context's size once the message is in; `added` what the
   * message adds (a background round, if one starts, is told).
   */
  readonly withMessage: (
    end: TurnEnd & { readonly sizeAfter: number; readonly added: number }
  ) => Effect.Effect<Storage.NewTurnSnapshot>
  /** Ends a turn whose final message is stored: the compaction check, then the snapshot, written now. */
  readonly afterStored: (
    end: TurnEnd
  ) => Effect.Effect<{ readonly compactionTriggered: boolean }, Storage.StoreFailure>
  /** The compaction check of an exchange that is not a turn (no reply: tool results, a user note). */
  readonly check: Effect.Effect<boolean>
}

export const makeSnapshots = (core: SessionCore): Snapshots => {
  const { compaction, sessionId, store } = core
  const snapshot = (end: TurnEnd, compactionTriggered: boolean) =>
    Effect.map(
      end.at === undefined ? Clock.currentTimeMillis : Effect.succeed(end.at),
      (createdAt): Storage.NewTurnSnapshot => ({
        messageId: end.messageId,
        context: end.context,
        compactionTriggered,
        ...(end.compactionResult === undefined ? {} : { compactionResult: end.compactionResult }),
        createdAt
      })
    )
  return {
    withMessage: (end) =>
      Effect.flatMap(compaction.afterTurn(end.sizeAfter, end.added), (triggered) => snapshot(end, triggered)),
    afterStored: (end) =>
      Effect.gen(function*() {
        const compactionTriggered = yield* compaction.afterTurn()
        yield* store.appendSnapshot(sessionId, yield* snapshot(end, compactionTriggered))
        return { compactionTriggered }
      }),
    check: compaction.afterTurn()
  }
}
