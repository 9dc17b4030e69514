/**
 * The compaction engine through real sessions (in-memory SQLite, scripted MockLlm): triggering on
 * the active context, one round at a time, the sawtooth, waiting at the hard threshold, joining,
 * honest results, pruning, failures, and the summary DAG's invariants.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Either, Fiber, Layer, Logger, Option, Ref, TestClock } from "effect"
import * as Compactor from "../src/Compactor.js"
import { makeBudget, makeConfig } from "../src/Config.js"
import * as ContextBuilder from "../src/ContextBuilder.js"
import type { CompactionResult } from "../src/Domain.js"
import { LlmServerError, StorageError } from "../src/Errors.js"
import type { MnesisEvent } from "../src/Events.js"
import type { TestOptions } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import type { LlmRequest } from "../src/LlmProvider.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as Session from "../src/Session.js"
import * as Storage from "../src/Storage.js"
import { countTokens } from "../src/Tokenizer.js"
import { adjustUntilDone, makeTest, settle, testStore } from "./support/backend.js"
import { checkDag } from "./support/dag.js"
import { yieldToEventLoop } from "./support/eventLoop.js"
import { append, createSession } from "./support/storage.js"

/** usable 4,000 tokens: soft threshold 2,400, hard 4,000. */
const SMALL = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const
const SOFT = 2_400
const HARD = 4_000

/** usable 18,000 tokens (soft 10,800): summaries small next to the budget, as with real models. */
const MEDIUM = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 20_000, maxOutputTokens: 1_000 }
} as const

const layer = (options: TestOptions = {}) => makeTest({ config: SMALL, ...options })

const openSmall = (config: Session.OpenOptions["config"] = {}) =>
  Session.create({ model: "mock/small", config })

const collectEvents = (session: Session.Session) =>
  Effect.gen(function*() {
    const events = yield* Ref.make<ReadonlyArray<MnesisEvent>>([])
    yield* session.subscribe("*", (event) => Ref.update(events, (all) => [...all, event]))
    return {
      all: Ref.get(events),
      count: (tag: MnesisEvent["_tag"]) =>
        Effect.map(Ref.get(events), (all) => all.filter((e) => e._tag === tag).length)
    }
  })

const turnText = (i: number) =>
  `Turn ${i}: note that item-${i} is defined in src/module${i}/file${i}.ts. ` +
  "Some ordinary words follow here. ".repeat(12)

/** A summariser that answers only after `latency`: rounds stay in flight until the clock moves. */
const slowSummaries = (latency: Duration.DurationInput) => (request: LlmRequest) =>
  MockLlm.Reply.text(
    Option.match(MockLlm.summaryRequestOf(request), {
      onNone: () => "",
      onSome: ({ level, transcript }) => MockLlm.defaultSummary(request, transcript, level)
    }),
    { latency }
  )

