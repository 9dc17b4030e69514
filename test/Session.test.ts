/**
 * Sessions as users meet them: every snippet of the seed's getting-started page in Effect, then
 * the behaviours the session issue promises (live streaming, isolation of callbacks, failures that
 * never reach a context, interruption, serialised turns, events).
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer, Option, Ref, Stream, TestClock } from "effect"
import { TokenUsage } from "../src/Domain.js"
import { LlmOverloaded, LlmRateLimited } from "../src/Errors.js"
import type { MnesisEvent } from "../src/Events.js"
import { makeLive } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import type { LlmRequest } from "../src/LlmProvider.js"
import * as Session from "../src/Session.js"
import { makeTest, MnesisTest, settle, sharedDatabase } from "./support/backend.js"
import { tempDbPath } from "./support/storage.js"

const MODEL = "anthropic/claude-opus-4-6"

/** A 4K window: room for ~2K tokens of context once output and compaction budgets are set aside. */
const SMALL_WINDOW = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 4_000, maxOutputTokens: 1_000 }
} as const

/** All text sent to the model in a request. */
const sentText = (request: LlmRequest | undefined): string =>
  (request?.messages ?? []).flatMap((m) =>
    m.content.map((b) => b.type === "text" ? b.text : b.type === "tool_result" ? b.content : "")
  ).join("\n")

const lastRequest = Effect.flatMap(
  MockLlm.MockLlmControl,
  (control) => Effect.map(control.requests, (all) => all[all.length - 1])
)

