/**
 * Agentic-Map with a scripted MockLlm: sub-agents use their tools through the tool loop, only
 * read-only tools are offered when asked, a provider failure is a failed item (never a success
 * with error text), final answers are decoded with a schema (with feedback), sub-sessions are the
 * caller's children and can be loaded afterwards with their history, and the caller's session
 * gets one compact note instead of the outputs.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref, Schema } from "effect"
import { LlmAuthenticationError } from "../../src/Errors.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import { AgenticMap } from "../../src/Operators.js"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"
import * as Tool from "../../src/Tool.js"
import { layer, requests, scriptByItem } from "./support.js"

const lookupTool = (calls: Ref.Ref<ReadonlyArray<string>>) =>
  Tool.make({
    name: "lookup",
    description: "Looks a word up",
    input: Schema.Struct({ word: Schema.String }),
    readOnly: true,
    handler: ({ word }) =>
      Effect.as(Ref.update(calls, (all) => [...all, word]), `${word}: a ${word.length}-letter word`)
  })

const writeTool = Tool.make({
  name: "write_file",
  description: "Writes a file",
  input: Schema.Struct({ path: Schema.String }),
  handler: () => Effect.succeed("written")
})

describe("AgenticMap", () => {
  it.effect("sub-agents use their tools through the tool loop; each final answer is its item's output", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<ReadonlyArray<string>>([])
      yield* scriptByItem({
        "Define cat": [
          MockLlm.Reply.toolCalls([{ name: "lookup", input: { word: "cat" } }]),
          MockLlm.Reply.text("A cat is a small feline.")
        ],
        "Define ox": [
          MockLlm.Reply.toolCalls([{ name: "lookup", input: { word: "ox" } }]),
          MockLlm.Reply.text("An ox is a bovine.")
        ]
      })
      const batch = yield* AgenticMap.runAll({
        items: ["cat", "ox"],
        template: "Define {{ item }}",
        model: "mock/agent",
        tools: [lookupTool(calls)],
        memoryTools: false
      })
      expect(batch.failures).toEqual([])
      expect(batch.successes.map((s) => [s.input, s.output, s.attempts])).toEqual([
        ["cat", "A cat is a small feline.", 2],
        ["ox", "An ox is a bovine.", 2]
      ])
      expect([...(yield* Ref.get(calls))].sort()).toEqual(["cat", "ox"])
      // the tool's result reached the model in the sub-agent's next step
      const sent = yield* requests
      const results = sent.flatMap((r) =>
        r.messages.flatMap((m) => m.content.flatMap((b) => b.type === "tool_result" ? [b.content] : []))
      )
      expect(results.sort()).toEqual(["cat: a 3-letter word", "ox: a 2-letter word"])
    }).pipe(Effect.provide(layer())))

  it.effect("readOnly: true offers only the tools that declare readOnly", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<ReadonlyArray<string>>([])
      const batch = yield* AgenticMap.runAll({
        items: ["x"],
        template: "Task {{ item }}",
        model: "mock/agent",
        tools: [lookupTool(calls), writeTool],
        readOnly: true,
        memoryTools: false
      })
      expect(batch.successes).toHaveLength(1)
      const [request] = yield* requests
      expect(request!.tools?.map((t) => t.name)).toEqual(["lookup"])
    }).pipe(Effect.provide(layer())))

  it.effect("a provider failure is a failed item, never a success with the error as text", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        "Task ok": [MockLlm.Reply.text("done")],
        "Task bad": [MockLlm.Reply.fail(new LlmAuthenticationError({ provider: "mock", detail: "bad key" }))]
      })
      const batch = yield* AgenticMap.runAll({
        items: ["ok", "bad"],
        template: "Task {{ item }}",
        model: "mock/agent",
        memoryTools: false
      })
      expect(batch.successes.map((s) => [s.input, s.output])).toEqual([["ok", "done"]])
      expect(batch.failures).toHaveLength(1)
      const [failure] = batch.failures
      expect(failure!.input).toBe("bad")
      expect(failure!.reason).toMatchObject({ _tag: "ProviderFailed", errorTag: "LlmAuthenticationError" })
      expect(failure).not.toHaveProperty("output")
      // the failed sub-session holds no reply: only the task and the error marker out of context
      const store = yield* Storage.Storage
      const history = yield* store.history(failure!.sessionId!, { limit: 10 })
      expect(history.map((m) => [m.role, m.text])).toEqual([["user", "Task bad"], ["assistant", ""]])
      expect(history[1]!.finishReason).toBe("error")
    }).pipe(Effect.provide(layer())))

  it.effect("a final answer that does not decode is sent back with the error, then decoded", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        "Rate x": [MockLlm.Reply.text("I'd say 7 out of 10"), MockLlm.Reply.text("{\"score\": 7}")]
      })
      const batch = yield* AgenticMap.runAll({
        items: ["x"],
        template: "Rate {{ item }}",
        model: "mock/agent",
        schema: Schema.Struct({ score: Schema.Int }),
        memoryTools: false
      })
      expect(batch.successes.map((s) => s.output)).toEqual([{ score: 7 }])
      const [first, second] = yield* requests
      expect(first!.system.map((b) => b.text).join("\n")).toContain("\"score\"")
      const feedback = second!.messages.at(-1)!
      expect(feedback.role).toBe("user")
      expect(JSON.stringify(feedback.content)).toContain("not valid JSON")
    }).pipe(Effect.provide(layer())))

  it.effect("an agent that runs out of turns is Incomplete", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<ReadonlyArray<string>>([])
      yield* scriptByItem({
        "Loop y": [
          MockLlm.Reply.toolCalls([{ name: "lookup", input: { word: "a" } }]),
          MockLlm.Reply.toolCalls([{ name: "lookup", input: { word: "b" } }])
        ]
      })
      const batch = yield* AgenticMap.runAll({
        items: ["y"],
        template: "Loop {{ item }}",
        model: "mock/agent",
        tools: [lookupTool(calls)],
        maxTurns: 2,
        memoryTools: false
      })
      expect(batch.failures.map((f) => f.reason)).toMatchObject([{
        _tag: "Incomplete",
        finishReason: "max_steps"
      }])
      expect(batch.failures[0]!.attempts).toBe(2)
    }).pipe(Effect.provide(layer())))

  it.effect("sub-sessions are the caller's children, loadable afterwards with their history", () =>
    Effect.gen(function*() {
      const caller = yield* Session.create({ model: "mock/agent" })
      yield* caller.send("Plan the research.")
      const batch = yield* AgenticMap.runAll({
        items: [{ lead: "alpha" }, { lead: "beta" }],
        template: "Research {{ item.lead }}",
        systemPrompt: "You research leads.",
        session: caller,
        memoryTools: false
      })
      expect(batch.successes).toHaveLength(2)
      const store = yield* Storage.Storage
      const children = yield* store.listSessions({ parentId: caller.id })
      expect(children.map((c) => c.id).sort()).toEqual(batch.successes.map((s) => s.sessionId).sort())
      for (const success of batch.successes) {
        const sub = yield* Session.load(success.sessionId!)
        expect(sub.systemPrompt).toBe("You research leads.")
        const history = yield* sub.messages()
        expect(history.map((m) => m.role)).toEqual(["user", "assistant"])
        expect(history[1]!.text).toBe(success.output)
        yield* sub.close
      }
      // the caller's session got one compact note about the run, not the outputs
      const messages = yield* caller.messages()
      const notes = messages.filter((m) => m.text.includes(batch.runId))
      expect(notes).toHaveLength(1)
      expect(notes[0]!.text).toContain("2 items, 2 done, 0 failed")
      for (const success of batch.successes) expect(notes[0]!.text).not.toContain(success.output)
      yield* caller.close
    }).pipe(Effect.provide(layer())))
})