describe("triggering", () => {
  it.effect("no round starts below the soft threshold", () =>
    Effect.gen(function*() {
      const session = yield* openSmall()
      const events = yield* collectEvents(session)
      for (let i = 0; i < 5; i++) {
        const result = yield* session.send(`short turn ${i}`)
        expect(result.compactionTriggered).toBe(false)
      }
      yield* settle
      const last = (yield* session.history()).at(-1)!
      expect(last.context.total).toBeLessThan(SOFT)
      expect(yield* events.count("CompactionTriggered")).toBe(0)
      expect(yield* session.compactionInProgress).toBe(false)
    }).pipe(Effect.provide(layer())))

  it.effect("one round in flight however many turns pass while it runs; it ends with CompactionCompleted", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(...Array.from({ length: 10 }, () => slowSummaries("1 minute")))
      const session = yield* openSmall()
      const events = yield* collectEvents(session)
      let i = 0
      let triggered = false
      while (!triggered) triggered = (yield* session.send(turnText(i++))).compactionTriggered
      expect(yield* session.compactionInProgress).toBe(true)
      for (let extra = 0; extra < 5; extra++) {
        const result = yield* session.send(`small ${extra}`)
        expect(result.compactionTriggered).toBe(false)
      }
      yield* settle
      expect(yield* events.count("CompactionTriggered")).toBe(1)
      const waiting = yield* Effect.fork(session.awaitCompaction)
      yield* TestClock.adjust("5 minutes")
      const awaited = yield* Fiber.join(waiting)
      expect(awaited._tag === "Some" && awaited.value.compacted).toBe(true)
      expect(yield* session.compactionInProgress).toBe(false)
      expect(yield* session.awaitCompaction).toEqual(Option.none())
      yield* settle
      expect(yield* events.count("CompactionCompleted")).toBe(1)
      const completed = (yield* events.all).find((e) => e._tag === "CompactionCompleted")
      expect(completed?._tag === "CompactionCompleted" && completed.result.compacted).toBe(true)
    }).pipe(Effect.provide(layer())))

  it.effect("a round that finishes while the model answers is not followed by a futile one", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(...Array.from({ length: 10 }, () => slowSummaries("1 second")))
      const session = yield* openSmall()
      const events = yield* collectEvents(session)
      let i = 0
      let triggered = false
      while (!triggered) triggered = (yield* session.send(turnText(i++))).compactionTriggered
      expect(yield* session.compactionInProgress).toBe(true)
      // The next turn is assembled while the round runs; the round commits while the model answers.
      yield* control.enqueue(MockLlm.Reply.text("a slow answer", { latency: "2 seconds" }))
      const next = yield* Effect.fork(session.send("one more question"))
      yield* settle
      yield* TestClock.adjust("5 seconds")
      const result = yield* Fiber.join(next)
      yield* settle
      // The size the turn was assembled at is stale: measured again, it is below the threshold.
      expect(result.compactionTriggered).toBe(false)
      expect(yield* events.count("CompactionTriggered")).toBe(1)
      const completed = (yield* events.all).filter((e) => e._tag === "CompactionCompleted")
      expect(completed.map((e) => e._tag === "CompactionCompleted" && e.result.compacted)).toEqual([true])
    }).pipe(Effect.provide(layer())))

  it.effect("at the hard threshold a send waits for compaction and reports what it waited for", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(...Array.from({ length: 10 }, () => slowSummaries("1 minute")))
      const session = yield* openSmall()
      // fill the context up to the hard threshold while the soft round is stuck in flight
      let i = 0
      for (;;) {
        const fiber = yield* Effect.fork(session.send(turnText(i++)))
        yield* settle
        const done = yield* Fiber.poll(fiber)
        if (done._tag === "None") {
          // this send is waiting: the context is at or above the hard threshold
          const before = (yield* session.history()).at(-1)!.context.total
          expect(before + 200).toBeGreaterThan(HARD)
          const result = yield* adjustUntilDone(fiber, "10 minutes")
          expect(result.compactionResult?.compacted).toBe(true)
          const request = (yield* control.requests).filter((r) => !MockLlm.isSummaryRequest(r)).at(-1)!
          expect(countTokens(MockLlm.requestText(request))).toBeLessThan(HARD)
          break
        }
        expect((yield* Fiber.join(fiber)).compactionResult).toBeUndefined()
        expect(i).toBeLessThan(60)
      }
    }).pipe(Effect.provide(layer())))

  it.effect("compact() during a background round joins it instead of starting another", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(...Array.from({ length: 10 }, () => slowSummaries("1 minute")))
      const session = yield* openSmall()
      const events = yield* collectEvents(session)
      let i = 0
      while (!(yield* session.send(turnText(i++))).compactionTriggered) {
        expect(i).toBeLessThan(60)
      }
      const manual = yield* Effect.fork(session.compact())
      yield* settle
      yield* TestClock.adjust("10 minutes")
      const result = yield* Fiber.join(manual)
      yield* settle
      expect(result.compacted).toBe(true)
      expect(yield* events.count("CompactionTriggered")).toBe(1)
      const completed = (yield* events.all).filter((e) => e._tag === "CompactionCompleted")
      expect(completed.length).toBe(1)
      expect(completed[0]?._tag === "CompactionCompleted" && completed[0].result.summaryId).toBe(
        result.summaryId
      )
    }).pipe(Effect.provide(layer())))

  it.effect("auto: false never compacts on its own; compact() still does", () =>
    Effect.gen(function*() {
      const session = yield* openSmall({ compaction: { auto: false } })
      for (let i = 0; i < 30; i++) expect((yield* session.send(turnText(i))).compactionTriggered).toBe(false)
      expect((yield* session.contextForNextTurn()).truncated).toBe(true)
      const result = yield* session.compact()
      expect(result.compacted).toBe(true)
      expect(result.tokensAfter).toBeLessThan(result.tokensBefore)
    }).pipe(Effect.provide(layer())))

  it.effect("compact() with nothing to do says so: compacted false and zero counts", () =>
    Effect.gen(function*() {
      const session = yield* openSmall()
      yield* session.send("hello")
      const result = yield* session.compact()
      expect(result).toMatchObject({
        compacted: false,
        rounds: 0,
        level: 0,
        messagesCovered: 0,
        pruned: { count: 0, tokens: 0 }
      })
      expect(result.tokensAfter).toBe(result.tokensBefore)
    }).pipe(Effect.provide(layer())))
})

