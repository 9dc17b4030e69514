/**
 * One summary round: choose what to summarise, summarise it with escalation, and commit the
 * summary, its provenance and the context swap in one transaction.
 *
 * - A leaf round takes the oldest contiguous run of raw messages outside the fresh tail (a tool
 *   call and its result are one part, so they are never split), capped to what the summariser
 *   can read; the rest waits for the next round — nothing leaves the context unsummarised.
 * - A condensation takes the oldest run of same-depth summaries and writes one node a depth
 *   higher, superseding them.
 *
 * A round whose summary would not be smaller than what it replaces commits nothing.
 *
 * @internal
 */
import { Clock, Effect, Option } from "effect"
import type { SessionContext } from "../Compactor.js"
import { summaryCost } from "../context/Render.js"
import type { ContextItem, MessageId, SummaryId, SummaryKind, SummaryLevel, SummaryNode } from "../Domain.js"
import type { SessionNotFound } from "../Errors.js"
import { MessageCreated } from "../Events.js"
import * as Ids from "../internal/ids.js"
import type { Service as Provider } from "../LlmProvider.js"
import type { ModelInfo } from "../ModelRegistry.js"
import type { NewSummary, StoreFailure } from "../Storage.js"
import { fileIdsOfMessages, fileIdsOfSummaries } from "./FileIds.js"
import { level1MaxTokens, type LevelContext, summarize } from "./Levels.js"
import { freshTailStart } from "./Tail.js"
import { messagesTranscript, summariesTranscript } from "./Transcript.js"

export interface RoundEnv {
  readonly session: SessionContext
  readonly provider: Provider
  /** The model that writes summaries, `provider/model`, and its registry entry. */
  readonly compactionModel: string
  readonly compactionInfo: ModelInfo
}

/** What a committed round did. */
export interface RoundOutcome {
  readonly summaryId: SummaryId
  readonly kind: SummaryKind
  readonly level: SummaryLevel
  readonly depth: number
  /** Original messages newly covered (leaf rounds). */
  readonly messagesCovered: number
}

type RoundFailure = StoreFailure | SessionNotFound

/** An id as long as a real one, to cost a summary before its id exists. */
const SIZING_ID = `sum_${"0".repeat(26)}` as SummaryId

/** Tokens of transcript the summariser may read in one round. */
export const inputCap = (env: RoundEnv): number =>
  Math.max(
    1_000,
    Math.floor(
      (env.compactionInfo.contextLimit -
        level1MaxTokens({ config: env.session.config.compaction, info: env.compactionInfo })) * 0.75
    )
  )

/** What the summariser needs to know of this session to summarise `input`. */
const levelContext = (env: RoundEnv, input: LevelContext["input"]): LevelContext => ({
  provider: env.provider,
  model: env.compactionModel,
  info: env.compactionInfo,
  config: env.session.config.compaction,
  count: env.session.count,
  input
})

/** Writes the summary, its message, provenance and the context swap, atomically. */
const commit = (
  env: RoundEnv,
  replaces: ReadonlyArray<ContextItem>,
  node: Omit<NewSummary, "id" | "tokenCount" | "createdAt" | "model">
) =>
  Effect.gen(function*() {
    const { session } = env
    const id = yield* Ids.summaryId
    const createdAt = yield* Clock.currentTimeMillis
    const summary: NewSummary = {
      ...node,
      id,
      createdAt,
      model: env.compactionModel,
      tokenCount: summaryCost({ ...node, id }, session.count)
    }
    const tokensCovered = replaces.reduce((sum, item) => sum + item.tokenCount, 0)
    const message = yield* session.store.commitCompaction({
      sessionId: session.sessionId,
      summary,
      replaces,
      message: {
        id: yield* Ids.messageId,
        agent: session.agent,
        model: env.compactionModel,
        createdAt,
        parts: [
          {
            type: "text",
            id: yield* Ids.partId,
            tokenCount: session.count(node.content),
            text: node.content
          },
          {
            type: "compaction",
            id: yield* Ids.partId,
            tokenCount: 0,
            summaryId: id,
            level: node.level,
            depth: node.depth,
            messagesCovered: node.messageCount,
            tokensCovered
          }
        ]
      }
    })
    yield* session.invalidate(replaces.map((item) => item.id))
    yield* session.publish(
      new MessageCreated({
        sessionId: session.sessionId,
        at: createdAt,
        messageId: message.id,
        role: "assistant",
        isSummary: true
      })
    )
    return summary
  })

