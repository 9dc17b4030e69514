/**
 * The tool loop of `send` with scripted MockLlm tool calls: handlers run with decoded input,
 * failures reach the model as tool errors, `maxSteps` and doom loops stop runaway loops, tools
 * the host executes end the turn with the call pending, and a crash between steps loses at most
 * the step in flight.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref, Schema, Stream } from "effect"
import { spawn } from "node:child_process"
import { makeTest, MnesisTest } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import type { LlmRequest, ToolResultBlock } from "../src/LlmProvider.js"
import * as Session from "../src/Session.js"
import * as SqliteStore from "../src/storage/sqlite/SqliteStore.js"
import * as Tool from "../src/Tool.js"
import { tempDbPath } from "./support/storage.js"

const Numbers = Schema.Struct({ a: Schema.Number, b: Schema.Number })
const add = Tool.make({
  name: "add",
  description: "a + b",
  input: Numbers,
  handler: ({ a, b }) => Effect.succeed(a + b)
})
const multiply = Tool.make({
  name: "multiply",
  description: "a × b",
  input: Numbers,
  handler: ({ a, b }) => Effect.succeed(a * b)
})
const divide = Tool.make({
  name: "divide",
  description: "a ÷ b",
  input: Numbers,
  handler: ({ a, b }) => b === 0 ? Effect.fail(new Error("division by zero")) : Effect.succeed(a / b)
})

const toolResults = (request: LlmRequest | undefined): Array<ToolResultBlock> =>
  (request?.messages ?? []).flatMap((m) =>
    m.content.filter((b): b is ToolResultBlock => b.type === "tool_result")
  )

const requests = Effect.flatMap(MockLlm.MockLlmControl, (control) => control.requests)

/** A tool without a handler: the host runs it and records the result. */
const weatherTool = Tool.make({
  name: "weather",
  description: "today's weather",
  input: Schema.Struct({ city: Schema.String })
})