describe("the sawtooth", () => {
  it.live(
    "200 turns past the soft threshold stay under the hard one, with far fewer rounds than turns",
    () =>
      Effect.gen(function*() {
        const session = yield* Session.create({ model: "mock/medium", config: MEDIUM })
        const rounds = yield* Ref.make(0)
        const freed = yield* Ref.make(0)
        const futile = yield* Ref.make(0)
        yield* session.subscribe("CompactionCompleted", (event) =>
          Effect.all([
            Ref.update(rounds, (n) => n + event.result.rounds),
            Ref.update(freed, (n) => n + Math.max(0, event.result.tokensBefore - event.result.tokensAfter)),
            Ref.update(futile, (n) => event.result.compacted ? n : n + 1)
          ]))
        const totals: Array<number> = []
        let added = 0
        for (let i = 0; i < 200; i++) {
          const before = (yield* session.history()).at(-1)?.context.total ?? 0
          yield* session.send(turnText(i))
          const after = (yield* session.history()).at(-1)!.context.total
          added += Math.max(0, after - before)
          totals.push(after)
          yield* Effect.sleep("2 millis")
        }
        yield* Effect.sleep("100 millis")
        const max = Math.max(...totals)
        const n = yield* Ref.get(rounds)
        expect(max).toBeLessThanOrEqual(18_000)
        expect(Math.min(...totals.slice(100))).toBeLessThan(10_800)
        expect(n).toBeGreaterThan(0)
        expect(n).toBeLessThan(200 / 3)
        // no round started on a stale size (one a finished round had already brought down)
        expect(yield* Ref.get(futile)).toBe(0)
        const perRound = (yield* Ref.get(freed)) / n
        const predicted = (200 * (added / 200)) / perRound
        expect(n).toBeGreaterThan(predicted * 0.3)
        expect(n).toBeLessThan(predicted * 3)
        const dag = yield* checkDag(session.id)
        expect(dag.problems).toEqual([])
        expect(dag.messages).toBe(400)
      }).pipe(Effect.provide(layer())),
    { timeout: 60_000 }
  )
})

describe("the summary DAG", () => {
  it.effect(
    "condensation raises depth; every message stays reachable exactly once; superseded nodes leave the context",
    () =>
      Effect.gen(function*() {
        const session = yield* openSmall({ compaction: { condenseFanout: 2 } })
        const store = yield* Storage.Storage
        for (let i = 0; i < 120; i++) {
          yield* yieldToEventLoop
          yield* session.send(turnText(i))
          yield* settle
        }
        yield* session.compact()
        const dag = yield* checkDag(session.id)
        expect(dag.problems).toEqual([])
        expect(dag.maxDepth).toBeGreaterThanOrEqual(2)
        const nodes = yield* store.sessionSummaries(session.id)
        const superseded = new Set(
          nodes.filter((n) => n.supersededBy !== undefined).map((n) => n.id as string)
        )
        expect(superseded.size).toBeGreaterThan(0)
        const items = yield* store.contextItems(session.id)
        expect(items.some((i) => superseded.has(i.id))).toBe(false)
        for (const node of nodes.filter((n) => n.kind === "condensed")) {
          const parents = nodes.filter((p) => node.parents.includes(p.id))
          expect(parents.every((p) => p.depth === node.depth - 1)).toBe(true)
          expect(node.messageCount).toBe(parents.reduce((sum, p) => sum + p.messageCount, 0))
        }
      }).pipe(Effect.provide(layer())),
    { timeout: 60_000 }
  )

  it.effect(
    "file ids of covered messages reach every summary's footer, at every depth",
    () =>
      Effect.gen(function*() {
        const session = yield* Session.create({
          model: "mock/medium",
          config: { ...MEDIUM, compaction: { ...MEDIUM.compaction, condenseFanout: 2 } }
        })
        const store = yield* Storage.Storage
        const planted: Array<string> = []
        for (let i = 0; i < 150; i++) {
          yield* yieldToEventLoop
          const id = `file_${i.toString(16).padStart(2, "0").repeat(32)}`
          planted.push(id)
          yield* session.send(`${turnText(i)} The config is stored as ${id}.`)
          yield* settle
        }
        yield* session.compact()
        const nodes = yield* store.sessionSummaries(session.id)
        const context = yield* session.contextForNextTurn()
        const rendered = JSON.stringify(context.messages)
        expect((yield* checkDag(session.id)).problems).toEqual([])
        expect(context.truncated).toBe(false)
        // every planted id outside the fresh messages appears in some active summary footer
        const inContextText = planted.filter((id) => rendered.includes(id))
        expect(inContextText.length).toBe(planted.length)
        expect(nodes.some((n) => n.depth >= 1 && n.fileIds.length > 0)).toBe(true)
      }).pipe(Effect.provide(layer())),
    { timeout: 60_000 }
  )
})

