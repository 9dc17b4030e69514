/**
 * One session seen whole: its row, its model's thresholds, the size and make-up of the context
 * at every completed turn (from the turn snapshots) and where compaction rounds landed between
 * turns. `show` prints it; the explorer charts it.
 *
 * @internal
 */
import { Effect } from "effect"
import type { MnesisConfig } from "../../Config.js"
import type { MessageId, SessionId, SessionInfo, SummaryId, SummaryKind, SummaryNode } from "../../Domain.js"
import type { SessionNotFound } from "../../Errors.js"
import type * as Storage from "../../Storage.js"
import { allSnapshots, childrenOf, messagesById } from "./read.js"
import { modelView } from "./settings.js"

/** The context at the end of one turn, as the turn's snapshot recorded it. */
export interface TurnPoint {
  readonly turn: number
  readonly messageId: MessageId
  /** The `seq` of the turn's final message (-1 when the message is missing). */
  readonly seq: number
  readonly at: number
  /** Tokens sent on the turn's last model call: system + summaries + raw + tool outputs. */
  readonly total: number
  readonly system: number
  readonly summaries: number
  /** Messages other than tool calls and results. */
  readonly raw: number
  readonly toolOutputs: number
  /** A background round started after this turn (the soft threshold was crossed). */
  readonly compactionTriggered: boolean
  /** The turn waited for a round before calling the model (the hard threshold was reached). */
  readonly waited: boolean
}

/** A summary written by a compaction round, placed between turns. */
export interface CompactionPoint {
  readonly summaryId: SummaryId
  readonly kind: SummaryKind
  readonly depth: number
  readonly level: number
  readonly messageCount: number
  readonly tokenCount: number
  /** Tokens of the context items it replaced when it was written. */
  readonly tokensCovered: number
  readonly seq: number
  readonly at: number
  /** How many turns had completed when it was written (0: before the first). */
  readonly afterTurn: number
}

export interface Overview {
  readonly session: SessionInfo
  readonly model: {
    readonly contextLimit: number
    readonly maxOutputTokens: number
    /** False when the registry does not know the model (a fallback window is assumed). */
    readonly known: boolean
  }
  readonly thresholds?: { readonly soft: number; readonly hard: number } | undefined
  readonly thresholdsProblem?: string | undefined
  /** Tokens of the active context now: the system prompt and every context item. */
  readonly contextTokens: number
  readonly systemTokens: number
  readonly turns: ReadonlyArray<TurnPoint>
  readonly compactions: ReadonlyArray<CompactionPoint>
  readonly summaries: {
    readonly total: number
    readonly leaves: number
    readonly condensed: number
    readonly maxDepth: number
    readonly inContext: number
  }
  /** Tokens the summaries saved: what they replaced minus what they cost. */
  readonly tokensSaved: number
  readonly children: ReadonlyArray<SessionId>
}

/** The compaction marker's `tokensCovered` of each summary, from the summary messages. */
export const coveredTokens = (
  store: Storage.Service,
  nodes: ReadonlyArray<SummaryNode>
) =>
  Effect.map(messagesById(store, nodes.map((node) => node.messageId)), (messages) => {
    const out = new Map<string, { readonly seq: number; readonly tokensCovered: number }>()
    for (const node of nodes) {
      const message = messages.get(node.messageId)
      const marker = message?.parts.find((part) => part.type === "compaction")
      out.set(node.id, {
        seq: message?.seq ?? -1,
        tokensCovered: marker?.type === "compaction" ? marker.tokensCovered : 0
      })
    }
    return out
  })

/** How many of `sortedSeqs` are below `seq` (binary search). */
const countBelow = (sortedSeqs: ReadonlyArray<number>, seq: number): number => {
  let low = 0
  let high = sortedSeqs.length
  while (low < high) {
    const mid = (low + high) >> 1
    if (sortedSeqs[mid]! < seq) low = mid + 1
    else high = mid
  }
  return low
}

export const overview = (
  store: Storage.Service,
  sessionId: SessionId,
  config: MnesisConfig
): Effect.Effect<Overview, Storage.StoreFailure | SessionNotFound> =>
  Effect.gen(function*() {
    const session = yield* store.getSession(sessionId)
    const view = yield* modelView(session.model, config)
    const snapshots = yield* allSnapshots(store, sessionId)
    const finals = yield* messagesById(store, snapshots.map((s) => s.messageId))
    const turns: Array<TurnPoint> = snapshots.map((s) => ({
      turn: s.turn,
      messageId: s.messageId,
      seq: finals.get(s.messageId)?.seq ?? -1,
      at: s.createdAt,
      total: s.context.total,
      system: s.context.system,
      summaries: s.context.summaries,
      raw: Math.max(0, s.context.messages - s.context.toolOutputs),
      toolOutputs: s.context.toolOutputs,
      compactionTriggered: s.compactionTriggered,
      waited: s.compactionResult !== undefined
    }))

    const nodes = yield* store.sessionSummaries(sessionId)
    const covered = yield* coveredTokens(store, nodes)
    const turnSeqs = turns.map((t) => t.seq).filter((seq) => seq >= 0).sort((a, b) => a - b)
    const compactions: Array<CompactionPoint> = nodes.map((node) => {
      const { seq, tokensCovered } = covered.get(node.id) ?? { seq: -1, tokensCovered: 0 }
      return {
        summaryId: node.id,
        kind: node.kind,
        depth: node.depth,
        level: node.level,
        messageCount: node.messageCount,
        tokenCount: node.tokenCount,
        tokensCovered,
        seq,
        at: node.createdAt,
        afterTurn: countBelow(turnSeqs, seq)
      }
    })
    compactions.sort((a, b) => a.seq - b.seq)

    const items = yield* store.contextItems(sessionId)
    const inContext = new Set<string>(items.map((item) => item.id))
    const systemTokens = view.count(session.systemPrompt)
    const children = yield* childrenOf(store, sessionId)
    return {
      session,
      model: {
        contextLimit: view.info.contextLimit,
        maxOutputTokens: view.info.maxOutputTokens,
        known: view.info.known
      },
      thresholds: view.budget === undefined
        ? undefined
        : { soft: view.budget.softThreshold, hard: view.budget.hardThreshold },
      thresholdsProblem: view.budgetProblem,
      contextTokens: systemTokens + items.reduce((sum, item) => sum + item.tokenCount, 0),
      systemTokens,
      turns,
      compactions,
      summaries: {
        total: nodes.length,
        leaves: nodes.filter((n) => n.kind === "leaf").length,
        condensed: nodes.filter((n) => n.kind === "condensed").length,
        maxDepth: nodes.reduce((max, n) => Math.max(max, n.depth), 0),
        inContext: nodes.filter((n) => inContext.has(n.id)).length
      },
      tokensSaved: compactions.reduce((sum, c) => sum + Math.max(0, c.tokensCovered - c.tokenCount), 0),
      children: children.map((child) => child.id)
    } satisfies Overview
  }).pipe(Effect.withSpan("cli.overview", { captureStackTrace: false }))