describe("getting started (the seed, in Effect)", () => {
  it.effect("your first session: open, send, read usage", () =>
    Effect.scoped(Effect.gen(function*() {
      const session = yield* Session.open({ model: MODEL, systemPrompt: "You are a helpful assistant." })
      const result = yield* session.send("Explain the GIL in Python.")
      expect(result.text).toContain("Explain the GIL in Python.")
      expect(TokenUsage.effectiveTotal(result.tokens)).toBeGreaterThan(0)
      expect(result.finishReason).toBe("stop")
      // the turn reports the context it sent: the system prompt and the user's message
      expect(result.context.system).toBeGreaterThan(0)
      expect(result.context.messages).toBeGreaterThan(0)
      expect(result.context.total).toBe((yield* session.history()).at(-1)?.context.total)
      expect(session.id).toMatch(/^sess_/)
      const request = yield* lastRequest
      expect(request?.system[0]?.text).toBe("You are a helpful assistant.")
    })).pipe(Effect.provide(MnesisTest)))

  it.effect("manual lifecycle: create, send, close (twice is fine), and no turn after close", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const result = yield* session.send("Explain the GIL in Python.")
      expect(result.text.length).toBeGreaterThan(0)
      yield* session.close
      yield* session.close
      const error = yield* Effect.flip(session.send("again"))
      expect(error).toMatchObject({ _tag: "SessionIsClosed", sessionId: session.id })
    }).pipe(Effect.provide(MnesisTest)))

  it.scoped("after close every call that reads the store says the session is closed", () =>
    Effect.gen(function*() {
      // a session with its own database: closing it closes that store too
      const database = yield* sharedDatabase
      const session = yield* Session.create({
        model: MODEL,
        storage: database.layer()
      })
      yield* session.send("hello")
      yield* session.close
      const calls: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
        session.history(),
        session.messages(),
        session.grep({ pattern: "hello" }),
        session.describe({ id: session.id }),
        session.expand({ id: "sum_00000000000000000000000000" }),
        session.compact(),
        session.contextForNextTurn(),
        session.record({ user: "u", assistant: "a" })
      ]
      for (const call of calls) {
        expect(yield* Effect.flip(call)).toMatchObject({ _tag: "SessionIsClosed", sessionId: session.id })
      }
    }).pipe(Effect.provide(MnesisTest)))

  it.scoped("try it without an API key: MnesisLive with MNESIS_MOCK_LLM=1", () =>
    Effect.gen(function*() {
      const dbPath = yield* tempDbPath
      const env = ConfigProvider.fromMap(new Map([["MNESIS_MOCK_LLM", "1"], ["MNESIS_DB_PATH", dbPath]]))
      const live = makeLive().pipe(Layer.provide(Layer.setConfigProvider(env)))
      const text = yield* Effect.scoped(Effect.gen(function*() {
        const session = yield* Session.open({ model: MODEL })
        return (yield* session.send("Hello from the mock")).text
      })).pipe(Effect.provide(live))
      expect(text).toContain("[mock reply]")
    }))

  it.effect("multi-turn: the model is sent the earlier turns", () =>
    Effect.scoped(Effect.gen(function*() {
      const session = yield* Session.open({ model: MODEL })
      yield* session.send("My name is Alice.")
      yield* session.send("What's my name?")
      const sent = sentText(yield* lastRequest)
      expect(sent).toContain("My name is Alice.")
      expect(sent).toContain("What's my name?")
      yield* session.send("Write a poem about context management.")
      const third = yield* lastRequest
      expect(third?.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user"])
    })).pipe(Effect.provide(MnesisTest)))

  it.scoped("resuming a session by id after closing: prompt, history and usage come back", () =>
    Effect.gen(function*() {
      const database = yield* sharedDatabase
      const layer = makeTest()
      const first = yield* Effect.gen(function*() {
        const session = yield* Session.create({
          model: MODEL,
          systemPrompt: "Keep secrets.",
          storage: database.layer()
        })
        yield* session.send("Remember: the secret code is 42.")
        const usage = yield* session.tokenUsage
        yield* session.close
        return { id: session.id, usage }
      }).pipe(Effect.provide(layer))
      // a fresh layer: nothing in memory survives, only the database
      const resumed = yield* Effect.gen(function*() {
        const session = yield* Session.load(first.id, { storage: database.layer() })
        const restoredUsage = yield* session.tokenUsage
        const restoredHistory = yield* session.history()
        expect(session.systemPrompt).toBe("Keep secrets.")
        const result = yield* session.send("What was the secret code?")
        const request = yield* lastRequest
        const messages = yield* session.messages()
        yield* session.close
        return { session, restoredUsage, restoredHistory, result, request, messages }
      }).pipe(Effect.provide(makeTest()))
      expect(resumed.session.model).toBe(MODEL)
      expect(resumed.restoredUsage).toEqual(first.usage)
      expect(resumed.restoredHistory.length).toBe(1)
      expect(resumed.request?.system[0]?.text).toBe("Keep secrets.")
      expect(sentText(resumed.request)).toContain("the secret code is 42")
      expect(resumed.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"])
    }))

  it.scoped("two handles on one session both finish their turns, numbered by the store", () =>
    Effect.gen(function*() {
      const database = yield* sharedDatabase
      const first = yield* Session.create({ model: MODEL, storage: database.layer() })
      const second = yield* Session.load(first.id, { storage: database.layer() })
      yield* first.send("from the first handle")
      yield* second.send("from the second handle")
      yield* second.record({ user: "recorded", assistant: "noted" })
      yield* first.send("the first again")
      const history = yield* second.history()
      expect(history.map((snapshot) => snapshot.turn)).toEqual([1, 2, 3, 4])
      expect(yield* first.history()).toEqual(history)
      yield* first.close
      yield* second.close
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("monitoring: compactionTriggered on the result, and subscribe to events", () =>
    Effect.scoped(Effect.gen(function*() {
      const session = yield* Session.open({ model: MODEL })
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      yield* session.subscribe("*", (event) => Ref.update(seen, (all) => [...all, event._tag]))
      const result = yield* session.send("hello")
      expect(result.compactionTriggered).toBe(false)
      yield* session.close
      const tags = yield* Ref.get(seen)
      expect(tags).toEqual(["SessionCreated", "MessageCreated", "MessageCreated", "SessionClosed"])
    })).pipe(Effect.provide(MnesisTest)))
})

describe("Session", () => {
  it.effect("Session.load of an unknown id fails with SessionNotFound", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Session.load("sess_01J00000000000000000000000"))
      expect(error._tag).toBe("SessionNotFound")
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("Session.load of a string that is no session id's shape is SessionNotFound naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Session.load("sess_not-a-ulid"))
      expect(error).toMatchObject({ _tag: "SessionNotFound", sessionId: "sess_not-a-ulid" })
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("SessionCreated is observable by a session's subscribers and at the head of its events", () =>
    Effect.scoped(Effect.gen(function*() {
      const session = yield* Session.open({ model: MODEL, parentId: undefined })
      const created = yield* Ref.make<Option.Option<MnesisEvent>>(Option.none())
      yield* session.subscribe("SessionCreated", (event) => Ref.set(created, Option.some(event)))
      expect(Option.getOrThrow(yield* Ref.get(created))).toMatchObject({
        _tag: "SessionCreated",
        sessionId: session.id,
        model: MODEL
      })
      const first = yield* Stream.runHead(session.events)
      expect(Option.getOrThrow(first)._tag).toBe("SessionCreated")
    })).pipe(Effect.provide(MnesisTest)))

  it.effect("streams live: the first delta arrives before the model has finished", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const fiber = yield* session.stream("one two three four five six seven eight").pipe(
        Stream.runForEach((event) => Ref.update(seen, (all) => [...all, event.type])),
        Effect.fork
      )
      yield* settle
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect(yield* Ref.get(seen)).toEqual(["text_delta"])
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const all = yield* Ref.get(seen)
      expect(all.filter((t) => t === "text_delta").length).toBe(4)
      expect(all[all.length - 1]).toBe("turn_complete")
    }).pipe(Effect.provide(makeTest({ mock: { deltaLatency: "100 millis", deltas: 4 } }))))

  it.effect("onPart receives live deltas; a throwing callback does not fail the turn", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const deltas: Array<string> = []
      const result = yield* session.send("alpha beta gamma delta", {
        onPart: (event) => {
          if (event.type === "text_delta") deltas.push(event.text)
          throw new Error("callback exploded")
        }
      })
      expect(result.finishReason).toBe("stop")
      expect(deltas.join("")).toBe(result.text)
      const rejecting = yield* session.send("again", {
        onPart: () => Promise.reject(new Error("async boom"))
      })
      expect(rejecting.text).toContain("again")
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("a provider failure fails the turn, stores an error row, and never reaches a later context", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.fail(new LlmOverloaded({ provider: "mock", detail: "overloaded right now" }))
      )
      const session = yield* Session.create({ model: MODEL })
      const error = yield* Effect.flip(session.send("first question"))
      expect(error._tag).toBe("LlmOverloaded")
      const history = yield* session.messages()
      expect(history.map((m) => [m.role, m.finishReason ?? null])).toEqual([["user", null], [
        "assistant",
        "error"
      ]])
      expect(history[1]!.error).toMatchObject({ tag: "LlmOverloaded" })
      expect(history[1]!.parts).toEqual([])
      yield* session.send("second question")
      const sent = sentText(yield* lastRequest)
      expect(sent).toContain("first question")
      expect(sent).not.toContain("overloaded right now")
      const context = yield* session.contextForNextTurn()
      expect(JSON.stringify(context.messages)).not.toContain("overloaded")
    }).pipe(Effect.provide(MnesisTest)))

  it.live("transient failures are retried with LlmRetry events and a retry stream event", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.fail(new LlmRateLimited({ provider: "mock", detail: "slow down", retryAfterMs: 1 })),
        MockLlm.Reply.cut("half an ans"),
        MockLlm.Reply.text("finally")
      )
      const session = yield* Session.create({
        model: MODEL,
        config: { session: { retry: { maxRetries: 2, baseDelay: 0, jitter: false } } }
      })
      const retries = yield* Ref.make(0)
      yield* session.subscribe("LlmRetry", () => Ref.update(retries, (n) => n + 1))
      const events = yield* session.stream("please").pipe(Stream.runCollect)
      const types = [...events].map((e) => e.type)
      expect(types.filter((t) => t === "retry").length).toBe(2)
      const complete = [...events].find((e) => e.type === "turn_complete")
      expect(complete?.type === "turn_complete" && complete.result.text).toBe("finally")
      yield* session.close
      expect(yield* Ref.get(retries)).toBe(2)
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("interrupting a send mid-stream leaves no partial reply in the history or the context", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const deltas = yield* Ref.make(0)
      const fiber = yield* session.send("a long answer please", {
        onPart: (event) => event.type === "text_delta" ? Ref.update(deltas, (n) => n + 1) : Effect.void
      }).pipe(Effect.fork)
      yield* settle
      yield* TestClock.adjust("250 millis")
      yield* settle
      yield* Fiber.interrupt(fiber)
      expect(yield* Ref.get(deltas)).toBeGreaterThan(0)
      const history = yield* session.messages()
      expect(history.map((m) => m.role)).toEqual(["user"])
      const context = yield* session.contextForNextTurn()
      expect(context.messages.map((m) => m.role)).toEqual(["user"])
      // the session goes on
      const fiber2 = yield* session.send("shorter then").pipe(Effect.fork)
      yield* settle
      yield* TestClock.adjust("10 seconds")
      const next = yield* Fiber.join(fiber2)
      expect(next.text).toContain("shorter then")
    }).pipe(Effect.provide(makeTest({ mock: { deltaLatency: "100 millis", deltas: 8 } }))))

  it.effect("concurrent sends on one session run one after the other, in call order", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const sends = [session.send("first"), session.send("second"), session.send("third")]
      const results = yield* Effect.all(sends, { concurrency: "unbounded" })
      expect(
        results.map((r) => r.text.includes("first") || r.text.includes("second") || r.text.includes("third"))
      )
        .toEqual([true, true, true])
      const roles = (yield* session.messages()).map((m) => `${m.role}:${m.text.slice(0, 40)}`)
      expect(roles[0]).toContain("user:first")
      expect(roles[2]).toContain("user:second")
      expect(roles[4]).toContain("user:third")
      const requests = yield* Effect.flatMap(MockLlm.MockLlmControl, (c) => c.requests)
      // each turn saw the previous turns complete: 1, 3 and 5 messages
      expect(requests.map((r) => r.messages.length)).toEqual([1, 3, 5])
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("different sessions run in parallel", () =>
    Effect.gen(function*() {
      const a = yield* Session.create({ model: MODEL })
      const b = yield* Session.create({ model: MODEL })
      const fa = yield* Effect.fork(a.send("in a"))
      const fb = yield* Effect.fork(b.send("in b"))
      yield* settle
      yield* TestClock.adjust("150 millis")
      // both turns are streaming at the same time
      const requests = yield* Effect.flatMap(MockLlm.MockLlmControl, (c) => c.requests)
      expect(requests.length).toBe(2)
      yield* TestClock.adjust("5 seconds")
      expect((yield* Fiber.join(fa)).text).toContain("in a")
      expect((yield* Fiber.join(fb)).text).toContain("in b")
    }).pipe(Effect.provide(makeTest({ mock: { deltaLatency: "100 millis" } }))))

  it.effect("bad input is refused before anything is stored", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL, config: SMALL_WINDOW })
      expect(yield* Effect.flip(session.send("   "))).toMatchObject({
        _tag: "InvalidInput",
        field: "message"
      })
      expect(yield* Effect.flip(session.send([]))).toMatchObject({ _tag: "InvalidInput" })
      expect(yield* Effect.flip(session.send("broken \uD800 text"))).toMatchObject({ _tag: "InvalidInput" })
      const tooBig = yield* Effect.flip(session.send("word ".repeat(5_000)))
      expect(tooBig).toMatchObject({ _tag: "ContextOverflow" })
      expect(tooBig.message).toContain("file reference")
      expect(yield* session.messages()).toEqual([])
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("an invalid config override is a ConfigError naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Session.create({ model: MODEL, config: { compaction: { softThresholdFraction: 2 } } })
      )
      expect(error).toMatchObject({ _tag: "ConfigError", path: "compaction.softThresholdFraction" })
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("history() has one snapshot per turn with the context breakdown", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL, systemPrompt: "short system" })
      yield* session.send("one")
      yield* session.send("two")
      const history = yield* session.history()
      expect(history.map((s) => s.turn)).toEqual([1, 2])
      const last = history[1]!.context
      expect(last.total).toBe(last.system + last.summaries + last.messages)
      expect(last.system).toBeGreaterThan(0)
      expect(history[1]!.context.messages).toBeGreaterThan(history[0]!.context.messages)
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("history pages by turn: afterTurn and limit cover every turn exactly once", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      for (let i = 0; i < 7; i++) yield* session.record({ user: `question ${i}`, assistant: `answer ${i}` })
      const pages: Array<ReadonlyArray<number>> = []
      let after = 0
      for (;;) {
        const page = yield* session.history({ afterTurn: after, limit: 3 })
        if (page.length === 0) break
        pages.push(page.map((s) => s.turn))
        after = page[page.length - 1]!.turn
      }
      expect(pages).toEqual([[1, 2, 3], [4, 5, 6], [7]])
      expect(yield* session.history()).toHaveLength(7)
      expect(yield* Effect.flip(session.history({ limit: 0 }))).toMatchObject({
        _tag: "InvalidInput",
        field: "limit"
      })
      expect(yield* Effect.flip(session.history({ afterTurn: -1 }))).toMatchObject({
        _tag: "InvalidInput",
        field: "afterTurn"
      })
    }).pipe(Effect.provide(MnesisTest)))
})

