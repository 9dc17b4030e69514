/**
 * The operators as model tools, and the delegation guard: a session's model runs `llm_map` and
 * gets the run's note back (never the outputs); a sub-agent may start a nested operator only by
 * narrowing its scope (fewer items, or a declared split of its task), and never past
 * `operators.maxDepth`; a refused call is a tool error that says why.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { ToolPart } from "../../src/Domain.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import * as Operators from "../../src/Operators.js"
import { AgenticMap, LlmMap } from "../../src/Operators.js"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"
import { layer, requests, scriptByItem, textsOf } from "./support.js"

/** The tool parts a session stored, in order. */
const toolParts = (sessionId: Session.Session["id"]) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const history = yield* store.history(sessionId, { limit: 100 })
    return history.flatMap((m) => m.parts.filter((p): p is ToolPart => p.type === "tool"))
  })

const nested = (items: ReadonlyArray<string>, extra: object = {}) =>
  MockLlm.Reply.toolCalls([{ name: "llm_map", input: { items, template: "Check {{ item }}", ...extra } }])

describe("operators as model tools", () => {
  it.effect("llm_map from a session: the model gets the run's note, the results stay in the run", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/lead" })
      const tools = yield* Operators.tools(session)
      yield* scriptByItem({
        "Find a fruit per colour.": [
          MockLlm.Reply.toolCalls([{
            name: "llm_map",
            input: {
              items: ["red", "green", "blue"],
              template: "Name a fruit that is {{ item }}",
              fields: { fruit: "string" }
            }
          }]),
          MockLlm.Reply.text("Mapped three colours.")
        ]
      })
      const turn = yield* session.send("Find a fruit per colour.", { tools })
      expect(turn.text).toBe("Mapped three colours.")
      const [call] = yield* toolParts(session.id)
      expect(call).toMatchObject({ toolName: "llm_map", status: "completed" })
      expect(call!.output).toMatch(/\[llm_map run_[0-9A-Z]{26} completed: 3 items, 3 done, 0 failed/)
      // the three item calls went to the model outside the session's context
      const sent = yield* requests
      const itemCalls = sent.filter((r) => textsOf(r)[0]?.startsWith("Name a fruit"))
      expect(itemCalls).toHaveLength(3)
      expect(itemCalls[0]!.output?.schema).toMatchObject({ required: ["fruit"] })
      // the session's own history holds the note once, in the tool result, and no outputs
      const messages = yield* session.messages()
      expect(messages.filter((m) => m.role === "user").map((m) => m.text)).toEqual([
        "Find a fruit per colour."
      ])
    }).pipe(Effect.provide(layer())))
})

