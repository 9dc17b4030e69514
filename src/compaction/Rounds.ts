/**
 * One summary round: choose what to summarise, summarise it with escalation, and commit the
 * summary, its provenance and the context swap in one transaction.
 *
 * - A leaf round takes the oldest contiguous run of raw messages outside the fresh tail (a tool
 *   call and its result are one part, so they are never split): as few as bring the context back
 *   under the soft threshold with some room to spare, so the rest of the raw tail stays; capped
 *   to what the summariser can read — nothing leaves the context unsummarised.
 * - A condensation takes the oldest run of same-depth summaries and writes one node a depth
 *   higher, superseding them.
 *
 * Level 3 is computed first, without a model: a span it cannot make smaller is not sent to the
 * model levels at all, and the round commits nothing.
 *
 * @internal
 */
import { Clock, Effect, Option } from "effect"
import type { SessionContext } from "../Compactor.js"
import { summaryCost } from "../context/Render.js"
import type {
  ContextItem,
  Message,
  MessageId,
  SummaryId,
  SummaryKind,
  SummaryLevel,
  SummaryNode
} from "../Domain.js"
import type { SessionNotFound } from "../Errors.js"
import { MessageCreated } from "../Events.js"
import * as Ids from "../internal/ids.js"
import type { Service as Provider } from "../LlmProvider.js"
import type { ModelInfo } from "../ModelRegistry.js"
import type { NewSummary, StoreFailure } from "../Storage.js"
import { fileIdsOfMessages, fileIdsOfSummaries } from "./FileIds.js"
import { level1MaxTokens, level3, LEVEL3_MAX_TOKENS, type LevelContext, summarize } from "./Levels.js"
import { freshTailStart } from "./Tail.js"
import { messagesTranscript, summariesTranscript } from "./Transcript.js"

