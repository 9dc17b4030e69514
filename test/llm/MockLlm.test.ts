import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, FastCheck, Fiber, Option, Stream, TestClock } from "effect"
import type { LevelContext } from "../../src/compaction/Levels.js"
import { requestFor } from "../../src/compaction/Levels.js"
import { defaultConfig } from "../../src/Config.js"
import { LlmOverloaded, LlmRateLimited } from "../../src/Errors.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import type { LlmEvent, LlmRequest } from "../../src/LlmProvider.js"
import { collect, complete, LlmProvider } from "../../src/LlmProvider.js"
import * as ModelRegistry from "../../src/ModelRegistry.js"
import { countTokens } from "../../src/Tokenizer.js"
import { nextMacrotask } from "../support/eventLoop.js"

const request = (text: string, extra: Partial<LlmRequest> = {}): LlmRequest => ({
  model: "mock/test",
  system: [{ text: "You are a test." }],
  messages: [{ role: "user", content: [{ type: "text", text }] }],
  maxTokens: 1_000,
  ...extra
})

/** A summarisation request as the compactor writes it (see `requestFor` in compaction/Levels.ts). */
const summarize = (transcript: string, level: 1 | 2 = 1): LlmRequest =>
  requestFor(levelContext("messages"), transcript, level)

const levelContext = (input: LevelContext["input"], compactionPrompt?: string): LevelContext => ({
  provider: { stream: () => Stream.empty },
  model: "mock/test",
  info: ModelRegistry.resolve("mock/test"),
  config: { ...defaultConfig.compaction, ...(compactionPrompt === undefined ? {} : { compactionPrompt }) },
  count: countTokens,
  input
})

const events = (req: LlmRequest) =>
  Effect.flatMap(
    LlmProvider,
    (provider) => Effect.map(Stream.runCollect(provider.stream(req)), Chunk.toReadonlyArray)
  )

