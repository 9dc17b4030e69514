/**
 * Active-context assembly (SPEC §4). Each turn reads only the context items — never the history
 * — newest first, and fills the budget from the newest turn backwards:
 *
 * 1. the newest user turn (the last user message and everything after it) always fits, or the
 *    turn fails with `ContextOverflow`: it is never dropped silently;
 * 2. older items follow while they fit, stopping at the first that does not, so what is sent is
 *    always a contiguous, chronological suffix of the context (and stays prefix-stable between
 *    compactions, which keeps provider prompt caches warm);
 * 3. a tool call and its result are one stored part, so they are included together or not at all;
 * 4. the result starts with a user turn and alternates roles: consecutive turns of one role are
 *    merged, and a leading assistant turn gets a one-line bridge, never silently dropped.
 *
 * Stored messages are immutable except for a few lifecycle columns, each of which changes the
 * item's token count; rendered items are therefore cached by id and token count, so a turn
 * costs one small index read plus rendering of what is new.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer } from "effect"
import type { Budget } from "./Config.js"
import { renderMessage, renderSummary, toolTokens } from "./context/Render.js"
import type { Count } from "./context/Render.js"
import type { ContextBreakdown, ContextItem, Message, MessageId, SessionId, SummaryId } from "./Domain.js"
import { MESSAGE_OVERHEAD_TOKENS } from "./Domain.js"
import { ContextOverflow } from "./Errors.js"
import type { ContentBlock, LlmMessage, SystemBlock } from "./LlmProvider.js"
import type * as Storage from "./Storage.js"

export interface BuildRequest {
  readonly store: Storage.Service
  readonly sessionId: SessionId
  readonly systemPrompt: string
  readonly budget: Budget
  /** The session model's token counter. */
  readonly count: Count
}

/**
 * An assembled context, ready for a provider.
 *
 * @since 0.1.0
 */
export interface BuiltContext {
  readonly system: ReadonlyArray<SystemBlock>
  readonly messages: ReadonlyArray<LlmMessage>
  readonly breakdown: ContextBreakdown
  /** The context items included, in position order. */
  readonly items: ReadonlyArray<ContextItem>
  /** True when older items were left out to fit the budget. */
  readonly truncated: boolean
  /** Tokens of every item of the context, included or not (the size compaction measures). */
  readonly contextTokens: number
}

/**
 * @since 0.1.0
 */
export interface Service {
  readonly build: (
    request: BuildRequest
  ) => Effect.Effect<BuiltContext, ContextOverflow | Storage.StoreFailure>
  /** The summed token counts of every item in the session's context (what compaction measures). */
  readonly size: (
    request: Pick<BuildRequest, "store" | "sessionId">
  ) => Effect.Effect<number, Storage.StoreFailure>
  /**
   * Caches the rendering of messages the caller has just written (their items' token counts
   * follow from their parts), so the next build need not read them back.
   */
  readonly prime: (messages: ReadonlyArray<Message>, count: Count) => Effect.Effect<void>
  /** Forgets cached renderings (after a change that might keep an item's token count). */
  readonly invalidate: (ids: ReadonlyArray<string>) => Effect.Effect<void>
}

export class ContextBuilder extends Context.Tag("mnesis/ContextBuilder")<ContextBuilder, Service>() {}

const CACHE_LIMIT = 50_000
const VIEW_LIMIT = 1_024

interface Rendered {
  readonly tokenCount: number
  readonly messages: ReadonlyArray<LlmMessage>
  readonly toolTokens: number
}

/** A session's context items as last read, caught up incrementally while its version holds. */
interface View {
  version: number
  lastPosition: number
  items: Array<ContextItem>
  total: number
}

const BRIDGE_TEXT = "[Earlier messages omitted to fit the context; grep searches them.]"
const CONTINUES_TEXT = "[The conversation continues.]"

const reserves = new WeakMap<Count, number>()

/**
 * Tokens kept free for the one-line bridge a context may start with (its text and message
 * framing). Every budget check — the builder's, the early check of a new message, the
 * compactor's thresholds — leaves this much room, so the bridge never pushes a request over.
 */
export const assemblyReserve = (count: Count): number => {
  const known = reserves.get(count)
  if (known !== undefined) return known
  const reserve = Math.max(count(BRIDGE_TEXT), count(CONTINUES_TEXT)) + MESSAGE_OVERHEAD_TOKENS
  reserves.set(count, reserve)
  return reserve
}

