/**
 * Telemetry through real sessions (in-memory SQLite, scripted MockLlm) exported by
 * `@effect/opentelemetry` into OpenTelemetry's in-memory exporter: the turn span and the GenAI
 * `chat` spans under it, the compaction round span, errors; then the metrics a scripted session
 * leaves behind, read from Effect's metric registry.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Fiber, Layer, Metric, MetricState, TestClock } from "effect"
import { LlmRateLimited, LlmServerError } from "../../src/Errors.js"
import { makeTest } from "../../src/Layers.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import * as ModelRegistry from "../../src/ModelRegistry.js"
import * as Session from "../../src/Session.js"

const MODEL = "anthropic/claude-sonnet-4-5"

/** usable 4,000 tokens; no automatic compaction (the tests compact when they want to). */
const CONFIG = {
  compaction: { auto: false, compactionOutputBudget: 1_000 },
  session: { retry: { maxRetries: 0 } },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

/** The in-memory exporter of one test (a layer's SDK stops its exporter when the test ends). */
class Spans extends Context.Tag("test/Spans")<Spans, InMemorySpanExporter>() {}

const tracing = Layer.unwrapEffect(Effect.sync(() => {
  const exporter = new InMemorySpanExporter()
  return Layer.merge(
    NodeSdk.layer(() => ({
      resource: { serviceName: "mnesis-test" },
      spanProcessor: new SimpleSpanProcessor(exporter)
    })),
    Layer.succeed(Spans, exporter)
  )
}))

const layer = (script: ReadonlyArray<MockLlm.MockStep> = []) =>
  Layer.mergeAll(makeTest({ config: CONFIG, mock: { script } }), tracing)

/** Spans finished so far, then forgotten. */
const takeSpans = Effect.map(Spans, (exporter) => {
  const spans = [...exporter.getFinishedSpans()]
  exporter.reset()
  return spans
})

/** Forgets the spans finished so far. */
const resetSpans = Effect.map(Spans, (exporter) => exporter.reset())

const named = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((span) => span.name === name)
const childrenOf = (spans: ReadonlyArray<ReadableSpan>, parent: ReadableSpan) =>
  spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId)

const turnText = (i: number) =>
  `Turn ${i}: note that item-${i} is defined in src/module${i}/file${i}.ts. ` +
  "Some ordinary words follow here. ".repeat(12)