describe("the tool loop", () => {
  it.effect("a two-step calculation through two tools", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.toolCalls([{ name: "add", input: { a: 2, b: 3 } }], { text: "First the sum." }),
        MockLlm.Reply.toolCalls([{ name: "multiply", input: { a: 5, b: 4 } }]),
        MockLlm.Reply.text("(2 + 3) × 4 = 20")
      )
      const session = yield* Session.create({ model: "mock/calc" })
      const result = yield* session.send("What is (2 + 3) × 4?", { tools: [add, multiply] })
      expect(result).toMatchObject({
        steps: 3,
        finishReason: "stop",
        text: "(2 + 3) × 4 = 20",
        pendingToolCalls: []
      })
      const sent = yield* requests
      expect(sent[0]!.tools?.map((t) => t.name)).toEqual(["add", "multiply"])
      expect(toolResults(sent[1]).map((r) => r.content)).toEqual(["5"])
      expect(toolResults(sent[2]).map((r) => r.content)).toEqual(["5", "20"])
      const tools = result.parts.filter((p) => p.type === "tool")
      expect(tools).toMatchObject([
        { toolName: "add", status: "completed", output: "5" },
        { toolName: "multiply", status: "completed", output: "20" }
      ])
      // each step is its own stored message; the history holds the whole loop
      const history = yield* session.messages()
      expect(history.map((m) => m.role)).toEqual(["user", "assistant", "assistant", "assistant"])
      expect((yield* session.history()).length).toBe(1)
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("a failing handler and an undecodable input reach the model as tool errors; the turn goes on", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.toolCalls([{ name: "divide", input: { a: 1, b: 0 } }, {
          name: "add",
          input: { a: "one", b: 2 }
        }]),
        MockLlm.Reply.text("I could not compute that.")
      )
      const session = yield* Session.create({ model: "mock/calc" })
      const result = yield* session.send("1/0 and one+2", { tools: [divide, add] })
      expect(result.finishReason).toBe("stop")
      const [failed, undecodable] = toolResults((yield* requests)[1])
      expect(failed).toMatchObject({ isError: true, content: "Error: division by zero" })
      expect(undecodable!.isError).toBe(true)
      expect(undecodable!.content).toContain("invalid input for tool \"add\"")
      expect(result.parts.filter((p) => p.type === "tool").map((p) => p.type === "tool" && p.status)).toEqual(
        ["error", "error"]
      )
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("malformed tool JSON and unknown tools become errors the model can read", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.malformed("add", "{\"a\": 1,"),
        MockLlm.Reply.toolCalls([{ name: "sqrt", input: { x: 4 } }]),
        MockLlm.Reply.text("done")
      )
      const session = yield* Session.create({ model: "mock/calc" })
      const result = yield* session.send("go", { tools: [add] })
      expect(result.steps).toBe(3)
      const sent = yield* requests
      expect(toolResults(sent[1])[0]!.content).toContain("not valid JSON")
      expect(toolResults(sent[2])[1]!.content).toContain("no tool named \"sqrt\"; available tools: add")
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("maxSteps ends a runaway loop with finishReason max_steps", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      let n = 0
      yield* control.enqueue(...Array.from({ length: 10 }, () => () =>
        MockLlm.Reply.toolCalls([{ name: "add", input: { a: n++, b: 1 } }])))
      const session = yield* Session.create({ model: "mock/calc" })
      const result = yield* session.send("count forever", { tools: [add], maxSteps: 4 })
      expect(result).toMatchObject({ finishReason: "max_steps", steps: 4 })
      expect((yield* requests).length).toBe(4)
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("three identical consecutive calls fire DoomLoopDetected; with action stop the loop ends", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        ...Array.from({ length: 10 }, () => MockLlm.Reply.toolCalls([{ name: "add", input: { b: 1, a: 1 } }]))
      )
      const session = yield* Session.create({
        model: "mock/calc",
        config: { session: { doomLoopAction: "stop" } }
      })
      const events = yield* Ref.make(0)
      yield* session.subscribe("DoomLoopDetected", () => Ref.update(events, (n) => n + 1))
      const result = yield* session.send("loop", { tools: [add] })
      yield* session.close
      expect(result.doomLoopDetected).toBe(true)
      expect(result.steps).toBe(3)
      expect(yield* Ref.get(events)).toBe(1)
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("with the default action a doom loop is reported and the loop goes on", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        ...Array.from({ length: 3 }, () => MockLlm.Reply.toolCalls([{ name: "add", input: { a: 1, b: 1 } }])),
        MockLlm.Reply.text("ok, 2")
      )
      const session = yield* Session.create({ model: "mock/calc" })
      const result = yield* session.send("loop", { tools: [add] })
      expect(result).toMatchObject({ doomLoopDetected: true, steps: 4, text: "ok, 2" })
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("a tool without a handler ends the turn with the call pending; recording its result continues", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.toolCalls([{ name: "weather", input: { city: "Oslo" }, id: "call_w1" }]),
        MockLlm.Reply.text("It is snowing in Oslo.")
      )
      const session = yield* Session.create({ model: "mock/calc", tools: [weatherTool] })
      const first = yield* session.send("Weather in Oslo?")
      expect(first.finishReason).toBe("tool_calls")
      expect(first.pendingToolCalls).toMatchObject([{
        id: "call_w1",
        name: "weather",
        input: { city: "Oslo" }
      }])
      // before the result arrives the context still pairs the call with a placeholder result
      const waiting = yield* session.contextForNextTurn()
      expect(toolResults({ ...(yield* requests)[0]!, messages: waiting.messages })[0]!.content).toContain(
        "not executed"
      )
      yield* session.record({ toolResults: [{ toolCallId: "call_w1", output: "snow, -3°C" }] })
      const second = yield* session.send("So?")
      expect(second.text).toBe("It is snowing in Oslo.")
      expect(toolResults((yield* requests)[1])).toMatchObject([{
        toolUseId: "call_w1",
        content: "snow, -3°C"
      }])
      const twice = yield* Effect.flip(
        session.record({ toolResults: [{ toolCallId: "call_w1", output: "rain" }] })
      )
      expect(twice).toMatchObject({ _tag: "InvalidInput", field: "toolResults" })
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("results for host tools are checked together: one bad id stores none, and a retry works", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.toolCalls([
          { name: "weather", input: { city: "Oslo" }, id: "call_a" },
          { name: "weather", input: { city: "Rome" }, id: "call_b" }
        ]),
        MockLlm.Reply.text("Cold in Oslo, warm in Rome.")
      )
      const session = yield* Session.create({ model: "mock/calc", tools: [weatherTool] })
      yield* session.send("Weather in Oslo and Rome?")
      const pendingParts = Effect.map(
        session.messages(),
        (messages) =>
          messages.flatMap((m) => m.parts).filter((p) => p.type === "tool" && p.status === "pending")
      )
      const refused = yield* Effect.flip(session.record({
        toolResults: [{ toolCallId: "call_a", output: "snow" }, { toolCallId: "call_typo", output: "sun" }]
      }))
      expect(refused).toMatchObject({ _tag: "InvalidInput", field: "toolResults" })
      expect(refused.message).toContain("call_typo")
      expect(yield* pendingParts).toHaveLength(2)
      const doubled = yield* Effect.flip(session.record({
        toolResults: [{ toolCallId: "call_a", output: "snow" }, { toolCallId: "call_a", output: "rain" }]
      }))
      expect(doubled.message).toContain("two results")
      expect(yield* pendingParts).toHaveLength(2)
      yield* session.record({
        toolResults: [{ toolCallId: "call_a", output: "snow" }, { toolCallId: "call_b", output: "sun" }]
      })
      expect(yield* pendingParts).toHaveLength(0)
      expect((yield* session.send("So?")).text).toBe("Cold in Oslo, warm in Rome.")
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("stream yields tool calls and results as they happen", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.toolCalls([{ name: "add", input: { a: 20, b: 22 } }]),
        MockLlm.Reply.text("42")
      )
      const session = yield* Session.create({ model: "mock/calc" })
      const events = yield* Stream.runCollect(session.stream("add 20 and 22", { tools: [add] }))
      const types = [...events].map((e) => e.type)
      expect(types.indexOf("tool_call")).toBeLessThan(types.indexOf("tool_result"))
      expect(types.indexOf("tool_result")).toBeLessThan(types.indexOf("step"))
      expect([...events].find((e) => e.type === "tool_result")).toMatchObject({ name: "add", output: "42" })
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("tool names are checked before anything is stored", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/calc" })
      const bad = Tool.make({ name: "no spaces allowed", description: "x", input: Schema.Struct({}) })
      expect(yield* Effect.flip(session.send("hi", { tools: [bad] }))).toMatchObject({
        _tag: "InvalidInput",
        field: "tools"
      })
      expect(yield* Effect.flip(session.send("hi", { tools: [add, add] }))).toMatchObject({
        _tag: "InvalidInput"
      })
      expect(yield* session.messages()).toEqual([])
    }).pipe(Effect.provide(MnesisTest)))
})

