/**
 * Property tests of context assembly (SPEC §4) against the real SQLite store in memory.
 *
 * Every run writes a random session (a fresh session of one shared in-memory store) exactly as the
 * library does (token counts from `partCost` / `tombstoneCost` / `summaryCost` with the real
 * tokenizer), optionally tombstones completed tool outputs and compacts runs of the context into
 * summaries, then assembles it with a random budget and system prompt, with a fresh builder, and
 * checks one invariant. Expected
 * values (costs, tool results) are computed from the generated data, not read back from the
 * builder. Example-based tests below pin the edge cases.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import type { Budget } from "../../src/Config.js"
import type { Count } from "../../src/context/Render.js"
import {
  partCost,
  pendingResultText,
  summaryCost,
  tombstoneCost,
  tombstoneText
} from "../../src/context/Render.js"
import * as ContextBuilder from "../../src/ContextBuilder.js"
import type { ContextItem, MessageId, SessionId, ToolPart } from "../../src/Domain.js"
import { MESSAGE_OVERHEAD_TOKENS } from "../../src/Domain.js"
import * as Ids from "../../src/internal/ids.js"
import type { ContentBlock, LlmMessage } from "../../src/LlmProvider.js"
import * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import { countTokens } from "../../src/Tokenizer.js"
import { yieldToEventLoop } from "../support/eventLoop.js"
import { createSession, summaryCommit } from "../support/storage.js"
import * as Arb from "./arbitraries.js"
import type { AssistantPartSpec, SessionSpec, UserPartSpec } from "./arbitraries.js"

const RUNS = 1_000
/**
 * Properties 1–5 only read the store, so they draw the same sessions (one random seed per run of
 * this file, printed by fast-check on failure) and each session is written once: appending is
 * most of a run's cost. Property 6 writes, so it draws and writes its own sessions.
 */
const SHARED_SEED = Date.now() ^ (Math.random() * 0x7fffffff)
const READ_ONLY_OPTIONS = { timeout: 120_000, fastCheck: { numRuns: RUNS, seed: SHARED_SEED } }
const WRITING_OPTIONS = { timeout: 120_000, fastCheck: { numRuns: RUNS } }

const count: Count = (text) => countTokens(text)
const ASSEMBLY_RESERVE_TOKENS = ContextBuilder.assemblyReserve(count)

type StoredPart = Storage.NewMessage["parts"][number]

// ---------------------------------------------------------------------------------------------
// Writing a generated session
// ---------------------------------------------------------------------------------------------

/** What a tool call must look like in the assembled context. */
interface ExpectedResult {
  readonly content: string
  readonly isError: boolean
}

/** A generated session as stored, with the expectations derived from the generated data. */
interface Materialized {
  readonly sessionId: SessionId
  /** Expected context cost of every stored message (after tombstones) and every summary. */
  readonly costOf: ReadonlyMap<string, number>
  /** Expected cost of the tool parts of every stored message (breakdown.toolOutputs). */
  readonly toolCostOf: ReadonlyMap<string, number>
  /** Tool call ids of every stored message, in order. */
  readonly callsOf: ReadonlyMap<string, ReadonlyArray<string>>
  readonly results: ReadonlyMap<string, ExpectedResult>
  /** The text part of every user message. */
  readonly userText: ReadonlyMap<string, string>
}