describe("spans", () => {
  it.effect("a turn span with the session, turn number and context, over GenAI chat spans per call", () =>
    Effect.gen(function*() {
      yield* resetSpans
      const session = yield* Session.create({ model: MODEL })
      const result = yield* session.send("What is in the file?")
      const spans = yield* takeSpans

      const [turn] = named(spans, "mnesis.turn")
      expect(turn).toBeDefined()
      expect(turn!.attributes).toMatchObject({
        "mnesis.session.id": session.id,
        "gen_ai.conversation.id": session.id,
        "mnesis.turn.number": 1,
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5",
        "mnesis.context.tokens": result.context.total,
        "mnesis.turn.steps": 2,
        "mnesis.turn.finish_reason": "stop",
        "mnesis.turn.input_tokens": result.tokens.input + result.tokens.cacheRead + result.tokens.cacheWrite,
        "mnesis.turn.output_tokens": result.tokens.output,
        "mnesis.turn.cache_read_tokens": 1_500
      })
      expect(turn!.attributes["mnesis.turn.cost.usd"]).toBeCloseTo(result.cost, 12)

      // One chat span per provider call (the tool call, then the answer), children of the turn.
      const chats = childrenOf(spans, turn!).filter((span) => span.name === "chat claude-sonnet-4-5")
      expect(chats).toHaveLength(2)
      const info = ModelRegistry.resolve(MODEL, CONFIG.modelOverrides, { at: 0 })
      for (const chat of chats) {
        expect(chat.kind).toBe(SpanKind.CLIENT)
        expect(chat.attributes).toMatchObject({
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "anthropic",
          "gen_ai.system": "anthropic",
          "gen_ai.request.model": "claude-sonnet-4-5",
          "gen_ai.request.max_tokens": info.maxOutputTokens,
          "gen_ai.response.model": "claude-sonnet-4-5",
          "gen_ai.conversation.id": session.id,
          "mnesis.purpose": "turn"
        })
      }
      const [first, last] = chats
      expect(String(first!.attributes["gen_ai.response.finish_reasons"])).toContain("tool_calls")
      expect(String(last!.attributes["gen_ai.response.finish_reasons"])).toContain("stop")
      // The scripted usage of the answer: every input token counted, cache tokens apart.
      expect(last!.attributes).toMatchObject({
        "gen_ai.usage.input_tokens": 200 + 1_500 + 300,
        "gen_ai.usage.output_tokens": 40,
        "gen_ai.usage.cache_read.input_tokens": 1_500,
        "gen_ai.usage.cache_creation.input_tokens": 300
      })
      expect(last!.attributes["mnesis.cost.usd"]).toBeCloseTo(
        ModelRegistry.costOf({ input: 200, output: 40, cacheRead: 1_500, cacheWrite: 300, total: 0 }, info),
        12
      )
      // Context assembly is a sibling of the calls, with the context's size.
      const builds = childrenOf(spans, turn!).filter((span) => span.name === "ContextBuilder.build")
      expect(builds).toHaveLength(2)
      expect(builds[1]!.attributes["mnesis.context.tokens"]).toBe(result.context.total)
    }).pipe(Effect.provide(layer([
      MockLlm.Reply.toolCalls([{ name: "read_file", input: { path: "a.ts" } }]),
      MockLlm.Reply.text("It defines one function.", {
        usage: { input: 200, output: 40, cacheRead: 1_500, cacheWrite: 300 }
      })
    ]))))

  it.effect("a failed call has error.type on its chat span and on the turn span", () =>
    Effect.gen(function*() {
      yield* resetSpans
      const session = yield* Session.create({ model: MODEL })
      const failed = yield* Effect.flip(session.send("hello"))
      expect(failed._tag).toBe("LlmRateLimited")
      const spans = yield* takeSpans
      const [chat] = named(spans, "chat claude-sonnet-4-5")
      expect(chat!.attributes["error.type"]).toBe("LlmRateLimited")
      expect(chat!.status.code).toBe(SpanStatusCode.ERROR)
      const [turn] = named(spans, "mnesis.turn")
      expect(turn!.attributes["error.type"]).toBe("LlmRateLimited")
    }).pipe(Effect.provide(layer([
      MockLlm.Reply.fail(new LlmRateLimited({ provider: "anthropic", detail: "slow down" }))
    ]))))

  it.effect("a compaction round span with its level, tokens before and after, over the summariser's chat span", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      for (let i = 0; i < 12; i++) yield* session.send(turnText(i))
      yield* resetSpans
      const result = yield* session.compact()
      expect(result.compacted).toBe(true)
      const spans = yield* takeSpans

      const rounds = named(spans, "mnesis.compaction.round")
      const committed = rounds.filter((span) => span.attributes["mnesis.compaction.outcome"] === "committed")
      expect(committed.length).toBe(result.rounds)
      const first = committed[0]!
      expect(first.attributes).toMatchObject({
        "mnesis.session.id": session.id,
        "mnesis.compaction.kind": "leaf",
        "mnesis.compaction.level": 1,
        "mnesis.compaction.depth": 0,
        "mnesis.compaction.tokens_before": result.tokensBefore
      })
      expect(Number(first.attributes["mnesis.compaction.tokens_after"])).toBeLessThan(result.tokensBefore)
      const summariser = spans.filter((span) =>
        span.name === "chat claude-sonnet-4-5" && span.attributes["mnesis.purpose"] === "compaction"
      )
      expect(summariser.length).toBeGreaterThanOrEqual(1)
      // The summariser's call sits under the round (through the round's own inner spans).
      const ids = new Set(spans.map((span) => span.spanContext().spanId))
      const ancestors = (span: ReadableSpan): Array<string> => {
        const parent = span.parentSpanContext?.spanId
        if (parent === undefined || !ids.has(parent)) return []
        return [parent, ...ancestors(spans.find((s) => s.spanContext().spanId === parent)!)]
      }
      expect(ancestors(summariser[0]!)).toContain(first.spanContext().spanId)
      // The whole run says what it did.
      const [run] = named(spans, "Compactor.run")
      expect(run!.attributes).toMatchObject({
        "mnesis.compaction.tokens_before": result.tokensBefore,
        "mnesis.compaction.tokens_after": result.tokensAfter,
        "mnesis.compaction.rounds": result.rounds,
        "mnesis.compaction.level": result.level
      })
    }).pipe(Effect.provide(layer())))
})

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/** The metrics named `name` whose tags include `tags` (any order, other tags allowed). */
const pairs = (name: string, tags: Readonly<Record<string, string>>) =>
  Effect.map(Metric.snapshot, (all) =>
    all.filter((pair) =>
      pair.metricKey.name === name &&
      Object.entries(tags).every(([key, value]) =>
        pair.metricKey.tags.some((tag) => tag.key === key && tag.value === value)
      )
    ))

const counter = (name: string, tags: Readonly<Record<string, string>> = {}) =>
  Effect.map(pairs(name, tags), (found) =>
    found.reduce(
      (sum, pair) =>
        sum + (MetricState.isCounterState(pair.metricState) ? Number(pair.metricState.count) : 0),
      0
    ))

const histogram = (name: string, tags: Readonly<Record<string, string>> = {}) =>
  Effect.map(pairs(name, tags), (found) =>
    found.reduce(
      (acc, pair) =>
        MetricState.isHistogramState(pair.metricState)
          ? { count: acc.count + pair.metricState.count, sum: acc.sum + pair.metricState.sum }
          : acc,
      { count: 0, sum: 0 }
    ))

