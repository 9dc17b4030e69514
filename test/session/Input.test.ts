/**
 * What callers pass is decoded before anything is stored: provider finish reasons are mapped to
 * ours and unknown ones refused, token counts must be whole and non-negative, a message must be
 * text or parts, options must have their shapes. And a row stored before this validation (a
 * provider's finish reason as given) reads as "other" instead of failing every read.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Stream } from "effect"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"
import { makeTest, MnesisTest, sharedDatabase } from "../support/backend.js"

const MODEL = "anthropic/claude-opus-4-6"

/** What a JavaScript caller may pass: anything, unchecked by the TypeScript types. */
const fromJavaScript = <T>(value: unknown): T => value as T

/** Every message stored, across all sessions of the layer's store. */
const storedMessages = Effect.gen(function*() {
  const store = yield* Storage.Storage
  const sessions = yield* store.listSessions()
  const all = yield* Effect.forEach(sessions, (s) => store.history(s.id, { limit: 1_000 }))
  return all.flat()
})

describe("record decodes its input before storing anything", () => {
  it.effect("maps the providers' finish reasons to mnesis's own, and the session stays readable", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const cases = [
        ["end_turn", "stop"],
        ["tool_use", "tool_calls"],
        ["max_tokens", "max_tokens"],
        ["stop_sequence", "stop_sequence"],
        ["pause_turn", "other"],
        ["refusal", "content_filter"],
        ["stop", "stop"],
        ["length", "max_tokens"],
        ["tool_calls", "tool_calls"],
        ["content_filter", "content_filter"],
        ["function_call", "tool_calls"]
      ] as const
      for (const [given] of cases) {
        yield* session.record({ user: `q ${given}`, assistant: `a ${given}`, finishReason: given })
      }
      const replies = (yield* session.messages()).filter((m) => m.role === "assistant")
      expect(replies.map((m) => m.finishReason)).toEqual(cases.map(([, ours]) => ours))
      expect((yield* session.contextForNextTurn()).messages.length).toBe(cases.length * 2)
      expect((yield* session.send("and now?")).text).toContain("and now?")
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("refuses an unknown finishReason with InvalidInput naming the allowed values", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const error = yield* Effect.flip(
        session.record({ user: "q", assistant: "a", finishReason: fromJavaScript("end_of_story") })
      )
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "finishReason" })
      expect(error.message).toContain("stop, max_tokens, tool_calls")
      expect(error.message).toContain("end_turn")
      expect(yield* storedMessages).toEqual([])
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("refuses negative or fractional token counts before the user message is stored", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      for (const tokens of [{ input: -5 }, { output: 1.5 }, { total: Number.NaN }]) {
        const error = yield* Effect.flip(session.record({ user: "q", assistant: "a", tokens }))
        expect(error).toMatchObject({ _tag: "InvalidInput", field: `tokens.${Object.keys(tokens)[0]}` })
      }
      expect(yield* storedMessages).toEqual([])
      expect(yield* session.tokenUsage).toMatchObject({ input: 0, output: 0 })
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("refuses input that is not an object, messages that are not text or parts, bad tool results", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const refused = [
        [null, "record"],
        [{ user: null, assistant: "a" }, "user"],
        [{ user: "q", assistant: 42 }, "assistant"],
        [{ toolResults: [{ toolCallId: 7, output: "x" }] }, "toolResults[0].toolCallId"],
        [{ toolResults: "done" }, "toolResults"]
      ] as const
      for (const [input, field] of refused) {
        const error = yield* Effect.flip(session.record(fromJavaScript(input)))
        expect(error).toMatchObject({ _tag: "InvalidInput", field })
      }
      expect(yield* storedMessages).toEqual([])
    }).pipe(Effect.provide(MnesisTest)))
})