const storedPart = (
  spec: UserPartSpec | AssistantPartSpec,
  callId: string
): Effect.Effect<StoredPart> =>
  Effect.map(Ids.partId, (id): StoredPart => {
    switch (spec.type) {
      case "text": {
        const body = { type: "text" as const, text: spec.text }
        return { ...body, id, tokenCount: partCost(body, count) }
      }
      case "reasoning": {
        const body = spec.signature === undefined
          ? { type: "reasoning" as const, text: spec.text }
          : { type: "reasoning" as const, text: spec.text, signature: spec.signature }
        return { ...body, id, tokenCount: partCost(body, count) }
      }
      case "file_ref": {
        const body = {
          type: "file_ref" as const,
          fileId: Ids.fileId(`${spec.path}\n${spec.summary}`),
          path: spec.path,
          fileType: spec.fileType,
          fileTokens: spec.fileTokens,
          summary: spec.summary
        }
        return { ...body, id, tokenCount: partCost(body, count) }
      }
      case "tool": {
        const common = {
          type: "tool" as const,
          toolName: spec.toolName,
          toolCallId: callId,
          input: spec.input
        }
        const o = spec.outcome
        const body = o.status === "completed"
          ? { ...common, status: o.status, output: o.output, startedAt: 1, completedAt: 2 }
          : o.status === "error"
          ? { ...common, status: o.status, error: o.error, startedAt: 1, completedAt: 2 }
          : o.status === "running"
          ? { ...common, status: o.status, startedAt: 1 }
          : { ...common, status: o.status }
        return { ...body, id, tokenCount: partCost(body, count) }
      }
    }
  })

let callCounter = 0

/** Writes `spec` as a fresh session of the shared store: messages, tombstones, compactions. */
const materialize = (spec: SessionSpec) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const session = yield* createSession()
    const costOf = new Map<string, number>()
    const toolCostOf = new Map<string, number>()
    const callsOf = new Map<string, ReadonlyArray<string>>()
    const results = new Map<string, ExpectedResult>()
    const userText = new Map<string, string>()
    const tombstones: Array<Storage.Tombstone> = []

    for (const message of spec.messages) {
      const id: MessageId = yield* Ids.messageId
      const specs: ReadonlyArray<UserPartSpec | AssistantPartSpec> = message.parts
      const parts = yield* Effect.forEach(specs, (part) => storedPart(part, `call_${++callCounter}`))
      yield* store.appendMessage({
        id,
        sessionId: session.id,
        role: message.role,
        agent: "default",
        model: "mock/test",
        createdAt: 0,
        parts
      })
      let cost = MESSAGE_OVERHEAD_TOKENS
      let toolCost = 0
      const calls: Array<string> = []
      for (const [index, part] of parts.entries()) {
        const partSpec = specs[index]!
        if (partSpec.type === "text" && message.role === "user") userText.set(id, partSpec.text)
        if (part.type !== "tool" || partSpec.type !== "tool") {
          cost += part.tokenCount
          continue
        }
        calls.push(part.toolCallId)
        const o = partSpec.outcome
        if (o.status === "completed" && o.tombstone) {
          const tool: ToolPart = part
          const after = tombstoneCost(tool, id, count)
          tombstones.push({ partId: part.id, tokenCount: after })
          results.set(part.toolCallId, { content: tombstoneText(tool, id), isError: false })
          cost += after
          toolCost += after
          continue
        }
        results.set(part.toolCallId, {
          content: o.status === "completed"
            ? o.output
            : o.status === "error"
            ? `Error: ${o.error}`
            : pendingResultText({ status: o.status }),
          isError: o.status !== "completed"
        })
        cost += part.tokenCount
        toolCost += part.tokenCount
      }
      costOf.set(id, cost)
      toolCostOf.set(id, toolCost)
      callsOf.set(id, calls)
    }
    const changed = yield* store.tombstone(session.id, tombstones, 3)
    expect(changed).toBe(tombstones.length)

    for (const compaction of spec.compactions) {
      const items = yield* store.contextItems(session.id)
      if (items.length === 0) break
      const start = Math.floor(compaction.start * items.length)
      const length = 1 + Math.floor(compaction.length * (items.length - start))
      const commit = yield* summaryCommit(session.id, items.slice(start, start + length), {
        content: compaction.content
      })
      const tokenCount = summaryCost(commit.summary, count)
      yield* store.commitCompaction({ ...commit, summary: { ...commit.summary, tokenCount } })
      costOf.set(commit.summary.id, tokenCount)
    }
    return { sessionId: session.id, costOf, toolCostOf, callsOf, results, userText } satisfies Materialized
  })

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

const budgetOf = (usable: number): Budget => ({
  contextLimit: usable + 8_192,
  maxOutputTokens: 4_096,
  usable,
  softThreshold: Math.floor(usable * 0.6),
  hardThreshold: usable
})

