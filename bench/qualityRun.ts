/**
 * One conversation through mnesis, as a host would feed it: every turn `record`ed (the first
 * speaker as the user, the second as the assistant), each background round awaited so the run is
 * deterministic. Then the final active context, the newest-N-tokens baseline at the same N, and
 * the set of messages `expand` reaches from that context.
 *
 * Level 3 is forced by a provider that fails every summarisation request (and counts them), so
 * every summary is the deterministic one; the real-model mode passes its own provider instead.
 */
import { Effect, Layer, Stream } from "effect"
import type { MnesisConfigOverrides } from "../src/Config.js"
import { Settings } from "../src/Config.js"
import type { MessageId } from "../src/Domain.js"
import { LlmOverloaded } from "../src/Errors.js"
import { makeLayer } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import { type LlmMessage, LlmProvider } from "../src/LlmProvider.js"
import * as Session from "../src/Session.js"
import * as SqliteStore from "../src/storage/sqlite/SqliteStore.js"
import { countTokens } from "../src/Tokenizer.js"
import type { Conversation } from "./qualityData.js"
import { renderTurns } from "./qualityData.js"

/** A 4K usable budget (6,000 − 1,000 output − 1,000 compaction output), as in the issue. */
export const QUALITY_CONFIG = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const satisfies MnesisConfigOverrides

export const USABLE_TOKENS = 4_000

/** Summarisation requests the provider received (each one failed, when level 3 is forced). */
export interface SummaryCalls {
  calls: number
}

/** MockLlm for turns; every summarisation request fails, so compaction falls to level 3. */
export const forcedLevel3 = (counter: SummaryCalls): Layer.Layer<LlmProvider> =>
  Layer.effect(
    LlmProvider,
    Effect.map(LlmProvider, (inner) =>
      LlmProvider.of({
        stream: (request) =>
          MockLlm.isSummaryRequest(request)
            ? Stream.suspend(() => {
              counter.calls++
              return Stream.fail(
                new LlmOverloaded({ provider: "mock", detail: "the quality benchmark forces level 3" })
              )
            })
            : inner.stream(request)
      }))
  ).pipe(Layer.provide(MockLlm.layer({ keepRequests: false })))

export interface Ingested {
  readonly conversation: Conversation
  /** The text of every message of the final active context (summaries rendered), in order. */
  readonly context: string
  /** N: tokens of `context`. */
  readonly contextTokens: number
  /** Tokens of the whole conversation as recorded. */
  readonly historyTokens: number
  /** The newest raw turns whose text fits in N tokens (the first one cut to fit). */
  readonly baseline: string
  /** Turn id → the id of the message recorded for it. */
  readonly messageOf: ReadonlyMap<string, MessageId>
  /** Messages in the final context as themselves, not summarised. */
  readonly raw: ReadonlySet<string>
  /** Messages reached by expanding the summaries of the final context, recursively. */
  readonly expanded: ReadonlySet<string>
  /** Summaries written, by level. */
  readonly levels: Readonly<Record<string, number>>
  readonly summaryCalls: number
}

const textOf = (messages: ReadonlyArray<LlmMessage>): string =>
  messages.map((message) =>
    message.content.flatMap((block) => block.type === "text" ? [block.text] : []).join("\n")
  )
    .join("\n\n")

/** The newest turns whose texts fit in `tokens`; the oldest of them cut (at a word) to fit. */
export const newestTokens = (texts: ReadonlyArray<string>, tokens: number): string => {
  const kept: Array<string> = []
  let used = 0
  for (let i = texts.length - 1; i >= 0; i--) {
    const text = texts[i]!
    const cost = countTokens(text) + (kept.length > 0 ? 1 : 0)
    if (used + cost <= tokens) {
      kept.unshift(text)
      used += cost
      continue
    }
    const ws = text.split(/(\s+)/)
    let cut = ""
    for (let k = ws.length - 1; k >= 0; k--) {
      const next = ws[k] + cut
      if (used + countTokens(next) + 1 > tokens) break
      cut = next
    }
    if (cut.trim() !== "") kept.unshift(cut.trim())
    break
  }
  return kept.join("\n\n")
}

/** Every message id `expand` reaches from `id`, following summaries down to their originals. */
const reach = (
  session: Session.Session,
  id: string,
  into: Set<string>
): Effect.Effect<void, Session.MnesisError> =>
  Effect.gen(function*() {
    let cursor: string | undefined
    do {
      const page = yield* session.expand({
        id,
        maxTokens: 16_000,
        ...(cursor === undefined ? {} : { cursor })
      })
      for (const item of page.items) {
        if (item.kind === "message") into.add(item.id)
        else if (!into.has(item.id)) {
          into.add(item.id)
          yield* reach(session, item.id, into)
        }
      }
      cursor = page.nextCursor
    } while (cursor !== undefined)
  })

export interface IngestOptions<E> {
  readonly model: string
  readonly provider: Layer.Layer<LlmProvider, E>
  readonly counter: SummaryCalls
  readonly config?: MnesisConfigOverrides
}

/** Records `conversation` turn by turn and measures the final context. */
export const ingest = <E>(conversation: Conversation, options: IngestOptions<E>) => {
  const config = options.config ?? QUALITY_CONFIG
  const program = Effect.gen(function*() {
    options.counter.calls = 0
    const session = yield* Session.open({ model: options.model, config })
    const texts = renderTurns(conversation)
    const messageOf = new Map<string, MessageId>()
    for (const [i, turn] of conversation.turns.entries()) {
      const user = turn.speaker === conversation.speakers[0]
      const result = yield* session.record(user ? { user: texts[i] } : { assistant: texts[i] })
      const id = user ? result.userMessageId : result.assistantMessageId
      if (id !== undefined) messageOf.set(turn.id, id)
      yield* session.awaitCompaction
    }
    const built = yield* session.contextForNextTurn()
    const context = textOf(built.messages)
    const contextTokens = countTokens(context)
    const raw = new Set(
      built.items.filter((item) => item.kind === "message").map((item) => item.id as string)
    )
    const expanded = new Set<string>()
    for (const item of built.items) if (item.kind === "summary") yield* reach(session, item.id, expanded)
    const levels: Record<string, number> = {}
    for (const message of yield* session.messages({ includeSummaries: true })) {
      for (const part of message.parts) {
        if (part.type === "compaction") {
          levels[`level ${part.level}`] = (levels[`level ${part.level}`] ?? 0) + 1
        }
      }
    }
    return {
      conversation,
      context,
      contextTokens,
      historyTokens: countTokens(texts.join("\n\n")),
      baseline: newestTokens(texts, contextTokens),
      messageOf,
      raw,
      expanded,
      levels,
      summaryCalls: options.counter.calls
    } satisfies Ingested
  })
  return program.pipe(
    Effect.scoped,
    Effect.provide(
      makeLayer({
        settings: Settings.layer(config),
        storage: SqliteStore.layerMemory,
        provider: options.provider
      })
    )
  )
}