describe("convergence", () => {
  it.effect(
    "even a tight budget with growing file-id footers never leaves the active context truncated",
    () =>
      Effect.gen(function*() {
        const session = yield* openSmall({ compaction: { condenseFanout: 2 } })
        for (let i = 0; i < 60; i++) {
          yield* yieldToEventLoop
          const id = `file_${i.toString(16).padStart(2, "0").repeat(32)}`
          yield* session.send(`${turnText(i)} The config is stored as ${id}.`)
          yield* settle
          const context = yield* session.contextForNextTurn()
          expect(context.truncated).toBe(false)
          expect(context.breakdown.total).toBeLessThanOrEqual(HARD)
        }
        expect((yield* checkDag(session.id)).problems).toEqual([])
      }).pipe(Effect.provide(layer())),
    { timeout: 60_000 }
  )
})

describe("escalation through a session", () => {
  const fill = (session: Session.Session) =>
    Effect.gen(function*() {
      for (let i = 0; i < 12; i++) yield* session.send(turnText(i))
    })

  const levelOf = (result: CompactionResult) => result.level

  it.effect("a level-1 error falls to level 2", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      const session = yield* openSmall({ compaction: { auto: false } })
      yield* fill(session)
      yield* control.enqueueSummaries(
        MockLlm.Reply.fail(new LlmServerError({ provider: "mock", detail: "summariser down", status: 500 }))
      )
      expect(levelOf(yield* session.compact())).toBe(2)
    }).pipe(Effect.provide(layer())))

  it.effect("levels 1 and 2 returning more than their input fall to level 3", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      const session = yield* openSmall({ compaction: { auto: false } })
      yield* fill(session)
      const long = "padding ".repeat(20_000)
      yield* control.enqueueSummaries(MockLlm.Reply.text(long), MockLlm.Reply.text(long))
      const result = yield* session.compact()
      expect(result.level).toBe(3)
      const [node] = yield* Effect.flatMap(Storage.Storage, (s) => s.summaries([result.summaryId!]))
      expect(countTokens(node!.content)).toBeLessThanOrEqual(512)
    }).pipe(Effect.provide(layer())))

  it.effect("a level-1 call past roundTimeout falls to level 2", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      const session = yield* openSmall({ compaction: { auto: false, roundTimeout: "30 seconds" } })
      yield* fill(session)
      yield* control.enqueueSummaries(MockLlm.Reply.text("late", { latency: "10 minutes" }))
      const fiber = yield* Effect.fork(session.compact())
      yield* settle
      yield* TestClock.adjust("31 seconds")
      expect((yield* Fiber.join(fiber)).level).toBe(2)
    }).pipe(Effect.provide(layer())))
})

describe("failures", () => {
  it.effect("a round that fails to commit publishes CompactionFailed, changes nothing, and the session goes on", () =>
    Effect.gen(function*() {
      const session = yield* openSmall({ compaction: { auto: false, prune: false } })
      const store = yield* Storage.Storage
      const events = yield* collectEvents(session)
      for (let i = 0; i < 12; i++) yield* session.send(turnText(i))
      const before = yield* store.contextItems(session.id)
      const result = yield* session.compact()
      yield* settle
      expect(result.compacted).toBe(false)
      expect(yield* events.count("CompactionFailed")).toBe(1)
      expect(yield* store.contextItems(session.id)).toEqual(before)
      expect(yield* store.sessionSummaries(session.id)).toEqual([])
      expect((yield* session.send("still alive?")).text).toContain("still alive?")
    }).pipe(Effect.provide(layer({
      storage: testStore({
        onCompactionStep: (step) =>
          step === "swap"
            ? Effect.fail(new StorageError({ operation: "test", reason: "disk on fire" }))
            : Effect.void
      })
    }))))
})

