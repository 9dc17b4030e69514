/**
 * What a model saw: the active context now (read from the store's context items), or at the end
 * of a past turn, rebuilt from the append-only history.
 *
 * The store keeps the current context and each turn's token breakdown, not each turn's items, so
 * a past turn's context is reconstructed: the messages written before the turn's final message,
 * with the spans of the summaries that existed then (and were not yet condensed) replaced by
 * those summaries, and tool outputs pruned by then shown as their tombstones. The breakdown the
 * turn recorded is returned beside it, so a reader can see whether the two agree.
 *
 * @internal
 */
import { Effect } from "effect"
import type { Count } from "../../context/Render.js"
import { renderMessage, renderSummary, tombstoneCost, toolTokens } from "../../context/Render.js"
import { assemble } from "../../ContextBuilder.js"
import type {
  ContextBreakdown,
  Message,
  MessageId,
  Part,
  SessionId,
  SessionInfo,
  SummaryId,
  SummaryNode
} from "../../Domain.js"
import { MESSAGE_OVERHEAD_TOKENS } from "../../Domain.js"
import type { SessionNotFound } from "../../Errors.js"
import type { LlmMessage } from "../../LlmProvider.js"
import type * as Storage from "../../Storage.js"
import { TurnNotFound } from "../errors.js"
import { historyBefore, messagesById } from "./read.js"

export interface ContextEntry {
  readonly kind: "message" | "summary"
  readonly id: MessageId | SummaryId
  /** The message's `seq`, or the first `seq` a summary covers. */
  readonly seq: number
  readonly role?: "user" | "assistant" | undefined
  readonly tokenCount: number
  /** Tokens of the entry's tool calls and results. */
  readonly toolTokens: number
  /** For a summary: what it covers. */
  readonly summary?: {
    readonly depth: number
    readonly kind: "leaf" | "condensed"
    readonly spanStartSeq: number
    readonly spanEndSeq: number
    readonly messageCount: number
  } | undefined
  /** The entry as the model receives it. */
  readonly rendered: ReadonlyArray<LlmMessage>
}

export interface Composition {
  readonly system: number
  readonly summaries: number
  readonly raw: number
  readonly toolOutputs: number
  readonly total: number
}

export interface ContextView {
  readonly sessionId: SessionId
  /** The turn shown, or undefined for the context the next turn starts from. */
  readonly turn?: number | undefined
  readonly turns: number
  /**
   * True for the current context (read as stored), and for a past turn's context whose rebuilt
   * size matches what the turn recorded; false when the two differ (see `recorded`).
   */
  readonly exact: boolean
  readonly systemPrompt: string
  readonly entries: ReadonlyArray<ContextEntry>
  readonly composition: Composition
  /** The breakdown the turn recorded when it ran (past turns only). */
  readonly recorded?: ContextBreakdown | undefined
}

const compose = (systemTokens: number, entries: ReadonlyArray<ContextEntry>): Composition => {
  let summaries = 0
  let messages = 0
  let toolOutputs = 0
  for (const entry of entries) {
    if (entry.kind === "summary") summaries += entry.tokenCount
    else {
      messages += entry.tokenCount
      toolOutputs += entry.toolTokens
    }
  }
  return {
    system: systemTokens,
    summaries,
    raw: Math.max(0, messages - toolOutputs),
    toolOutputs,
    total: systemTokens + summaries + messages
  }
}

const summaryEntry = (node: SummaryNode, tokenCount: number): ContextEntry => ({
  kind: "summary",
  id: node.id,
  seq: node.spanStartSeq,
  tokenCount,
  toolTokens: 0,
  summary: {
    depth: node.depth,
    kind: node.kind,
    spanStartSeq: node.spanStartSeq,
    spanEndSeq: node.spanEndSeq,
    messageCount: node.messageCount
  },
  rendered: [{ role: "user", content: [{ type: "text", text: renderSummary(node) }] }]
})

type Rendered = Pick<Message, "id" | "seq" | "role"> & { readonly parts: ReadonlyArray<Part> }

const messageEntry = (message: Rendered, tokenCount: number, count: Count): ContextEntry => ({
  kind: "message",
  id: message.id,
  seq: message.seq,
  role: message.role,
  tokenCount,
  toolTokens: toolTokens(message, count),
  rendered: renderMessage(message)
})

/** The whole conversation as a provider receives it (roles merged, a bridge when needed). */
export const conversation = (view: ContextView): ReadonlyArray<LlmMessage> =>
  assemble(view.entries.flatMap((entry) => entry.rendered), Number.MAX_SAFE_INTEGER, false)