describe("record (bring your own LLM)", () => {
  it.effect("records turns without calling a provider and builds the next context from them", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "openai/gpt-4o", systemPrompt: "BYO" })
      const recorded = yield* session.record({
        user: "What is 2 + 2?",
        assistant: "4",
        tokens: { input: 20, output: 1 }
      })
      expect(recorded.tokens).toMatchObject({ input: 20, output: 1 })
      const counted = yield* session.record({ user: "And 3 + 3?", assistant: "6" })
      expect(counted.tokens.input).toBeGreaterThan(0)
      expect(counted.tokens.output).toBeGreaterThan(0)
      const context = yield* session.contextForNextTurn()
      expect(context.system[0]?.text).toBe("BYO")
      expect(context.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"])
      const requests = yield* Effect.flatMap(MockLlm.MockLlmControl, (c) => c.requests)
      expect(requests).toEqual([])
      const usage = yield* session.tokenUsage
      expect(usage.input).toBe(20 + counted.tokens.input)
      expect((yield* session.history()).length).toBe(2)
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("records tool parts with their lifecycle and renders them as paired tool blocks", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      yield* session.record({
        user: "list the files",
        assistant: [
          { type: "text", text: "Let me look." },
          {
            type: "tool",
            toolName: "ls",
            toolCallId: "call_1",
            input: { path: "." },
            output: "a.ts\nb.ts",
            status: "completed",
            startedAt: 10,
            completedAt: 20
          }
        ]
      })
      const [, assistant] = yield* session.messages()
      expect(assistant!.parts[1]).toMatchObject({
        type: "tool",
        status: "completed",
        startedAt: 10,
        completedAt: 20
      })
      const context = yield* session.contextForNextTurn()
      expect(context.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"])
      expect(context.messages[1]!.content.map((b) => b.type)).toEqual(["text", "tool_use"])
      expect(context.messages[2]!.content[0]).toMatchObject({
        type: "tool_result",
        toolUseId: "call_1",
        content: "a.ts\nb.ts"
      })
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("refuses an empty record and a tool part in a user message", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      expect(yield* Effect.flip(session.record({}))).toMatchObject({ _tag: "InvalidInput", field: "record" })
      const toolInUser = yield* Effect.flip(session.record({
        user: [{ type: "tool", toolName: "x", toolCallId: "c", input: {} }],
        assistant: "ok"
      }))
      expect(toolInUser).toMatchObject({ _tag: "InvalidInput", field: "user[0]" })
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("refuses a message no context could hold, storing neither side of the exchange", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL, config: SMALL_WINDOW })
      const huge = "word ".repeat(5_000)
      expect(yield* Effect.flip(session.record({ user: huge, assistant: "ok" }))).toMatchObject({
        _tag: "ContextOverflow"
      })
      expect(yield* Effect.flip(session.record({ user: "hi", assistant: huge }))).toMatchObject({
        _tag: "ContextOverflow"
      })
      expect(yield* session.messages()).toEqual([])
      yield* session.record({ user: "hi", assistant: "hello" })
      expect((yield* session.messages()).length).toBe(2)
    }).pipe(Effect.provide(MnesisTest)))
})