/** Summarises the oldest run of raw messages outside the fresh tail; none when there is none. */
export const leafRound = (env: RoundEnv): Effect.Effect<Option.Option<RoundOutcome>, RoundFailure> =>
  Effect.gen(function*() {
    const { session } = env
    const items = yield* session.contextItems
    const tail = freshTailStart(items, session.config.compaction.freshTailTurns)
    const start = items.findIndex((item, i) => i < tail && item.kind === "message")
    if (start === -1) return Option.none<RoundOutcome>()
    const cap = inputCap(env)
    const run: Array<ContextItem> = []
    let tokens = 0
    for (let i = start; i < tail && items[i]!.kind === "message"; i++) {
      const item = items[i]!
      if (run.length > 0 && tokens + item.tokenCount > cap) break
      run.push(item)
      tokens += item.tokenCount
    }
    const messages = yield* session.messages(run.map((item) => item.id as MessageId))
    const transcript = messagesTranscript(messages)
    const outcome = yield* summarize(
      levelContext(env, "messages"),
      transcript,
      tokens
    )
    const first = messages[0]!
    const last = messages[messages.length - 1]!
    const node = {
      kind: "leaf" as const,
      depth: 0,
      level: outcome.level,
      content: outcome.text,
      spanStart: first.id,
      spanEnd: last.id,
      spanStartSeq: first.seq,
      spanEndSeq: last.seq,
      messageCount: messages.length,
      fileIds: fileIdsOfMessages(messages)
    }
    if (summaryCost({ ...node, id: SIZING_ID }, session.count) >= tokens) {
      yield* Effect.logDebug("compaction round skipped: the summary would not be smaller than the span")
      return Option.none<RoundOutcome>()
    }
    const summary = yield* commit(env, run, node)
    return Option.some<RoundOutcome>({
      summaryId: summary.id,
      kind: "leaf",
      level: outcome.level,
      depth: 0,
      messagesCovered: messages.length
    })
  }).pipe(Effect.withSpan("Compactor.leafRound"))

/** Consecutive summary items of one depth (or of any depth, with `anyDepth`), oldest first. */
const summaryRuns = (
  items: ReadonlyArray<ContextItem>,
  nodes: ReadonlyMap<string, SummaryNode>,
  anyDepth: boolean
) => {
  const runs: Array<Array<{ item: ContextItem; node: SummaryNode }>> = []
  let current: Array<{ item: ContextItem; node: SummaryNode }> = []
  for (const item of items) {
    const node = item.kind === "summary" ? nodes.get(item.id) : undefined
    if (node !== undefined && (current.length === 0 || anyDepth || current[0]!.node.depth === node.depth)) {
      current.push({ item, node })
      continue
    }
    if (current.length > 0) runs.push(current)
    current = node === undefined ? [] : [{ item, node }]
  }
  if (current.length > 0) runs.push(current)
  return runs
}

/**
 * How hard to condense: `fanout` — only a full run of `condenseFanout` same-depth summaries;
 * `soft` (still over the soft threshold) — any same-depth run of two or more; `all` (still over
 * the hard threshold with nothing else left) — every consecutive summary whatever its depth.
 */
export type CondenseMode = "fanout" | "soft" | "all"

/** Condenses the oldest run of summaries chosen by `mode` into one node a depth higher. */
export const condenseRound = (
  env: RoundEnv,
  mode: CondenseMode
): Effect.Effect<Option.Option<RoundOutcome>, RoundFailure> =>
  Effect.gen(function*() {
    const { session } = env
    const fanout = session.config.compaction.condenseFanout
    const items = yield* session.contextItems
    const summaryIds = items.filter((item) => item.kind === "summary").map((item) => item.id as SummaryId)
    if (summaryIds.length < 2) return Option.none<RoundOutcome>()
    const nodes = new Map(
      (yield* session.store.summaries(summaryIds)).map((node) => [node.id as string, node])
    )
    const runs = summaryRuns(items, nodes, mode === "all")
    const run = runs.find((r) => r.length >= fanout) ??
      (mode === "fanout" ? undefined : runs.find((r) => r.length >= 2))
    if (run === undefined) return Option.none<RoundOutcome>()
    const chosen = mode === "all" ? run : run.slice(0, fanout)
    const parents = chosen.map((entry) => entry.node)
    const transcript = summariesTranscript(parents)
    const outcome = yield* summarize(
      levelContext(env, "summaries"),
      transcript,
      chosen.reduce((sum, entry) => sum + entry.item.tokenCount, 0)
    )
    const first = parents[0]!
    const last = parents[parents.length - 1]!
    const depth = Math.max(...parents.map((p) => p.depth)) + 1
    const node = {
      kind: "condensed" as const,
      depth,
      level: outcome.level,
      content: outcome.text,
      spanStart: first.spanStart,
      spanEnd: last.spanEnd,
      spanStartSeq: first.spanStartSeq,
      spanEndSeq: last.spanEndSeq,
      messageCount: parents.reduce((sum, p) => sum + p.messageCount, 0),
      fileIds: fileIdsOfSummaries(parents)
    }
    const replaced = chosen.reduce((sum, entry) => sum + entry.item.tokenCount, 0)
    if (summaryCost({ ...node, id: SIZING_ID }, session.count) >= replaced) {
      yield* Effect.logDebug("condensation skipped: the merged summary would not be smaller than its parts")
      return Option.none<RoundOutcome>()
    }
    const summary = yield* commit(env, chosen.map((entry) => entry.item), node)
    return Option.some<RoundOutcome>({
      summaryId: summary.id,
      kind: "condensed",
      level: outcome.level,
      depth,
      messagesCovered: 0
    })
  }).pipe(Effect.withSpan("Compactor.condenseRound"))