/** The active context now: what the next turn starts from. */
export const current = (
  store: Storage.Service,
  session: SessionInfo,
  count: Count,
  turns: number
): Effect.Effect<ContextView, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const items = yield* store.contextItems(session.id)
    const messages = yield* messagesById(
      store,
      items.filter((item) => item.kind === "message").map((item) => item.id as MessageId)
    )
    const nodes = new Map<string, SummaryNode>(
      (yield* store.summaries(
        items.filter((item) => item.kind === "summary").map((item) => item.id as SummaryId)
      ))
        .map((node) => [node.id, node])
    )
    const entries = items.flatMap((item): Array<ContextEntry> => {
      if (item.kind === "summary") {
        const node = nodes.get(item.id)
        return node === undefined ? [] : [summaryEntry(node, item.tokenCount)]
      }
      const message = messages.get(item.id)
      return message === undefined ? [] : [messageEntry(message, item.tokenCount, count)]
    })
    const systemTokens = session.systemPrompt === "" ? 0 : count(session.systemPrompt)
    return {
      sessionId: session.id,
      turns,
      exact: true,
      systemPrompt: session.systemPrompt,
      entries,
      composition: compose(systemTokens, entries)
    }
  })

/** The context of turn `turn`'s last model call, rebuilt from the history. */
export const atTurn = (
  store: Storage.Service,
  session: SessionInfo,
  count: Count,
  turn: number,
  turns: number
): Effect.Effect<ContextView, TurnNotFound | SessionNotFound | Storage.StoreFailure> =>
  Effect.gen(function*() {
    const notFound = new TurnNotFound({ sessionId: session.id, turn, turns })
    if (!Number.isSafeInteger(turn) || turn < 1) return yield* notFound
    const [snapshot] = yield* store.snapshots(session.id, { afterTurn: turn - 1, limit: 1 })
    if (snapshot === undefined || snapshot.turn !== turn) return yield* notFound
    const [final] = yield* store.messages([snapshot.messageId])
    if (final === undefined) return yield* notFound
    const history = yield* historyBefore(store, session.id, final.seq)

    // When each summary was written (the seq of the message carrying it).
    const writtenAt = new Map<string, number>()
    for (const message of history) {
      if (!message.isSummary) continue
      for (const part of message.parts) {
        if (part.type === "compaction") writtenAt.set(part.summaryId, message.seq)
      }
    }
    const nodes = (yield* store.sessionSummaries(session.id)).filter((node) => writtenAt.has(node.id))
    // The call was built after the turn's last message before the answer (its prompt) was written.
    // Summaries written between that message and the answer were usually committed while the model
    // was answering, but not always (a turn at the hard threshold waits for its round first): each
    // possible cut is rebuilt, and the one whose size matches what the turn recorded is kept.
    const prompt = history.findLast((message) => !message.isSummary)
    const promptSeq = prompt?.seq ?? final.seq
    const seqOf = (node: SummaryNode) => writtenAt.get(node.id) ?? Number.MAX_SAFE_INTEGER
    const before = nodes.filter((node) => seqOf(node) < promptSeq)
    const during = nodes.filter((node) => seqOf(node) > promptSeq).sort((a, b) => seqOf(a) - seqOf(b))
    const systemTokens = session.systemPrompt === "" ? 0 : count(session.systemPrompt)

    const rebuild = (written: ReadonlyArray<SummaryNode>, then: number): Array<ContextEntry> => {
      const ids = new Set<string>(written.map((node) => node.id))
      const active = written.filter((node) => node.supersededBy === undefined || !ids.has(node.supersededBy))
      const covered = (seq: number) =>
        active.some((node) => node.spanStartSeq <= seq && seq <= node.spanEndSeq)
      const entries: Array<ContextEntry> = active.map((node) => summaryEntry(node, node.tokenCount))
      for (const message of history) {
        if (message.isSummary || message.error !== undefined || covered(message.seq)) continue
        // Outputs pruned later were still whole then.
        let tokens = MESSAGE_OVERHEAD_TOKENS
        const parts = message.parts.map((part): Part => {
          if (part.type !== "tool" || part.compactedAt === undefined) {
            tokens += part.tokenCount
            return part
          }
          if (part.compactedAt <= then) {
            tokens += tombstoneCost(part, message.id, count)
            return part
          }
          tokens += part.tokenCount
          const { compactedAt: _, ...whole } = part
          return whole
        })
        entries.push(
          messageEntry({ id: message.id, seq: message.seq, role: message.role, parts }, tokens, count)
        )
      }
      return entries.sort((a, b) => a.seq - b.seq)
    }

    let best: { entries: Array<ContextEntry>; composition: Composition; off: number } | undefined
    for (let k = 0; k <= during.length; k++) {
      const entries = rebuild(
        [...before, ...during.slice(0, k)],
        k === 0 ? (prompt?.createdAt ?? final.createdAt) : during[k - 1]!.createdAt
      )
      const composition = compose(systemTokens, entries)
      const off = Math.abs(composition.total - snapshot.context.total)
      if (best === undefined || off < best.off) best = { entries, composition, off }
      if (off === 0) break
    }
    return {
      sessionId: session.id,
      turn,
      turns,
      exact: best!.off === 0,
      systemPrompt: session.systemPrompt,
      entries: best!.entries,
      composition: best!.composition,
      recorded: snapshot.context
    }
  })