type Outcome =
  | { readonly _tag: "Built"; readonly built: ContextBuilder.BuiltContext }
  | { readonly _tag: "Overflow"; readonly needed: number; readonly available: number }

/** Builds; `ContextOverflow` is an outcome, any other failure fails the test. */
const build = (
  builder: ContextBuilder.Service,
  sessionId: SessionId,
  systemPrompt: string,
  usable: number
) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    return yield* builder.build({ store, sessionId, systemPrompt, budget: budgetOf(usable), count }).pipe(
      Effect.map((built): Outcome => ({ _tag: "Built", built })),
      Effect.catchTag("ContextOverflow", (e) =>
        Effect.succeed<Outcome>({ _tag: "Overflow", needed: e.needed, available: e.available }))
    )
  })

const sum = (items: ReadonlyArray<ContextItem>): number => items.reduce((n, item) => n + item.tokenCount, 0)

/** Sessions already written for a spec (read-only properties share them). */
const written = new Map<string, Materialized>()

const materializeOnce = (spec: SessionSpec) =>
  Effect.gen(function*() {
    const key = JSON.stringify(spec)
    const known = written.get(key)
    if (known !== undefined) return known
    const session = yield* materialize(spec)
    written.set(key, session)
    return session
  })

/** Writes (or reuses) the session of `spec` and builds it with a fresh builder. */
const setup = (
  spec: SessionSpec,
  systemPrompt: string,
  budget: Arb.BudgetSpec | number,
  mode: "fresh" | "shared" = "fresh"
) =>
  Effect.gen(function*() {
    yield* yieldToEventLoop
    const store = yield* Storage.Storage
    const session = yield* (mode === "shared" ? materializeOnce(spec) : materialize(spec))
    const all = yield* store.contextItems(session.sessionId)
    const usable = typeof budget === "number"
      ? budget
      : Arb.resolveUsable(budget, systemTokens(systemPrompt) + sum(all) + ASSEMBLY_RESERVE_TOKENS)
    const builder = yield* ContextBuilder.make
    const outcome = yield* build(builder, session.sessionId, systemPrompt, usable)
    return { session, builder, outcome, all, usable }
  })

const systemTokens = (systemPrompt: string): number => systemPrompt === "" ? 0 : count(systemPrompt)

const available = (systemPrompt: string, usable: number): number =>
  usable - systemTokens(systemPrompt) - ASSEMBLY_RESERVE_TOKENS

/** The newest turn as the builder must keep it: the last user message and everything after it. */
const newestTurn = (all: ReadonlyArray<ContextItem>): ReadonlyArray<ContextItem> => {
  for (let i = all.length - 1; i >= 0; i--) {
    if (all[i]!.kind === "message" && all[i]!.role === "user") return all.slice(i)
  }
  return all
}

const withoutCache = (messages: ReadonlyArray<LlmMessage>): ReadonlyArray<LlmMessage> =>
  messages.map((message) => ({
    role: message.role,
    content: message.content.map((block): ContentBlock => {
      if (block.type !== "text" && block.type !== "tool_result") return block
      const { cache: _cache, ...rest } = block
      return rest
    })
  }))

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/** Every tool_use is answered exactly once in the next message; every result answers the previous one. */
const checkToolPairs = (messages: ReadonlyArray<LlmMessage>) => {
  const seen = new Set<string>()
  messages.forEach((message, i) => {
    const results = message.content.filter((b) => b.type === "tool_result")
    // providers require the results to open the user message that answers the calls
    expect(message.content.slice(0, results.length)).toEqual(results)
    for (const block of message.content) {
      if (block.type === "tool_use") {
        expect(message.role).toBe("assistant")
        expect(seen.has(block.id)).toBe(false)
        seen.add(block.id)
        const next = messages[i + 1]
        expect(next?.role).toBe("user")
        const answers = (next?.content ?? []).filter((b) =>
          b.type === "tool_result" && b.toolUseId === block.id
        )
        expect(answers).toHaveLength(1)
      }
      if (block.type === "tool_result") {
        expect(message.role).toBe("user")
        const previous = messages[i - 1]
        expect(previous?.role).toBe("assistant")
        const calls = (previous?.content ?? []).filter((b) =>
          b.type === "tool_use" && b.id === block.toolUseId
        )
        expect(calls).toHaveLength(1)
      }
    }
  })
}