describe("the delegation guard", () => {
  it.effect("a sub-agent's nested run of as many items as its own run is refused with a tool error", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        "Task a": [nested(["x", "y"]), MockLlm.Reply.text("did a myself")],
        "Task b": [nested(["x"]), MockLlm.Reply.text("b done")],
        "Check x": [MockLlm.Reply.text("{\"value\": \"x ok\"}")]
      })
      const batch = yield* AgenticMap.runAll({
        items: ["a", "b"],
        template: "Task {{ item }}",
        model: "mock/agent",
        operatorTools: true,
        memoryTools: false
      })
      expect(batch.successes.map((s) => s.output).sort()).toEqual(["b done", "did a myself"])
      const byInput = new Map(batch.successes.map((s) => [s.input, s.sessionId!]))
      const [refused] = yield* toolParts(byInput.get("a")!)
      expect(refused).toMatchObject({ toolName: "llm_map", status: "error" })
      expect(refused!.error).toContain("delegation refused")
      expect(refused!.error).toContain("fewer than 2 items")
      // narrower: one item of the two, allowed; its run is the sub-agent's child
      const [allowed] = yield* toolParts(byInput.get("b")!)
      expect(allowed).toMatchObject({ toolName: "llm_map", status: "completed" })
      expect(allowed!.output).toContain("1 items, 1 done")
      expect((yield* requests).filter((r) => textsOf(r)[0] === "Check y")).toEqual([])
    }).pipe(Effect.provide(layer())))

  it.effect("a declared split of the task lets a sub-agent delegate as many items", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        "Task a": [
          nested(["x"], { delegation: { delegated: "checking x", kept: "writing the report" } }),
          MockLlm.Reply.text("a done")
        ],
        "Check x": [MockLlm.Reply.text("{\"value\": \"fine\"}")]
      })
      const batch = yield* AgenticMap.runAll({
        items: ["a"],
        template: "Task {{ item }}",
        model: "mock/agent",
        operatorTools: true,
        memoryTools: false
      })
      const [part] = yield* toolParts(batch.successes[0]!.sessionId!)
      expect(part).toMatchObject({ toolName: "llm_map", status: "completed" })
    }).pipe(Effect.provide(layer())))

  it.effect("past operators.maxDepth even a narrower run is refused", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        "Task a": [nested(["x"]), MockLlm.Reply.text("a done")],
        "Task b": [MockLlm.Reply.text("b done")]
      })
      const batch = yield* AgenticMap.runAll({
        items: ["a", "b"],
        template: "Task {{ item }}",
        model: "mock/agent",
        operatorTools: true,
        memoryTools: false
      })
      const sessionA = batch.successes.find((s) => s.input === "a")!.sessionId!
      const [refused] = yield* toolParts(sessionA)
      expect(refused).toMatchObject({ toolName: "llm_map", status: "error" })
      expect(refused!.error).toContain("at most 1 levels deep (operators.maxDepth)")
    }).pipe(Effect.provide(layer({ config: { operators: { maxDepth: 1 } } }))))

  it.effect("with the default depth of 2, a sub-agent's sub-agent may not start another operator", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        "Task a": [
          MockLlm.Reply.toolCalls([{
            name: "agentic_map",
            input: { items: ["a1"], template: "Task {{ item }}" }
          }]),
          MockLlm.Reply.text("a done")
        ],
        "Task a1": [nested(["z"]), MockLlm.Reply.text("a1 done by hand")],
        "Task b": [MockLlm.Reply.text("b done")]
      })
      const root = yield* Session.create({ model: "mock/agent" })
      const batch = yield* AgenticMap.runAll({
        items: ["a", "b"],
        template: "Task {{ item }}",
        session: root,
        operatorTools: true,
        memoryTools: false
      })
      expect(batch.failures).toEqual([])
      const store = yield* Storage.Storage
      const sessionA = batch.successes.find((s) => s.input === "a")!.sessionId!
      // level 1 delegated (narrower: one item of its own); level 2 was refused by the depth limit
      const [delegated] = yield* toolParts(sessionA)
      expect(delegated).toMatchObject({ toolName: "agentic_map", status: "completed" })
      const [grandchild] = yield* store.listSessions({ parentId: sessionA })
      const [refused] = yield* toolParts(grandchild!.id)
      expect(refused).toMatchObject({ toolName: "llm_map", status: "error" })
      expect(refused!.error).toContain("2 levels below its root")
      expect((yield* requests).filter((r) => textsOf(r)[0] === "Check z")).toEqual([])
      yield* root.close
    }).pipe(Effect.provide(layer())))

  it.effect("the library call is held to the same rules: DelegationRefused", () =>
    Effect.gen(function*() {
      const root = yield* Session.create({ model: "mock/agent" })
      yield* scriptByItem({ "Task a": [MockLlm.Reply.text("a")], "Task b": [MockLlm.Reply.text("b")] })
      const batch = yield* AgenticMap.runAll({
        items: ["a", "b"],
        template: "Task {{ item }}",
        session: root,
        memoryTools: false
      })
      const sub = yield* Session.load(batch.successes[0]!.sessionId!)
      const error = yield* LlmMap.runAll({
        items: ["p", "q", "r"],
        template: "{{ item }}",
        schema: Schema.String,
        session: sub
      }).pipe(Effect.flip)
      expect(error._tag).toBe("DelegationRefused")
      expect(error.message).toContain("fewer than 2 items")
      // one item fewer passes
      const ok = yield* LlmMap.runAll({
        items: ["p"],
        template: "{{ item }}",
        schema: Schema.String,
        session: sub
      })
      expect(ok.total).toBe(1)
      yield* sub.close
      yield* root.close
    }).pipe(Effect.provide(layer())))
})
