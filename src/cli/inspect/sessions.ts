/**
 * The sessions of a database with their sizes, filtered by age, model and agent.
 *
 * @internal
 */
import { Clock, Duration, Effect } from "effect"
import type { MnesisConfig } from "../../Config.js"
import type { SessionId, SessionInfo } from "../../Domain.js"
import { TokenUsage } from "../../Domain.js"
import type * as Storage from "../../Storage.js"
import { allSessions } from "./read.js"
import { modelView } from "./settings.js"

export interface SessionFilter {
  /** Only sessions written to within this long. */
  readonly since?: Duration.Duration | undefined
  /** Only sessions not written to for this long. */
  readonly olderThan?: Duration.Duration | undefined
  /** Only sessions whose model contains this text (case-insensitive). */
  readonly model?: string | undefined
  readonly agent?: string | undefined
  readonly limit?: number | undefined
}

export interface SessionRow {
  readonly id: SessionId
  readonly parentId?: SessionId | undefined
  readonly model: string
  readonly agent: string
  readonly createdAt: number
  readonly updatedAt: number
  /** Messages written, summary messages included (the last `seq`). */
  readonly messages: number
  readonly summaries: number
  /** Tokens of the active context now, system prompt included. */
  readonly contextTokens: number
  /** Tokens billed over the session's life. */
  readonly usageTokens: number
  readonly cost: number
}

export const matches = (session: SessionInfo, filter: SessionFilter, now: number): boolean => {
  if (filter.since !== undefined && session.updatedAt < now - Duration.toMillis(filter.since)) return false
  if (filter.olderThan !== undefined && session.updatedAt >= now - Duration.toMillis(filter.olderThan)) {
    return false
  }
  if (filter.model !== undefined && !session.model.toLowerCase().includes(filter.model.toLowerCase())) {
    return false
  }
  if (filter.agent !== undefined && session.agent !== filter.agent) return false
  return true
}

export const rowOf = (
  store: Storage.Service,
  session: SessionInfo,
  config: MnesisConfig
): Effect.Effect<SessionRow, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const view = yield* modelView(session.model, config)
    const items = yield* store.contextItems(session.id)
    const summaries = yield* store.sessionSummaries(session.id)
    return {
      id: session.id,
      parentId: session.parentId,
      model: session.model,
      agent: session.agent,
      createdAt: session.createdAt,
      updatedAt: session.updatedAt,
      messages: session.messageCount,
      summaries: summaries.length,
      contextTokens: (session.systemPrompt === "" ? 0 : view.count(session.systemPrompt)) +
        items.reduce((sum, item) => sum + item.tokenCount, 0),
      usageTokens: TokenUsage.effectiveTotal(session.tokens),
      cost: session.cost
    }
  })

/** The matching sessions, newest first, with their sizes; `total` counts matches before the limit. */
export const list = (
  store: Storage.Service,
  filter: SessionFilter,
  config: MnesisConfig
): Effect.Effect<
  { readonly rows: ReadonlyArray<SessionRow>; readonly total: number },
  Storage.StoreFailure
> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const matching = (yield* allSessions(store)).filter((session) => matches(session, filter, now))
    const shown = filter.limit === undefined ? matching : matching.slice(0, filter.limit)
    const rows = yield* Effect.forEach(shown, (session) => rowOf(store, session, config))
    return { rows, total: matching.length }
  })