const checkRoles = (messages: ReadonlyArray<LlmMessage>) => {
  if (messages.length > 0) expect(messages[0]!.role).toBe("user")
  messages.forEach((message, i) => {
    expect(message.content.length).toBeGreaterThan(0)
    // providers reject empty text blocks
    for (const block of message.content) if (block.type === "text") expect(block.text).not.toBe("")
    if (i > 0) expect(message.role).not.toBe(messages[i - 1]!.role)
  })
}

const blocks = (messages: ReadonlyArray<LlmMessage>): ReadonlyArray<ContentBlock> =>
  messages.flatMap((m) => m.content)

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const arbitraries = { spec: Arb.session, systemPrompt: Arb.systemPrompt, budget: Arb.budget }

it.layer(SqliteStore.layerMemory)("ContextBuilder properties (SPEC §4)", (it) => {
  it.effect.prop(
    "1. budget: ContextOverflow or breakdown.total ≤ usable, total = system + summaries + messages, honest costs",
    arbitraries,
    ({ budget, spec, systemPrompt }) =>
      Effect.gen(function*() {
        const { session, outcome, usable } = yield* setup(spec, systemPrompt, budget, "shared")
        if (outcome._tag === "Overflow") {
          expect(outcome.needed).toBeGreaterThan(outcome.available)
          return
        }
        const { breakdown, items, system } = outcome.built
        expect(breakdown.total).toBeLessThanOrEqual(usable)
        expect(breakdown.total).toBe(breakdown.system + breakdown.summaries + breakdown.messages)
        expect(breakdown.system).toBe(systemTokens(systemPrompt))
        expect(system).toEqual(systemPrompt === "" ? [] : [{ text: systemPrompt, cache: true }])
        // the costs are those of what is stored, computed independently from the generated data
        for (const item of items) expect(item.tokenCount).toBe(session.costOf.get(item.id))
        const messages = items.filter((i) => i.kind === "message")
        // a bridge line, when the context had to start with one, is counted at the reserved cost
        const first = outcome.built.messages[0]?.content[0]
        const bridged = first?.type === "text" && first.text.startsWith("[") && first.text.endsWith("]") &&
          (first.text.includes("grep searches them") || first.text === "[The conversation continues.]")
        expect(breakdown.messages).toBe(sum(messages) + (bridged ? ASSEMBLY_RESERVE_TOKENS : 0))
        expect(breakdown.summaries).toBe(sum(items.filter((i) => i.kind === "summary")))
        expect(breakdown.toolOutputs).toBe(messages.reduce((n, i) => n + session.toolCostOf.get(i.id)!, 0))
      }),
    READ_ONLY_OPTIONS
  )

  it.effect.prop(
    "2. tool pairs are atomic and rendered faithfully",
    arbitraries,
    ({ budget, spec, systemPrompt }) =>
      Effect.gen(function*() {
        const { outcome, session } = yield* setup(spec, systemPrompt, budget, "shared")
        if (outcome._tag === "Overflow") return
        const { items, messages } = outcome.built
        checkToolPairs(messages)
        // exactly the calls of the included messages, each with its expected result
        const expected = items.flatMap((i) => session.callsOf.get(i.id) ?? [])
        const all = blocks(messages)
        expect(all.flatMap((b) => b.type === "tool_use" ? [b.id] : [])).toEqual(expected)
        expect(all.flatMap((b) => b.type === "tool_result" ? [b.toolUseId] : [])).toEqual(expected)
        for (const block of all) {
          if (block.type === "tool_result") {
            expect({ content: block.content, isError: block.isError }).toEqual(
              session.results.get(block.toolUseId)
            )
          }
        }
      }),
    READ_ONLY_OPTIONS
  )

  it.effect.prop(
    "3. roles: starts with user, strictly alternates, no empty message",
    arbitraries,
    ({ budget, spec, systemPrompt }) =>
      Effect.gen(function*() {
        const { outcome } = yield* setup(spec, systemPrompt, budget, "shared")
        if (outcome._tag === "Overflow") return
        checkRoles(outcome.built.messages)
      }),
    READ_ONLY_OPTIONS
  )

  it.effect.prop(
    "4. chronological: the included items are a contiguous suffix of the context, as long as fits",
    arbitraries,
    ({ budget, spec, systemPrompt }) =>
      Effect.gen(function*() {
        const { all, outcome, usable } = yield* setup(spec, systemPrompt, budget, "shared")
        if (outcome._tag === "Overflow") return
        const { breakdown, items, truncated } = outcome.built
        items.forEach((item, i) => {
          if (i > 0) expect(item.position).toBeGreaterThan(items[i - 1]!.position)
        })
        expect(items).toEqual(all.slice(all.length - items.length))
        expect(truncated).toBe(items.length < all.length)
        if (all.length > 0) expect(items.length).toBeGreaterThan(0)
        const skipped = all[all.length - items.length - 1]
        // greedy: the newest item left out did not fit
        if (skipped !== undefined) {
          expect(breakdown.total + skipped.tokenCount).toBeGreaterThan(usable - ASSEMBLY_RESERVE_TOKENS)
        }
      }),
    READ_ONLY_OPTIONS
  )

  it.effect.prop(
    "5. the newest user turn is always sent, or the build fails with ContextOverflow",
    arbitraries,
    ({ budget, spec, systemPrompt }) =>
      Effect.gen(function*() {
        const { all, outcome, session, usable } = yield* setup(spec, systemPrompt, budget, "shared")
        const turn = newestTurn(all)
        const needed = sum(turn)
        const room = available(systemPrompt, usable)
        if (outcome._tag === "Overflow") {
          expect(outcome).toEqual({ _tag: "Overflow", needed, available: room })
          expect(outcome.needed).toBeGreaterThan(outcome.available)
          return
        }
        // overflow exactly when the newest turn does not fit
        expect(needed).toBeLessThanOrEqual(room)
        const { items, messages } = outcome.built
        expect(items.slice(items.length - turn.length)).toEqual(turn)
        const newestUser = turn[0]
        if (newestUser?.kind === "message" && newestUser.role === "user") {
          const text = session.userText.get(newestUser.id)!
          const texts = messages.filter((m) => m.role === "user").flatMap((m) =>
            m.content.flatMap((b) => b.type === "text" ? [b.text] : [])
          )
          expect(texts).toContain(text)
        }
      }),
    READ_ONLY_OPTIONS
  )

  it.effect.prop(
    "6. deterministic, and prefix-stable when a user message is appended",
    { ...arbitraries, next: Arb.words(12, 1) },
    ({ budget, next, spec, systemPrompt }) =>
      Effect.gen(function*() {
        const store = yield* Storage.Storage
        const { builder, outcome, session, usable } = yield* setup(spec, systemPrompt, budget)
        // twice with the same builder (cached renderings) and once with a fresh one
        expect(yield* build(builder, session.sessionId, systemPrompt, usable)).toEqual(outcome)
        const fresh = yield* ContextBuilder.make
        expect(yield* build(fresh, session.sessionId, systemPrompt, usable)).toEqual(outcome)

        const everything = 10_000_000
        const before = yield* build(builder, session.sessionId, systemPrompt, everything)
        const text = { type: "text" as const, text: `next: ${next}` }
        yield* store.appendMessage({
          id: yield* Ids.messageId,
          sessionId: session.sessionId,
          role: "user",
          agent: "default",
          model: "mock/test",
          createdAt: 0,
          parts: [{ ...text, id: yield* Ids.partId, tokenCount: partCost(text, count) }]
        })
        const after = yield* build(builder, session.sessionId, systemPrompt, everything)
        if (before._tag !== "Built" || after._tag !== "Built") {
          return expect.fail("a budget of 10M tokens fits every generated session")
        }
        const previous = withoutCache(before.built.messages)
        const next_ = withoutCache(after.built.messages)
        const last = previous[previous.length - 1]
        const expected: ReadonlyArray<LlmMessage> = last?.role === "user"
          ? [...previous.slice(0, -1), { role: "user", content: [...last.content, text] }]
          : [...previous, { role: "user", content: [text] }]
        expect(next_).toEqual(expected)
      }),
    WRITING_OPTIONS
  )
})