describe("send and stream decode the message and options", () => {
  it.effect("a message that is neither a string nor an array of parts is InvalidInput, and nothing is stored", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      for (const message of [null, undefined, 42, { type: "text", text: "not in an array" }]) {
        const error = yield* Effect.flip(session.send(fromJavaScript(message)))
        expect(error).toMatchObject({ _tag: "InvalidInput", field: "message" })
        expect(error.message).toContain("must be a string or an array of parts")
        const streamed = yield* Effect.flip(Stream.runDrain(session.stream(fromJavaScript(message))))
        expect(streamed).toMatchObject({ _tag: "InvalidInput", field: "message" })
      }
      expect(yield* storedMessages).toEqual([])
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("malformed send options are InvalidInput before the user message is stored", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL })
      const refused = [
        [null, "options"],
        [{ maxSteps: 0 }, "maxSteps"],
        [{ maxSteps: Number.NaN }, "maxSteps"],
        [{ tools: [null] }, "tools[0]"],
        [{ systemPrompt: 5 }, "systemPrompt"],
        [{ onPart: "log" }, "onPart"]
      ] as const
      for (const [options, field] of refused) {
        const error = yield* Effect.flip(session.send("hello", fromJavaScript<Session.SendOptions>(options)))
        expect(error).toMatchObject({ _tag: "InvalidInput", field })
        const streamed = yield* Effect.flip(
          Stream.runDrain(session.stream("hello", fromJavaScript<Session.SendOptions>(options)))
        )
        expect(streamed).toMatchObject({ _tag: "InvalidInput", field })
      }
      expect(yield* storedMessages).toEqual([])
    }).pipe(Effect.provide(MnesisTest)))
})

describe("create and load decode their options before a session is stored", () => {
  it.effect("malformed options are InvalidInput and no session is stored", () =>
    Effect.gen(function*() {
      const cycle: Record<string, unknown> = {}
      cycle["self"] = cycle
      const refused = [
        [null, "options"],
        [{ model: 42 }, "model"],
        [{ model: MODEL, systemPrompt: null }, "systemPrompt"],
        [{ model: MODEL, tools: [null] }, "tools[0]"],
        [
          { model: MODEL, tools: [{ name: "t", description: "d", inputSchema: {}, execute: "run" }] },
          "tools[0].execute"
        ],
        [{ model: MODEL, memoryTools: "yes" }, "memoryTools"],
        [{ model: MODEL, metadata: { size: 10n } }, "metadata"],
        [{ model: MODEL, metadata: cycle }, "metadata"],
        [{ model: MODEL, parentId: "my-parent" }, "parentId"]
      ] as const
      for (const [options, field] of refused) {
        const error = yield* Effect.flip(Session.create(fromJavaScript(options)))
        expect(error).toMatchObject({ _tag: "InvalidInput", field })
      }
      expect(yield* Effect.flatMap(Storage.Storage, (store) => store.listSessions())).toEqual([])
      const session = yield* Session.create({ model: MODEL })
      const error = yield* Effect.flip(Session.load(session.id, fromJavaScript({ tools: {} })))
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "tools" })
    }).pipe(Effect.provide(MnesisTest)))
})

describe("a stored finish reason mnesis does not know", () => {
  it.scoped("reads as \"other\" with a warning, and the session carries on", () =>
    Effect.gen(function*() {
      const database = yield* sharedDatabase
      const layer = makeTest()
      const id = yield* Effect.gen(function*() {
        const session = yield* Session.create({
          model: MODEL,
          storage: database.layer()
        })
        yield* session.record({ user: "What is 2 + 2?", assistant: "4" })
        yield* session.close
        return session.id
      }).pipe(Effect.provide(layer))
      // What `record` stored before it validated its input: the provider's name, as given.
      yield* database.execute("UPDATE messages SET finish_reason = 'end_turn' WHERE role = 'assistant'")

      const warnings: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
      yield* Effect.gen(function*() {
        const session = yield* Session.load(id, { storage: database.layer() })
        const messages = yield* session.messages()
        expect(messages.map((m) => m.finishReason)).toEqual([undefined, "other"])
        expect(messages[1]!.text).toBe("4")
        expect((yield* session.contextForNextTurn()).messages.length).toBe(2)
        expect((yield* session.send("And 3 + 3?")).text).toContain("And 3 + 3?")
        expect(yield* session.history()).toHaveLength(2)
        yield* session.close
      }).pipe(
        Effect.provide(makeTest()),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      expect(warnings.some((w) => w.includes("end_turn") && w.includes("\"other\""))).toBe(true)
    }))
})
