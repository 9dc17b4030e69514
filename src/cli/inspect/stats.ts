/**
 * The database as a whole: its size on disk, its sessions, messages and summaries, the tokens
 * billed and the tokens compaction saved.
 *
 * @internal
 */
import { Effect } from "effect"
import { TokenUsage } from "../../Domain.js"
import type * as Storage from "../../Storage.js"
import { coveredTokens } from "./overview.js"
import { allSessions } from "./read.js"

export interface Stats {
  /** Bytes on disk (the file and its write-ahead log), when the database is a file. */
  readonly bytes?: number | undefined
  readonly sessions: number
  /** Sessions with a parent (sub-agents). */
  readonly subSessions: number
  /** Original messages (summary messages not counted). */
  readonly messages: number
  readonly summaries: number
  /** Summaries still in some session's active context. */
  readonly activeSummaries: number
  /** Tokens of every session's active context (without system prompts). */
  readonly contextTokens: number
  /** Tokens billed by providers over every session's life. */
  readonly usageTokens: number
  readonly cost: number
  /** What the summaries replaced minus what they cost, over every summary written. */
  readonly tokensSaved: number
  readonly oldest?: number | undefined
  readonly newest?: number | undefined
}

export const stats = (
  store: Storage.Service,
  bytes: number | undefined
): Effect.Effect<Stats, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const sessions = yield* allSessions(store)
    let messages = 0
    let summaries = 0
    let activeSummaries = 0
    let contextTokens = 0
    let usageTokens = 0
    let cost = 0
    let tokensSaved = 0
    for (const session of sessions) {
      const nodes = yield* store.sessionSummaries(session.id)
      const items = yield* store.contextItems(session.id)
      const covered = yield* coveredTokens(store, nodes)
      summaries += nodes.length
      messages += session.messageCount - nodes.length
      activeSummaries += items.filter((item) => item.kind === "summary").length
      contextTokens += items.reduce((sum, item) => sum + item.tokenCount, 0)
      usageTokens += TokenUsage.effectiveTotal(session.tokens)
      cost += session.cost
      for (const node of nodes) {
        tokensSaved += Math.max(0, (covered.get(node.id)?.tokensCovered ?? 0) - node.tokenCount)
      }
    }
    return {
      bytes,
      sessions: sessions.length,
      subSessions: sessions.filter((session) => session.parentId !== undefined).length,
      messages,
      summaries,
      activeSummaries,
      contextTokens,
      usageTokens,
      cost,
      tokensSaved,
      oldest: sessions.reduce<number | undefined>(
        (min, s) => Math.min(min ?? s.createdAt, s.createdAt),
        undefined
      ),
      newest: sessions.reduce<number | undefined>(
        (max, s) => Math.max(max ?? s.updatedAt, s.updatedAt),
        undefined
      )
    }
  }).pipe(Effect.withSpan("cli.stats", { captureStackTrace: false }))