describe("metrics after a scripted session", () => {
  it.effect("tokens by kind, cost, turn latency, context size, rounds by level and outcome, grep latency", () =>
    Effect.gen(function*() {
      const turn = { "mnesis.purpose": "turn", "gen_ai.request.model": "claude-sonnet-4-5" }
      const before = {
        input: yield* counter("mnesis.llm.tokens", { ...turn, "mnesis.token.kind": "input" }),
        output: yield* counter("mnesis.llm.tokens", { ...turn, "mnesis.token.kind": "output" }),
        cacheRead: yield* counter("mnesis.llm.tokens", { ...turn, "mnesis.token.kind": "cache_read" }),
        cacheWrite: yield* counter("mnesis.llm.tokens", { ...turn, "mnesis.token.kind": "cache_write" }),
        cost: yield* counter("mnesis.llm.cost", turn),
        turns: yield* histogram("mnesis.turn.duration", { "mnesis.outcome": "ok" }),
        context: yield* histogram("mnesis.context.tokens"),
        level1: yield* counter("mnesis.compaction.rounds", {
          "mnesis.compaction.level": "1",
          "mnesis.compaction.outcome": "committed"
        }),
        grep: yield* histogram("mnesis.memory.grep.duration"),
        calls: yield* histogram("gen_ai.client.operation.duration", {
          "gen_ai.request.model": "claude-sonnet-4-5"
        })
      }

      const control = yield* MockLlm.MockLlmControl
      const session = yield* Session.create({ model: MODEL })
      // A slow first answer: the turn's latency is what the (test) clock says it took.
      yield* control.enqueue(
        MockLlm.Reply.text("slow", {
          latency: "3 seconds",
          usage: { input: 100, output: 10, cacheRead: 50 }
        }),
        MockLlm.Reply.text("cached", { usage: { input: 20, output: 5, cacheRead: 900, cacheWrite: 70 } })
      )
      const slow = yield* Effect.fork(session.send("first"))
      yield* Effect.repeatN(Effect.yieldNow(), 50)
      yield* TestClock.adjust("3 seconds")
      const results = [yield* Fiber.join(slow), yield* session.send("second")]
      for (let i = 0; i < 10; i++) results.push(yield* session.send(turnText(i)))
      const compaction = yield* session.compact()
      yield* session.grep({ pattern: "item-3" })

      const sum = (f: (r: Session.TurnResult) => number) => results.reduce((acc, r) => acc + f(r), 0)
      expect((yield* counter("mnesis.llm.tokens", { ...turn, "mnesis.token.kind": "input" })) - before.input)
        .toBe(sum((r) => r.tokens.input))
      expect(
        (yield* counter("mnesis.llm.tokens", { ...turn, "mnesis.token.kind": "output" })) - before.output
      )
        .toBe(sum((r) => r.tokens.output))
      expect(
        (yield* counter("mnesis.llm.tokens", { ...turn, "mnesis.token.kind": "cache_read" })) -
          before.cacheRead
      ).toBe(950)
      expect(
        (yield* counter("mnesis.llm.tokens", { ...turn, "mnesis.token.kind": "cache_write" })) -
          before.cacheWrite
      ).toBe(70)
      // The cost metric is the cost the turns recorded.
      expect((yield* counter("mnesis.llm.cost", turn)) - before.cost).toBeCloseTo(sum((r) => r.cost), 12)
      expect(sum((r) => r.cost)).toBeGreaterThan(0)

      const turns = yield* histogram("mnesis.turn.duration", { "mnesis.outcome": "ok" })
      expect(turns.count - before.turns.count).toBe(results.length)
      expect(turns.sum - before.turns.sum).toBeCloseTo(3, 9)
      const context = yield* histogram("mnesis.context.tokens")
      expect(context.count - before.context.count).toBe(results.length)
      expect(context.sum - before.context.sum).toBe(sum((r) => r.context.total))
      const calls = yield* histogram("gen_ai.client.operation.duration", {
        "gen_ai.request.model": "claude-sonnet-4-5"
      })
      // Every turn's call and every summariser call (the compaction model is the session's).
      expect(calls.count - before.calls.count).toBeGreaterThan(results.length)

      expect(compaction.rounds).toBeGreaterThan(0)
      expect(compaction.level).toBe(1)
      const level1 = yield* counter("mnesis.compaction.rounds", {
        "mnesis.compaction.level": "1",
        "mnesis.compaction.outcome": "committed"
      })
      expect(level1 - before.level1).toBe(compaction.rounds)
      expect((yield* histogram("mnesis.memory.grep.duration")).count - before.grep.count).toBe(1)
    }).pipe(Effect.provide(layer())))

  it.effect("a round whose summariser fails at every model level is counted at level 3", () =>
    Effect.gen(function*() {
      const level3 = { "mnesis.compaction.level": "3", "mnesis.compaction.outcome": "committed" }
      const before = yield* counter("mnesis.compaction.rounds", level3)
      const control = yield* MockLlm.MockLlmControl
      const session = yield* Session.create({ model: MODEL })
      for (let i = 0; i < 12; i++) yield* session.send(turnText(i))
      const down = () =>
        MockLlm.Reply.fail(new LlmServerError({ provider: "mock", detail: "down", status: 500 }))
      yield* control.enqueueSummaries(...Array.from({ length: 20 }, down))
      const result = yield* session.compact()
      expect(result.level).toBe(3)
      expect((yield* counter("mnesis.compaction.rounds", level3)) - before).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(layer())))
})