/**
 * Joins rendered turns into a provider conversation: consecutive turns of one role are merged,
 * the last block of the stable prefix (turns before index `breakpointAfter`) is marked as a prompt
 * cache breakpoint, and a leading assistant turn gets a one-line user bridge. Cached turns are
 * shared, never mutated: a turn is copied only when it is merged into or marked.
 */
export const assemble = (
  turns: ReadonlyArray<LlmMessage>,
  breakpointAfter: number,
  truncated: boolean
): Array<LlmMessage> => {
  const out: Array<LlmMessage> = []
  let owned = -1 // index in `out` of the last turn this call may mutate
  const mutableLast = (): { role: "user" | "assistant"; content: Array<ContentBlock> } => {
    const index = out.length - 1
    if (owned !== index) {
      out[index] = { role: out[index]!.role, content: [...out[index]!.content] }
      owned = index
    }
    return out[index] as { role: "user" | "assistant"; content: Array<ContentBlock> }
  }
  const markBreakpoint = () => {
    if (out.length === 0) return
    const last = mutableLast()
    const block = last.content[last.content.length - 1]
    if (block !== undefined && (block.type === "text" || block.type === "tool_result")) {
      last.content[last.content.length - 1] = { ...block, cache: true }
    }
  }
  turns.forEach((turn, index) => {
    if (index === breakpointAfter) markBreakpoint()
    const last = out[out.length - 1]
    if (last !== undefined && last.role === turn.role) mutableLast().content.push(...turn.content)
    else out.push(turn)
  })
  if (breakpointAfter >= turns.length) markBreakpoint()
  if (out[0]?.role === "assistant") {
    out.unshift({ role: "user", content: [{ type: "text", text: truncated ? BRIDGE_TEXT : CONTINUES_TEXT }] })
  }
  return out
}