// ---------------------------------------------------------------------------------------------
// Edge cases
// ---------------------------------------------------------------------------------------------

const userSpec = (text: string): Arb.MessageSpec => ({ role: "user", parts: [{ type: "text", text }] })
const assistantSpec = (text: string): Arb.MessageSpec => ({
  role: "assistant",
  parts: [{ type: "text", text }]
})

it.layer(SqliteStore.layerMemory)("ContextBuilder edge cases", (it) => {
  it.effect("an empty session builds an empty context that costs only the system prompt", () =>
    Effect.gen(function*() {
      const { outcome } = yield* setup({ messages: [], compactions: [] }, "You are terse.", 100)
      expect(outcome).toEqual({
        _tag: "Built",
        built: {
          system: [{ text: "You are terse.", cache: true }],
          messages: [],
          breakdown: {
            system: count("You are terse."),
            summaries: 0,
            messages: 0,
            toolOutputs: 0,
            total: count("You are terse.")
          },
          items: [],
          truncated: false,
          contextTokens: 0
        }
      })
    }))

  it.effect("a single user message larger than the budget fails with ContextOverflow", () =>
    Effect.gen(function*() {
      const huge = "lorem ipsum dolor sit amet ".repeat(200)
      const { all, outcome } = yield* setup({ messages: [userSpec(huge)], compactions: [] }, "", 500)
      expect(all).toHaveLength(1)
      expect(outcome).toEqual({
        _tag: "Overflow",
        needed: count(huge) + MESSAGE_OVERHEAD_TOKENS,
        available: 500 - ASSEMBLY_RESERVE_TOKENS
      })
    }))

  it.effect("an older turn that does not fit is dropped, the newest is kept", () =>
    Effect.gen(function*() {
      const old = "old ".repeat(300)
      const { outcome } = yield* setup(
        {
          messages: [userSpec(old), assistantSpec("ok"), userSpec("new question")],
          compactions: []
        },
        "",
        100
      )
      if (outcome._tag !== "Built") return expect.fail("the newest turn fits")
      expect(outcome.built.truncated).toBe(true)
      expect(withoutCache(outcome.built.messages)).toEqual([
        {
          role: "user",
          content: [{
            type: "text",
            text: "[Earlier messages omitted to fit the context; grep searches them.]"
          }]
        },
        { role: "assistant", content: [{ type: "text", text: "ok" }] },
        { role: "user", content: [{ type: "text", text: "new question" }] }
      ])
    }))

  it.effect("a context that starts with an assistant message after truncation gets a bridge user turn", () =>
    Effect.gen(function*() {
      const { outcome } = yield* setup(
        {
          messages: [
            userSpec("first ".repeat(200)),
            {
              role: "assistant",
              parts: [{
                type: "tool",
                toolName: "read",
                input: "a.txt",
                outcome: { status: "completed", output: "A", tombstone: false }
              }]
            },
            assistantSpec("done reading"),
            userSpec("and now?")
          ],
          compactions: []
        },
        "",
        150
      )
      if (outcome._tag !== "Built") return expect.fail("the newest turn fits")
      const { items, messages, truncated } = outcome.built
      expect(truncated).toBe(true)
      expect(items.map((i) => i.role)).toEqual(["assistant", "assistant", "user"])
      expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user"])
      expect(messages[0]!.content).toEqual([{
        type: "text",
        text: "[Earlier messages omitted to fit the context; grep searches them.]"
      }])
      checkRoles(messages)
      checkToolPairs(messages)
    }))

  // Found by a property (total + bridge ≤ usable) that is too slow to shrink to keep here: the
  // bridge line once cost more than the tokens reserved for it, so a context filled up to the
  // reserve was sent over budget. The reserve is now measured with the session's own counter,
  // and the breakdown counts the bridge.
  it.effect("the bridge turn fits in the tokens reserved for it", () =>
    Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* materialize({
        messages: [userSpec("old ".repeat(100)), assistantSpec("the answer"), userSpec("and then?")],
        compactions: []
      })
      const all = yield* store.contextItems(session.sessionId)
      // exactly the two newest items fit: the selection fills the budget up to the reserve
      const usable = all[1]!.tokenCount + all[2]!.tokenCount + ASSEMBLY_RESERVE_TOKENS
      const builder = yield* ContextBuilder.make
      const outcome = yield* build(builder, session.sessionId, "", usable)
      if (outcome._tag !== "Built") return expect.fail("the newest turn fits")
      const { breakdown, items, messages } = outcome.built
      expect(items).toEqual(all.slice(1))
      expect(breakdown.total).toBe(usable)
      const bridge = messages[0]!.content[0]!
      expect(bridge.type === "text" && bridge.text.startsWith("[Earlier messages")).toBe(true)
      const bridgeCost = MESSAGE_OVERHEAD_TOKENS + count(bridge.type === "text" ? bridge.text : "")
      expect(bridgeCost).toBeLessThanOrEqual(ASSEMBLY_RESERVE_TOKENS)
      expect(breakdown.total - ASSEMBLY_RESERVE_TOKENS + bridgeCost).toBeLessThanOrEqual(usable)
    }))

  it.effect("a session opened by an assistant message gets a neutral bridge when nothing was dropped", () =>
    Effect.gen(function*() {
      const { outcome } = yield* setup(
        { messages: [assistantSpec("Hello, how can I help?"), userSpec("hi")], compactions: [] },
        "",
        1_000
      )
      if (outcome._tag !== "Built") return expect.fail("everything fits")
      expect(outcome.built.truncated).toBe(false)
      expect(withoutCache(outcome.built.messages)).toEqual([
        { role: "user", content: [{ type: "text", text: "[The conversation continues.]" }] },
        { role: "assistant", content: [{ type: "text", text: "Hello, how can I help?" }] },
        { role: "user", content: [{ type: "text", text: "hi" }] }
      ])
    }))

  it.effect("a system prompt that leaves no room fails even an empty context with ContextOverflow", () =>
    Effect.gen(function*() {
      const prompt = "rules ".repeat(200)
      const { outcome } = yield* setup({ messages: [], compactions: [] }, prompt, 60)
      expect(outcome).toEqual({
        _tag: "Overflow",
        needed: 0,
        available: 60 - count(prompt) - ASSEMBLY_RESERVE_TOKENS
      })
    }))

  // Renderings are cached by id and token count. A tombstone whose marker costs exactly what the
  // output did keeps the count, so the caller must `invalidate` (without it the same builder keeps
  // sending the pruned output; a fresh builder sends the marker).
  it.effect("a tombstone that keeps the item's token count shows after invalidate", () =>
    Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const user = { type: "text" as const, text: "go" }
      yield* store.appendMessage({
        id: yield* Ids.messageId,
        sessionId: session.id,
        role: "user",
        agent: "default",
        model: "mock/test",
        createdAt: 0,
        parts: [{ ...user, id: yield* Ids.partId, tokenCount: partCost(user, count) }]
      })
      const messageId = yield* Ids.messageId
      const partId = yield* Ids.partId
      const toolOf = (output: string): ToolPart => ({
        type: "tool",
        id: partId,
        toolName: "read",
        toolCallId: "call_equal",
        input: {},
        status: "completed",
        output,
        tokenCount: partCost({
          type: "tool",
          toolName: "read",
          toolCallId: "call_equal",
          input: {},
          status: "completed",
          output
        }, count)
      })
      // an output whose marker costs the same as the output itself
      const outputs = Array.from({ length: 200 }, (_, k) => "x ".repeat(k + 1))
      const output = outputs.find((o) => toolOf(o).tokenCount === tombstoneCost(toolOf(o), messageId, count))
      if (output === undefined) return expect.fail("some output costs as much as its marker")
      const { compactedAt: _none, ...part } = toolOf(output)
      yield* store.appendMessage({
        id: messageId,
        sessionId: session.id,
        role: "assistant",
        agent: "default",
        model: "mock/test",
        createdAt: 0,
        parts: [part]
      })
      const builder = yield* ContextBuilder.make
      const before = yield* build(builder, session.id, "", 10_000)
      yield* store.tombstone(session.id, [{ partId, tokenCount: part.tokenCount }], 5)
      yield* builder.invalidate({ store, sessionId: session.id }, [messageId])
      const after = yield* build(builder, session.id, "", 10_000)
      if (before._tag !== "Built" || after._tag !== "Built") return expect.fail("everything fits")
      expect(after.built.breakdown).toEqual(before.built.breakdown)
      const result = blocks(after.built.messages).find((b) => b.type === "tool_result")
      expect(result).toMatchObject({ content: tombstoneText(part, messageId), isError: false })
    }))

  it.effect("contexts longer than one read page (256 items) are read across pages, newest first", () =>
    Effect.gen(function*() {
      const messages = Array.from(
        { length: 600 },
        (_, i) => i % 2 === 0 ? userSpec(`q${i}`) : assistantSpec(`a${i}`)
      )
      const { all, builder, outcome, session } = yield* setup({ messages, compactions: [] }, "", 1_000_000)
      if (outcome._tag !== "Built") return expect.fail("everything fits")
      expect(outcome.built.items).toEqual(all)
      expect(outcome.built.messages).toHaveLength(600)
      // half the budget: a contiguous suffix that crosses the page boundary
      const half = yield* build(builder, session.sessionId, "", Math.floor(sum(all) / 2))
      if (half._tag !== "Built") return expect.fail("the newest turn fits")
      expect(half.built.items.length).toBeGreaterThan(256)
      expect(half.built.items).toEqual(all.slice(all.length - half.built.items.length))
      expect(half.built.truncated).toBe(true)
    }))

  it.effect("summaries render as user text in place of the items they replace", () =>
    Effect.gen(function*() {
      const { all, outcome } = yield* setup(
        {
          messages: [
            userSpec("one"),
            assistantSpec("two"),
            userSpec("three"),
            assistantSpec("four"),
            userSpec("five")
          ],
          compactions: [{ start: 0, length: 0.5, content: "the user counted" }]
        },
        "",
        1_000
      )
      if (outcome._tag !== "Built") return expect.fail("everything fits")
      expect(all.map((i) => i.kind)).toEqual(["summary", "message", "message"])
      const [first] = outcome.built.messages
      expect(first?.role).toBe("user")
      const text = first?.content[0]
      expect(text?.type === "text" && text.text.startsWith(`<summary id="${all[0]!.id}" depth="0"`)).toBe(
        true
      )
      expect(text?.type === "text" && text.text.includes("the user counted")).toBe(true)
      checkRoles(outcome.built.messages)
    }))
})