/** Runs the tool worker until it prints RUNNING, then kills it with SIGKILL. */
const killWhileToolRuns = (db: string) =>
  Effect.async<string, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/toolWorker.ts", db], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let sessionId = ""
    let err = ""
    child.stdout.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (line.startsWith("SESSION ")) sessionId = line.slice(8)
        if (line === "RUNNING") child.kill("SIGKILL")
      }
    })
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()))
    child.on("exit", (_code, signal) =>
      signal === "SIGKILL" && sessionId !== ""
        ? resume(Effect.succeed(sessionId))
        : resume(Effect.fail(new Error(`the worker was not killed mid-tool: ${err}`))))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("a crash between steps", () => {
  it.scoped(
    "SIGKILL while a tool runs loses only that step; the reopened context is valid",
    () =>
      Effect.gen(function*() {
        const db = yield* tempDbPath
        const sessionId = yield* killWhileToolRuns(db)
        const layer = makeTest({ storage: SqliteStore.layer({ filename: db }) })
        const { context, history } = yield* Effect.scoped(Effect.gen(function*() {
          const session = yield* Session.loadScoped(sessionId)
          return { context: yield* session.contextForNextTurn(), history: yield* session.messages() }
        })).pipe(Effect.provide(layer))
        // the first step (a completed tool call) and the second step's call were stored
        expect(history.map((m) => m.role)).toEqual(["user", "assistant", "assistant"])
        const uses = context.messages.flatMap((m) =>
          m.content.flatMap((b) => b.type === "tool_use" ? [b.id] : [])
        )
        const results = context.messages.flatMap((m) =>
          m.content.flatMap((b) => b.type === "tool_result" ? [b] : [])
        )
        expect(results.map((r) => r.toolUseId)).toEqual(uses)
        expect(results[0]!.content).toBe("5")
        expect(results[1]!.content).toContain("still running")
        for (const [i, message] of context.messages.entries()) {
          if (message.content.some((b) => b.type === "tool_result")) {
            expect(context.messages[i - 1]!.role).toBe("assistant")
          }
        }
      }),
    { timeout: 60_000 }
  )
})