/**
 * @since 0.1.0
 */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  // Insertion-ordered: re-inserting on use makes the first key the least recently used.
  const cache = new Map<string, Rendered>()
  const systemCounts = new Map<string, number>()

  // First in, first out: a context's items are read together, so age is a fair proxy for use.
  const remember = (id: string, rendered: Rendered) => {
    cache.delete(id)
    cache.set(id, rendered)
    if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!)
  }

  const countSystem = (text: string, count: Count): number => {
    const known = systemCounts.get(text)
    if (known !== undefined) return known
    const n = text === "" ? 0 : count(text)
    if (systemCounts.size > 64) systemCounts.clear()
    systemCounts.set(text, n)
    return n
  }

  const views = new Map<string, View>()

  /** The session's items, reading only what was appended since the last call when possible. */
  const refresh = (request: Pick<BuildRequest, "store" | "sessionId">) =>
    Effect.gen(function*() {
      const known = views.get(request.sessionId)
      if (known !== undefined) {
        const delta = yield* request.store.contextSince(request.sessionId, known.lastPosition)
        if (delta.version === known.version) {
          for (const item of delta.items) {
            known.items.push(item)
            known.total += item.tokenCount
            known.lastPosition = item.position
          }
          views.delete(request.sessionId)
          views.set(request.sessionId, known)
          return known
        }
      }
      const full = yield* request.store.contextSince(request.sessionId)
      const view: View = {
        version: full.version,
        lastPosition: full.items[full.items.length - 1]?.position ?? -1,
        items: [...full.items],
        total: full.items.reduce((sum, item) => sum + item.tokenCount, 0)
      }
      views.delete(request.sessionId)
      views.set(request.sessionId, view)
      if (views.size > VIEW_LIMIT) views.delete(views.keys().next().value!)
      return view
    })

  /** Picks items newest first until the budget is spent; the newest user turn must fit. */
  const select = (items: ReadonlyArray<ContextItem>, available: number) => {
    let used = 0
    let newestTurnDone = false
    let first = items.length
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!
      if (newestTurnDone && used + item.tokenCount > available) {
        return Either.right({ chosen: items.slice(first), truncated: true })
      }
      used += item.tokenCount
      first = i
      if (!newestTurnDone && item.kind === "message" && item.role === "user") {
        newestTurnDone = true
        if (used > available) return Either.left(new ContextOverflow({ needed: used, available }))
      }
    }
    // Without a user message in the context, the whole tail must still fit.
    if (!newestTurnDone && used > available) {
      return Either.left(new ContextOverflow({ needed: used, available }))
    }
    return Either.right({ chosen: items.slice(first), truncated: false })
  }

  /** The rendering of each item, in order: from the cache, or read and rendered once. */
  const resolve = (request: BuildRequest, items: ReadonlyArray<ContextItem>) =>
    Effect.gen(function*() {
      const missingMessages: Array<MessageId> = []
      const missingSummaries: Array<SummaryId> = []
      const tokenOf = new Map<string, number>()
      for (const item of items) {
        if (cache.get(item.id)?.tokenCount === item.tokenCount) continue
        tokenOf.set(item.id, item.tokenCount)
        if (item.kind === "message") missingMessages.push(item.id as MessageId)
        else missingSummaries.push(item.id as SummaryId)
      }
      if (missingMessages.length > 0) {
        for (const message of yield* request.store.messages(missingMessages)) {
          remember(message.id, {
            tokenCount: tokenOf.get(message.id) ?? 0,
            messages: renderMessage(message),
            toolTokens: toolTokens(message, request.count)
          })
        }
      }
      if (missingSummaries.length > 0) {
        for (const node of yield* request.store.summaries(missingSummaries)) {
          remember(node.id, {
            tokenCount: tokenOf.get(node.id) ?? 0,
            messages: [{ role: "user", content: [{ type: "text", text: renderSummary(node) }] }],
            toolTokens: 0
          })
        }
      }
      return items.map((item): Rendered =>
        cache.get(item.id) ?? { tokenCount: item.tokenCount, messages: [], toolTokens: 0 }
      )
    })

  const build = (request: BuildRequest) =>
    Effect.gen(function*() {
      const systemTokens = countSystem(request.systemPrompt, request.count)
      const reserve = assemblyReserve(request.count)
      const available = request.budget.usable - systemTokens - reserve
      const view = yield* refresh(request)
      const { chosen: items, truncated } = yield* select(view.items, available)
      const resolved = yield* resolve(request, items)

      // The stable prefix ends where the newest user turn begins: the cache breakpoint goes there.
      let newestUser = items.length
      for (let i = items.length - 1; i >= 0; i--) {
        if (items[i]!.kind === "message" && items[i]!.role === "user") {
          newestUser = i
          break
        }
      }
      const turns: Array<LlmMessage> = []
      let breakpointAfter = 0
      let summaries = 0
      let messageTokens = 0
      let toolOutputs = 0
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!
        const rendered = resolved[i]!
        if (i === newestUser) breakpointAfter = turns.length
        for (const turn of rendered.messages) turns.push(turn)
        if (item.kind === "summary") summaries += item.tokenCount
        else {
          messageTokens += item.tokenCount
          toolOutputs += rendered.toolTokens
        }
      }
      if (newestUser === items.length) breakpointAfter = turns.length
      const messages = assemble(turns, breakpointAfter, truncated)
      // A bridge line, when one was needed, is part of what is sent: count it.
      const bridge = turns[0]?.role === "assistant" ? reserve : 0
      return {
        system: request.systemPrompt === "" ? [] : [{ text: request.systemPrompt, cache: true }],
        messages,
        breakdown: {
          system: systemTokens,
          summaries,
          messages: messageTokens + bridge,
          toolOutputs,
          total: systemTokens + summaries + messageTokens + bridge
        },
        items,
        truncated,
        contextTokens: view.total
      } satisfies BuiltContext
    }).pipe(Effect.withSpan("ContextBuilder.build", { captureStackTrace: false }))

  return {
    build,
    prime: (messages, count) =>
      Effect.sync(() => {
        for (const message of messages) {
          remember(message.id, {
            tokenCount: message.parts.reduce((sum, part) => sum + part.tokenCount, MESSAGE_OVERHEAD_TOKENS),
            messages: renderMessage(message),
            toolTokens: toolTokens(message, count)
          })
        }
      }),
    size: (request) => Effect.map(refresh(request), (view) => view.total),
    invalidate: (ids) => Effect.sync(() => ids.forEach((id) => cache.delete(id)))
  }
})

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<ContextBuilder> = Layer.effect(ContextBuilder, make)