export interface RoundEnv {
  readonly session: SessionContext
  readonly provider: Provider
  /** The model that writes summaries, `provider/model`, and its registry entry. */
  readonly compactionModel: string
  readonly compactionInfo: ModelInfo
  /** The compaction lease the round holds, checked by the store when it commits. */
  readonly lease?: string | undefined
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

/** Ids as long as real ones, to cost a summary before its id exists. */
const SIZING_ID = `sum_${"0".repeat(26)}` as SummaryId
const SIZING_MESSAGE = `msg_${"0".repeat(26)}` as MessageId

/**
 * Share of the soft threshold a leaf round frees beyond what getting under it takes: room for
 * the next few turns, so that a round does not follow every turn. The rest of the raw tail stays.
 */
export const ROUND_SLACK = 0.15

/**
 * Level 3's budget in a session: 512 tokens, or a fifth of the soft threshold on a context so
 * small that a few summaries of 512 would crowd out the raw tail.
 */
export const level3Budget = (env: RoundEnv): number =>
  Math.min(LEVEL3_MAX_TOKENS, Math.max(128, Math.floor(env.session.budget.softThreshold / 5)))

type NodeFields = Omit<NewSummary, "id" | "tokenCount" | "createdAt" | "model">

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
  node: NodeFields
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
      lease: env.lease,
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

/** What a summary would replace: the items, their transcript and tokens, and its node fields. */
interface Span {
  readonly items: ReadonlyArray<ContextItem>
  readonly transcript: string
  readonly replaced: number
  readonly node: (content: string, level: SummaryLevel) => NodeFields
}

/**
 * The summary that replaces `span` (or `fallback`, a prefix of it sized for level 3), or none
 * when level 3 cannot beat `fallback`: a span that the deterministic summary plus its wrapper
 * does not shrink is not worth a model call either (the model's output would be refused or
 * barely smaller), so none is made. The model levels summarise `span`; level 3 — when they fail,
 * or when a model summary turns out larger than its span once wrapped — summarises `fallback`.
 */
const summaryFor = (
  env: RoundEnv,
  input: LevelContext["input"],
  span: Span,
  fallback: Span = span
) =>
  Effect.gen(function*() {
    const count = env.session.count
    const budget = level3Budget(env)
    let written3: NodeFields | undefined
    const level3Node = () => (written3 ??= fallback.node(level3(fallback.transcript, count, budget), 3))
    const level3Summary = () => Option.some({ fields: level3Node(), span: fallback })
    // Level 3 writes at most `budget` tokens: past that bound the span is beaten for sure and
    // level 3 need not run unless the model levels fail (it is not free on a long span).
    const sure = fallback.replaced > budget + summaryCost({ ...fallback.node("", 3), id: SIZING_ID }, count)
    if (!sure && summaryCost({ ...level3Node(), id: SIZING_ID }, count) >= fallback.replaced) {
      yield* Effect.logDebug("compaction round skipped: level 3 cannot make this span smaller; no model call")
      return Option.none<{ fields: NodeFields; span: Span }>()
    }
    const outcome = yield* summarize(
      levelContext(env, input),
      span.transcript,
      span.replaced,
      () => level3Node().content
    )
    if (outcome.level === 3) return level3Summary()
    const written = span.node(outcome.text, outcome.level)
    if (summaryCost({ ...written, id: SIZING_ID }, count) < span.replaced) {
      return Option.some({ fields: written, span })
    }
    yield* Effect.logDebug(
      `compaction level ${outcome.level} summary larger than its span once wrapped; level 3 used`
    )
    return level3Summary()
  })

/**
 * Tokens the condensation that this leaf will set off frees: when the newest summaries are
 * `condenseFanout − 1` leaves, the new leaf completes the run and they are merged right after,
 * so the leaf itself need free that much less.
 */
const pendingCondensation = (env: RoundEnv, before: ReadonlyArray<ContextItem>) =>
  Effect.gen(function*() {
    const config = env.session.config.compaction
    const wanted = config.condenseFanout - 1
    const newest = before.slice(-wanted)
    if (
      !config.condensationEnabled || newest.length < wanted || newest.some((item) => item.kind !== "summary")
    ) {
      return 0
    }
    const older = before[before.length - wanted - 1]
    const ids = [...(older?.kind === "summary" ? [older] : []), ...newest].map((item) => item.id as SummaryId)
    const depths = new Map(
      (yield* env.session.store.summaries(ids)).map((node) => [node.id as string, node.depth])
    )
    // A longer run of leaves would already have been condensed; a run one short is what counts.
    const leaves = newest.every((item) => depths.get(item.id) === 0)
    if (!leaves || (older !== undefined && depths.get(older.id) === 0)) return 0
    return newest.reduce((sum, item) => sum + item.tokenCount, 0)
  })

/** The leaf of `messages` (consecutive, oldest first) that would replace `items`. */
const leafSpan = (
  items: ReadonlyArray<ContextItem>,
  messages: ReadonlyArray<Message>
): Span => {
  const first = messages[0]!
  const last = messages[messages.length - 1]!
  const fileIds = fileIdsOfMessages(messages)
  return {
    items,
    transcript: messagesTranscript(messages),
    replaced: items.reduce((sum, item) => sum + item.tokenCount, 0),
    node: (content, level) => ({
      kind: "leaf" as const,
      depth: 0,
      level,
      content,
      spanStart: first.id,
      spanEnd: last.id,
      spanStartSeq: first.seq,
      spanEndSeq: last.seq,
      messageCount: messages.length,
      fileIds
    })
  }
}

/**
 * Summarises the oldest raw messages outside the fresh tail: as few as bring the context under
 * the soft threshold (less `ROUND_SLACK`) once replaced by their summary, so as much raw tail as
 * fits stays; and at least enough that level 3 is sure to shrink them when more are there. How
 * many that is depends on the summary's size, so there are two spans: the model levels get one
 * sized for a summary as large as the newest one in the context, level 3 a prefix of it sized
 * for its own budget. Below the soft threshold (a `compact()` call) both take all there
 * is, up to what the summariser reads. None when there is nothing to summarise or nothing worth it.
 */
export const leafRound = (env: RoundEnv): Effect.Effect<Option.Option<RoundOutcome>, RoundFailure> =>
  Effect.gen(function*() {
    const { session } = env
    const items = yield* session.contextItems
    const tail = freshTailStart(items, session.config.compaction.freshTailTurns)
    const start = items.findIndex((item, i) => i < tail && item.kind === "message")
    if (start === -1) return Option.none<RoundOutcome>()
    const cap = inputCap(env)
    const size = yield* session.contextSize
    const softThreshold = session.budget.softThreshold
    const need = size - (softThreshold - Math.floor(softThreshold * ROUND_SLACK)) -
      (yield* pendingCondensation(env, items.slice(0, start)))
    const wrapper = summaryCost(
      {
        id: SIZING_ID,
        depth: 0,
        spanStart: SIZING_MESSAGE,
        spanEnd: SIZING_MESSAGE,
        messageCount: 1_000,
        content: "",
        fileIds: []
      },
      session.count
    )
    // What a summary of the span may cost, text and wrapper. Level 3: at most its budget. A model
    // level: as much as the newest summary in the context cost, the best guess of how long this
    // model writes for this session (sized as level 3's bound, a model summary of twice that left
    // the context barely under the threshold, a round every few turns).
    const bound3 = level3Budget(env) + wrapper
    const newest = items.slice(0, start).findLast((item) => item.kind === "summary")
    const boundModel = Math.max(bound3, newest?.tokenCount ?? 0)
    // Below the soft threshold only `compact()` asks for a round: it gets everything there is.
    const enough = (tokens: number, bound: number) =>
      size >= softThreshold && tokens > bound && tokens - bound >= need
    const run: Array<ContextItem> = []
    let tokens = 0
    let short = -1
    for (let i = start; i < tail && items[i]!.kind === "message"; i++) {
      const item = items[i]!
      if (run.length > 0 && tokens + item.tokenCount > cap) break
      run.push(item)
      tokens += item.tokenCount
      if (short === -1 && enough(tokens, bound3)) short = run.length
      if (enough(tokens, boundModel)) break
    }
    if (short === -1) short = run.length
    const shortRun = run.slice(0, short)
    // A scrap of raw tail is not worth a summary of its own while there are summaries to
    // condense: wait until the tail has grown into a span worth summarising.
    if (
      size >= softThreshold && short === run.length && tokens <= bound3 &&
      items.filter((item) => item.kind === "summary").length >= 2
    ) {
      yield* Effect.logDebug("compaction round skipped: the raw span outside the fresh tail is too short")
      return Option.none<RoundOutcome>()
    }
    const messages = yield* session.messages(run.map((item) => item.id as MessageId))
    const span = leafSpan(run, messages)
    const node = yield* summaryFor(
      env,
      "messages",
      span,
      short === run.length ? span : leafSpan(shortRun, messages.slice(0, short))
    )
    if (Option.isNone(node)) return Option.none<RoundOutcome>()
    const summary = yield* commit(env, node.value.span.items, node.value.fields)
    return Option.some<RoundOutcome>({
      summaryId: summary.id,
      kind: "leaf",
      level: summary.level,
      depth: 0,
      messagesCovered: node.value.span.items.length
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
    const first = parents[0]!
    const last = parents[parents.length - 1]!
    const depth = Math.max(...parents.map((p) => p.depth)) + 1
    const fileIds = fileIdsOfSummaries(parents)
    const replaced = chosen.reduce((sum, entry) => sum + entry.item.tokenCount, 0)
    const node = yield* summaryFor(env, "summaries", {
      items: chosen.map((entry) => entry.item),
      transcript: summariesTranscript(parents),
      replaced,
      node: (content, level) => ({
        kind: "condensed" as const,
        depth,
        level,
        content,
        spanStart: first.spanStart,
        spanEnd: last.spanEnd,
        spanStartSeq: first.spanStartSeq,
        spanEndSeq: last.spanEndSeq,
        messageCount: parents.reduce((sum, p) => sum + p.messageCount, 0),
        fileIds
      })
    })
    if (Option.isNone(node)) return Option.none<RoundOutcome>()
    const summary = yield* commit(env, node.value.span.items, node.value.fields)
    return Option.some<RoundOutcome>({
      summaryId: summary.id,
      kind: "condensed",
      level: summary.level,
      depth,
      messagesCovered: 0
    })
  }).pipe(Effect.withSpan("Compactor.condenseRound"))