/**
 * A compactor handle on a fresh stored session, with the events it publishes collected; the
 * context is measured by `contextSize` when given (e.g. a failing one), else by the builder.
 */
const directHandle = (
  options: {
    readonly contextSize?: Effect.Effect<number, Storage.StoreFailure>
    readonly compactor?: Compactor.Service
  } = {}
) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const config = yield* makeConfig(SMALL)
    const model = yield* ModelRegistry.lookup("mock/small", config.modelOverrides)
    const budget = yield* makeBudget(model, config)
    const session = yield* createSession({ model: "mock/small" })
    const builder = yield* ContextBuilder.make
    const ref = { store, sessionId: session.id }
    const events: Array<MnesisEvent> = []
    const compactor = options.compactor ?? (yield* Compactor.make)
    const handle = yield* compactor.forSession({
      sessionId: session.id,
      agent: "default",
      model,
      config,
      budget,
      contextSize: options.contextSize ?? builder.size(ref),
      contextItems: builder.items(ref),
      store,
      count: countTokens,
      publish: (event) => Effect.sync(() => events.push(event)),
      invalidate: (ids) => builder.invalidate(ref, ids),
      messages: (ids) => builder.messages(ref, ids, countTokens)
    })
    const tags = () => events.map((event) => event._tag)
    return { handle, events, tags, sessionId: session.id }
  })

const unreadable = Effect.fail(new StorageError({ operation: "contextSince", reason: "disk gone" }))
const directLayer = testStore().pipe(Layer.merge(MockLlm.layer()))

describe("a context that cannot be measured", () => {
  it.scoped("beforeTurn fails the turn with the store's error instead of skipping the hard-threshold wait", () =>
    Effect.gen(function*() {
      const { handle, tags } = yield* directHandle({ contextSize: unreadable })
      const outcome = yield* Effect.either(handle.beforeTurn)
      expect(Either.isLeft(outcome) && outcome.left._tag).toBe("StorageError")
      expect(Either.isLeft(outcome) && outcome.left.message).toContain("disk gone")
      expect(tags()).toEqual([])
    }).pipe(Effect.provide(directLayer)))

  it.scoped("afterTurn reports the failure as CompactionFailed and starts no round", () =>
    Effect.gen(function*() {
      const { events, handle, tags } = yield* directHandle({ contextSize: unreadable })
      expect(yield* handle.afterTurn()).toBe(false)
      expect(tags()).toEqual(["CompactionFailed"])
      const failed = events[0]
      expect(failed?._tag === "CompactionFailed" && failed.error).toContain("measuring the context")
      expect(failed?._tag === "CompactionFailed" && failed.error).toContain("disk gone")
      expect(yield* handle.inProgress).toBe(false)
    }).pipe(Effect.provide(directLayer)))

  it.scoped("compact() reports CompactionFailed, never a CompactionTriggered of a made-up 0 tokens", () =>
    Effect.gen(function*() {
      const { handle, tags } = yield* directHandle({ contextSize: unreadable })
      const result = yield* handle.compact
      expect(result.compacted).toBe(false)
      expect(tags()).toEqual(["CompactionFailed"])
    }).pipe(Effect.provide(directLayer)))

  it.scoped("the disabled compactor's compact() reports the failure too", () =>
    Effect.gen(function*() {
      const disabled = yield* Effect.provide(Compactor.Compactor, Compactor.layerDisabled)
      const { events, handle } = yield* directHandle({ contextSize: unreadable, compactor: disabled })
      expect((yield* handle.compact).compacted).toBe(false)
      const failed = events[0]
      expect(failed?._tag === "CompactionFailed" && failed.error).toContain("disk gone")
    }).pipe(Effect.provide(directLayer)))

  it.scoped("a round interrupted by shutdown says so in the log", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ logLevel, message }) => logs.push(`${logLevel.label} ${String(message)}`))
      )
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(slowSummaries("1 hour"))
      const { handle, sessionId } = yield* directHandle()
      for (let i = 0; i < 12; i++) yield* append(sessionId, i % 2 === 0 ? "user" : "assistant", turnText(i))
      const compacting = yield* Effect.fork(handle.compact)
      yield* settle
      expect(yield* handle.inProgress).toBe(true)
      const closing = yield* Effect.fork(Effect.provide(handle.shutdown("1 second"), capture))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(closing)
      yield* Fiber.await(compacting)
      expect(logs.some((line) => line.startsWith("WARN") && line.includes("interrupted"))).toBe(true)
    }).pipe(Effect.provide(directLayer)))
})