describe("MockLlm", () => {
  it.effect("is deterministic: the same request gets the same reply and usage", () =>
    Effect.gen(function*() {
      const a = yield* complete(request("Explain the GIL in Python."))
      const b = yield* complete(request("Explain the GIL in Python."))
      expect(a).toEqual(b)
      expect(a.text).toContain("Explain the GIL in Python.")
      expect(a.finishReason).toBe("stop")
      const other = yield* complete(request("Something else"))
      expect(other.text).not.toEqual(a.text)
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("keeps the requests it was sent unless told not to (the env mock keeps none)", () =>
    Effect.gen(function*() {
      const kept = yield* MockLlm.make()
      const dropped = yield* MockLlm.make({ keepRequests: false })
      for (const mock of [kept, dropped]) {
        yield* Stream.runDrain(mock.provider.stream(request("one")))
        yield* Stream.runDrain(mock.provider.stream(request("two")))
      }
      expect((yield* kept.control.requests).map((r) => r.messages[0]?.content[0])).toEqual([
        { type: "text", text: "one" },
        { type: "text", text: "two" }
      ])
      expect(yield* dropped.control.requests).toEqual([])
    }))

  it.effect("counts usage with the real tokenizer", () =>
    Effect.gen(function*() {
      const req = request("count me please")
      const response = yield* complete(req)
      expect(response.usage.input).toBe(countTokens(MockLlm.requestText(req)))
      expect(response.usage.output).toBe(countTokens(response.text))
      expect(response.usage.input).toBeGreaterThan(0)
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("streams a reply in several deltas that add up to the text", () =>
    Effect.gen(function*() {
      const all = yield* events(request("one two three four five six seven eight"))
      const deltas = all.filter((e): e is Extract<LlmEvent, { type: "text_delta" }> =>
        e.type === "text_delta"
      )
      expect(deltas.length).toBeGreaterThan(2)
      expect(all[all.length - 1]).toEqual({ type: "finish", reason: "stop" })
      expect(all[all.length - 2]!.type).toBe("usage")
      const response = yield* complete(request("one two three four five six seven eight"))
      expect(deltas.map((d) => d.text).join("")).toBe(response.text)
    }).pipe(Effect.provide(MockLlm.layer({ deltas: 5 }))))

  it.effect("with a per-delta latency the first delta arrives before the reply is finished", () =>
    Effect.gen(function*() {
      const provider = yield* LlmProvider
      const seen: Array<string> = []
      const fiber = yield* provider.stream(request("a b c d e f g h")).pipe(
        Stream.runForEach((event) => Effect.sync(() => seen.push(event.type))),
        Effect.fork
      )
      yield* TestClock.adjust("100 millis")
      expect(seen).toEqual(["text_delta"])
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(seen.slice(-2)).toEqual(["usage", "finish"])
    }).pipe(Effect.provide(MockLlm.layer({ deltas: 4, deltaLatency: "100 millis" }))))

  it.effect("plays a script in order, then falls back to derived replies", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.toolCalls([{ name: "add", input: { a: 1, b: 2 } }], { text: "Let me add." }),
        MockLlm.Reply.text("The sum is 3."),
        (req) => MockLlm.Reply.text(`echo ${req.messages.length}`)
      )
      const first = yield* complete(request("add 1 and 2"))
      expect(first.finishReason).toBe("tool_calls")
      expect(first.text).toBe("Let me add.")
      expect(first.toolCalls).toMatchObject([{ name: "add", input: { a: 1, b: 2 } }])
      expect((yield* complete(request("x"))).text).toBe("The sum is 3.")
      expect((yield* complete(request("x"))).text).toBe("echo 1")
      expect((yield* complete(request("x"))).text).toContain("[mock reply]")
      expect((yield* control.requests).length).toBe(4)
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("scripts malformed tool input, typed failures and cut streams", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.malformed("search", "{\"q\": "),
        MockLlm.Reply.fail(new LlmRateLimited({ provider: "mock", detail: "slow down", retryAfterMs: 10 })),
        MockLlm.Reply.fail(new LlmOverloaded({ provider: "mock", detail: "busy" })),
        MockLlm.Reply.cut("partial answ")
      )
      const malformed = yield* complete(request("x"))
      expect(malformed.toolCalls[0]).toMatchObject({ name: "search", input: "{\"q\": " })
      expect(typeof malformed.toolCalls[0]?.inputError).toBe("string")
      expect((yield* Effect.flip(complete(request("x"))))._tag).toBe("LlmRateLimited")
      expect((yield* Effect.flip(complete(request("x"))))._tag).toBe("LlmOverloaded")
      const cut = yield* Effect.flip(complete(request("x")))
      expect(cut._tag).toBe("LlmConnectionError")
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("a cut stream delivers its partial deltas and then fails, never finishing", () =>
    Effect.gen(function*() {
      const provider = yield* LlmProvider
      const seen: Array<LlmEvent> = []
      const result = yield* provider.stream(request("x")).pipe(
        Stream.runForEach((e) => Effect.sync(() => seen.push(e))),
        Effect.either
      )
      expect(result._tag).toBe("Left")
      expect(seen.map((e) => e.type)).not.toContain("finish")
      expect(seen.some((e) => e.type === "text_delta")).toBe(true)
    }).pipe(Effect.provide(MockLlm.layer({ script: [MockLlm.Reply.cut("a partial answer that stops")] }))))

  it.effect("summarisation requests get an extractive summary shorter than the transcript", () =>
    Effect.gen(function*() {
      const transcript = Array.from({ length: 60 }, (_, i) =>
        i === 17
          ? "[user]\nYou must never touch src/legacy/payments.ts without running npm test first."
          : `[assistant]\nParagraph ${i}: some general discussion about the weather and nothing in particular.`)
        .join("\n")
      const response = yield* complete(summarize(transcript))
      expect(countTokens(response.text)).toBeLessThan(countTokens(transcript))
      expect(response.text).toContain("src/legacy/payments.ts")
      const terse = yield* complete(summarize(transcript, 2))
      expect(countTokens(terse.text)).toBeLessThanOrEqual(countTokens(response.text))
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("summaries are always shorter than their transcript (property)", () =>
    Effect.gen(function*() {
      const provider = yield* LlmProvider
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(
            FastCheck.array(FastCheck.lorem({ maxCount: 12 }), { minLength: 5, maxLength: 60 }),
            FastCheck.constantFrom<1 | 2>(1, 2),
            async (lines, level) => {
              await nextMacrotask()
              const transcript = lines.map((line, i) => `[${i % 2 === 0 ? "user" : "assistant"}]\n${line}`)
                .join("\n")
              const response = await Effect.runPromise(
                collect("mock", provider.stream(summarize(transcript, level)))
              )
              return countTokens(response.text) < countTokens(transcript)
            }
          ),
          { numRuns: 200 }
        )
      )
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("summaries can be scripted separately from turns", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(
        MockLlm.Reply.fail(new LlmOverloaded({ provider: "mock", detail: "no" }))
      )
      expect(yield* Effect.flip(complete(summarize("[user]\nhello there, long text")))).toMatchObject({
        _tag: "LlmOverloaded",
        detail: "no"
      })
      const turn = yield* complete(request("still fine"))
      expect(turn.text).toContain("still fine")
      const requests = yield* control.requests
      expect(requests.map(MockLlm.isSummaryRequest)).toEqual([true, false])
    }).pipe(Effect.provide(MockLlm.layer())))

  describe("recognises what a call is for from the request itself", () => {
    const transcript = "[user]\nPlease rename src/a.ts to src/b.ts.\n[assistant]\nDone: renamed it."

    it("the compactor's requests, with their transcript and level, whatever the input or prompt", () => {
      for (const input of ["messages", "summaries"] as const) {
        for (const level of [1, 2] as const) {
          const found = MockLlm.summaryRequestOf(requestFor(levelContext(input), transcript, level))
          expect(found, `${input} level ${level}`).toEqual(Option.some({ transcript, level }))
        }
      }
      const pirate = requestFor(levelContext("messages", "Summarise like a pirate."), transcript, 2)
      expect(MockLlm.summaryRequestOf(pirate)).toEqual(Option.some({ transcript, level: 1 }))
    })

    it("never a turn, even one that quotes a transcript or carries tools", () => {
      const quoted = request(`<transcript>\n${transcript}\n</transcript>\n\nWrite the summary now?`)
      expect(MockLlm.isSummaryRequest(request("Summarise this for me."))).toBe(false)
      expect(MockLlm.isSummaryRequest(quoted)).toBe(false)
      const withTools: LlmRequest = {
        ...summarize(transcript),
        tools: [{ name: "grep", description: "search", inputSchema: { type: "object" } }]
      }
      expect(MockLlm.isSummaryRequest(withTools)).toBe(false)
      const twoMessages: LlmRequest = {
        ...summarize(transcript),
        messages: [...summarize(transcript).messages, {
          role: "user",
          content: [{ type: "text", text: "hi" }]
        }]
      }
      expect(MockLlm.isSummaryRequest(twoMessages)).toBe(false)
    })
  })
})