describe("arbitraries", () => {
  it("cover the shapes the properties are about", () => {
    const samples = FastCheck.sample(Arb.session, { numRuns: 500, seed: 42 })
    const parts = samples.flatMap((s) =>
      s.messages.flatMap((m): ReadonlyArray<Arb.UserPartSpec | Arb.AssistantPartSpec> => m.parts)
    )
    const statuses = new Set(parts.flatMap((p) => p.type === "tool" ? [p.outcome.status] : []))
    expect([...statuses].sort()).toEqual(["completed", "error", "pending", "running"])
    expect(parts.some((p) => p.type === "tool" && p.outcome.status === "completed" && p.outcome.tombstone))
      .toBe(true)
    expect(parts.some((p) => p.type === "file_ref")).toBe(true)
    expect(parts.some((p) => p.type === "reasoning" && p.signature !== undefined)).toBe(true)
    expect(samples.some((s) => s.messages[0]?.role === "assistant")).toBe(true)
    expect(samples.some((s) => s.compactions.length > 0)).toBe(true)
    expect(
      samples.some((s) =>
        s.messages.some((m) =>
          m.role === "assistant" && m.parts.length > 0 && m.parts.every((p) => p.type === "tool")
        )
      )
    ).toBe(true)
    for (const sample of samples) expect(sample.messages.length).toBeLessThanOrEqual(Arb.MAX_MESSAGES)
  })
})
