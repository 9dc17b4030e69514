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
export type SessionRef = Pick<BuildRequest, "store" | "sessionId">

export interface Service {
  readonly build: (
    request: BuildRequest
  ) => Effect.Effect<BuiltContext, ContextOverflow | Storage.StoreFailure>
  /** Every item of the session's context, in position order (read incrementally, like `build`). */
  readonly items: (session: SessionRef) => Effect.Effect<ReadonlyArray<ContextItem>, Storage.StoreFailure>
  /** The summed token counts of every item in the session's context (what compaction measures). */
  readonly size: (session: SessionRef) => Effect.Effect<number, Storage.StoreFailure>
  /**
   * Messages of the session's context, in the order asked, from the session's cache where it
   * holds them (every message a live session wrote or read), else from the store.
   */
  readonly messages: (
    session: SessionRef,
    ids: ReadonlyArray<MessageId>,
    count: Count
  ) => Effect.Effect<ReadonlyArray<Message>, Storage.StoreFailure>
  /**
   * Caches messages the caller has just written (their items' token counts follow from their
   * parts), so the next build need not read them back.
   */
  readonly prime: (session: SessionRef, messages: ReadonlyArray<Message>, count: Count) => Effect.Effect<void>
  /** Forgets cached renderings (after a change that might keep an item's token count). */
  readonly invalidate: (session: SessionRef, ids: ReadonlyArray<string>) => Effect.Effect<void>
}

export class ContextBuilder extends Context.Tag("mnesis/ContextBuilder")<ContextBuilder, Service>() {}

const VIEW_LIMIT = 1_024

/** A cached item: its rendering, and the stored message itself for message items. */
interface Rendered {
  readonly tokenCount: number
  readonly messages: ReadonlyArray<LlmMessage>
  readonly toolTokens: number
  readonly message?: Message | undefined
}

/**
 * A session's context items as last read, caught up incrementally while its version holds, and
 * the renderings of those items. Renderings of items that leave the context are dropped when the
 * view is reloaded, so the cache never holds more than the active contexts.
 *
 * Reads of one session may run concurrently (a turn beside a background round), so a read is
 * applied only if it is at least as new as the view: `items` only grows (appends) or is replaced
 * by a newer read, never rewritten in place, which lets a caller keep a {@link Snapshot} of it
 * without copying.
 */
interface View {
  version: number
  lastPosition: number
  items: Array<ContextItem>
  total: number
  readonly rendered: Map<string, Rendered>
}

/** One consistent read of a session's context: the first `length` entries of `items`. */
interface Snapshot {
  readonly items: ReadonlyArray<ContextItem>
  readonly length: number
  readonly total: number
}

const snapshotOf = (view: View): Snapshot => ({
  items: view.items,
  length: view.items.length,
  total: view.total
})

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
  const systemCounts = new Map<string, number>()
  // Views by session, least recently used first.
  const views = new Map<string, View>()

  const countSystem = (text: string, count: Count): number => {
    const known = systemCounts.get(text)
    if (known !== undefined) return known
    const n = text === "" ? 0 : count(text)
    if (systemCounts.size > 64) systemCounts.clear()
    systemCounts.set(text, n)
    return n
  }

  const touch = (sessionId: string, view: View) => {
    views.delete(sessionId)
    views.set(sessionId, view)
    if (views.size > VIEW_LIMIT) views.delete(views.keys().next().value!)
  }

  const viewOf = (session: SessionRef): View => {
    const known = views.get(session.sessionId)
    if (known !== undefined) return known
    const view: View = { version: -1, lastPosition: -1, items: [], total: 0, rendered: new Map() }
    touch(session.sessionId, view)
    return view
  }

  /**
   * The session's items, reading only what was appended since the last read when possible.
   * Versions only grow, and a version changes only when an existing item changes, so two reads
   * of one version differ only by appended items; that decides whether a read is newer than the
   * view, and what of a catch-up read the view still lacks (another read may have caught it up
   * while this one waited for the store).
   */
  const refresh = (session: SessionRef): Effect.Effect<Snapshot, Storage.StoreFailure> =>
    Effect.gen(function*() {
      const known = viewOf(session)
      if (known.version >= 0) {
        const after = known.lastPosition
        const delta = yield* session.store.contextSince(session.sessionId, after)
        // The view may have moved (or been evicted and recreated) while the store answered.
        const view = viewOf(session)
        if (delta.version === view.version && view.lastPosition >= after) {
          for (const item of delta.items) {
            if (item.position <= view.lastPosition) continue
            view.items.push(item)
            view.total += item.tokenCount
            view.lastPosition = item.position
          }
          touch(session.sessionId, view)
          return snapshotOf(view)
        }
        // A concurrent read already saw a newer version than this one: it is the fresher answer.
        if (delta.version < view.version) return snapshotOf(view)
      }
      const full = yield* session.store.contextSince(session.sessionId)
      const view = viewOf(session)
      const lastPosition = full.items[full.items.length - 1]?.position ?? -1
      if (
        full.version > view.version || (full.version === view.version && lastPosition > view.lastPosition)
      ) {
        view.version = full.version
        view.items = [...full.items]
        view.lastPosition = lastPosition
        view.total = full.items.reduce((sum, item) => sum + item.tokenCount, 0)
        // Keep the renderings of items still in the context; the rest left it.
        const present = new Set<string>(full.items.map((item) => item.id))
        for (const id of view.rendered.keys()) if (!present.has(id)) view.rendered.delete(id)
      }
      touch(session.sessionId, view)
      return snapshotOf(view)
    })

  /** Picks items newest first until the budget is spent; the newest user turn must fit. */
  const select = ({ items, length }: Snapshot, available: number) => {
    let used = 0
    let newestTurnDone = false
    let first = length
    for (let i = length - 1; i >= 0; i--) {
      const item = items[i]!
      if (newestTurnDone && used + item.tokenCount > available) {
        return Either.right({ chosen: items.slice(first, length), truncated: true })
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
    return Either.right({ chosen: items.slice(first, length), truncated: false })
  }

  const renderedMessage = (message: Message, tokenCount: number, count: Count): Rendered => ({
    tokenCount,
    messages: renderMessage(message),
    toolTokens: toolTokens(message, count),
    message
  })

  /**
   * The cached rendering of each item, reading and rendering the ones not cached (or stale).
   * Cached renderings are taken before the store is read: a concurrent reload may drop them from
   * the cache meanwhile (their items left the context), but this build still sends them.
   */
  const resolve = (session: SessionRef, items: ReadonlyArray<ContextItem>, count: Count) =>
    Effect.gen(function*() {
      const rendered = viewOf(session).rendered
      const out: Array<Rendered | undefined> = items.map((item) => {
        const cached = rendered.get(item.id)
        return cached?.tokenCount === item.tokenCount ? cached : undefined
      })
      const missingMessages: Array<MessageId> = []
      const missingSummaries: Array<SummaryId> = []
      const indexOf = new Map<string, number>()
      items.forEach((item, index) => {
        if (out[index] !== undefined) return
        indexOf.set(item.id, index)
        if (item.kind === "message") missingMessages.push(item.id as MessageId)
        else missingSummaries.push(item.id as SummaryId)
      })
      const fill = (id: string, make: (tokenCount: number) => Rendered) => {
        const index = indexOf.get(id)
        if (index === undefined) return
        const fresh = make(items[index]!.tokenCount)
        out[index] = fresh
        viewOf(session).rendered.set(id, fresh)
      }
      if (missingMessages.length > 0) {
        for (const message of yield* session.store.messages(missingMessages)) {
          fill(message.id, (tokenCount) => renderedMessage(message, tokenCount, count))
        }
      }
      if (missingSummaries.length > 0) {
        for (const node of yield* session.store.summaries(missingSummaries)) {
          fill(node.id, (tokenCount) => ({
            tokenCount,
            messages: [{ role: "user", content: [{ type: "text", text: renderSummary(node) }] }],
            toolTokens: 0
          }))
        }
      }
      // The store is append-only, so an item without its content means a damaged database: the
      // turn goes on without that content, and the log says what is missing.
      const lost = items.filter((_, index) => out[index] === undefined).map((item) => item.id)
      if (lost.length > 0) {
        yield* Effect.logWarning(
          `context items without stored content were left out of the assembled context: ${
            lost.join(", ")
          }; ` +
            "the database may be damaged (run an integrity check)"
        ).pipe(Effect.annotateLogs({ sessionId: session.sessionId }))
      }
      return items.map((item, index): Rendered =>
        out[index] ?? { tokenCount: item.tokenCount, messages: [], toolTokens: 0 }
      )
    })

  const build = (request: BuildRequest) =>
    Effect.gen(function*() {
      const systemTokens = countSystem(request.systemPrompt, request.count)
      const reserve = assemblyReserve(request.count)
      const available = request.budget.usable - systemTokens - reserve
      const snapshot = yield* refresh(request)
      const { chosen: items, truncated } = yield* select(snapshot, available)
      const resolved = yield* resolve(request, items, request.count)

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
        contextTokens: snapshot.total
      } satisfies BuiltContext
    }).pipe(
      Effect.tap((b) =>
        Effect.annotateCurrentSpan({
          "mnesis.session.id": request.sessionId,
          "mnesis.context.tokens": b.breakdown.total,
          "mnesis.context.summary_tokens": b.breakdown.summaries,
          "mnesis.context.items": b.items.length,
          "mnesis.context.truncated": b.truncated
        })
      ),
      Effect.withSpan("ContextBuilder.build", { captureStackTrace: false })
    )

  const messages: Service["messages"] = (session, ids, count) =>
    Effect.gen(function*() {
      const { items, length } = yield* refresh(session)
      const tokenOf = new Map<string, number>()
      for (let i = 0; i < length; i++) tokenOf.set(items[i]!.id, items[i]!.tokenCount)
      // Taken before the store is read: a concurrent reload may drop them from the cache.
      const rendered = viewOf(session).rendered
      const byId = new Map<string, Message>()
      const missing: Array<MessageId> = []
      for (const id of ids) {
        const cached = rendered.get(id)
        if (cached?.message !== undefined && cached.tokenCount === tokenOf.get(id)) {
          byId.set(id, cached.message)
        } else missing.push(id)
      }
      if (missing.length > 0) {
        for (const message of yield* session.store.messages(missing)) {
          byId.set(message.id, message)
          const tokenCount = tokenOf.get(message.id)
          if (tokenCount !== undefined) {
            viewOf(session).rendered.set(message.id, renderedMessage(message, tokenCount, count))
          }
        }
      }
      return ids.flatMap((id) => {
        const message = byId.get(id)
        return message === undefined ? [] : [message]
      })
    })

  return {
    build,
    items: (session) => Effect.map(refresh(session), ({ items, length }) => items.slice(0, length)),
    size: (session) => Effect.map(refresh(session), (snapshot) => snapshot.total),
    messages,
    prime: (session, written, count) =>
      Effect.sync(() => {
        const view = viewOf(session)
        for (const message of written) {
          const tokenCount = message.parts.reduce(
            (sum, part) => sum + part.tokenCount,
            MESSAGE_OVERHEAD_TOKENS
          )
          view.rendered.set(message.id, renderedMessage(message, tokenCount, count))
        }
      }),
    invalidate: (session, ids) =>
      Effect.sync(() => {
        const view = views.get(session.sessionId)
        if (view !== undefined) { for (const id of ids) view.rendered.delete(id) }
      })
  }
})

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<ContextBuilder> = Layer.effect(ContextBuilder, make)
