/**
 * LLM-Map with a scripted MockLlm: replies decoded with the schema, rejected replies retried with
 * the real decode error and the reply itself, transient errors retried, timeouts, permanent
 * failures per item, bounded concurrency (measured), completion-order streaming and JSON Lines in
 * and out.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Schema, Stream, TestClock } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { LlmAuthenticationError, LlmOverloaded, LlmRateLimited } from "../../src/Errors.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import { LlmMap } from "../../src/Operators.js"
import { tempDir } from "../support/storage.js"
import { layer, measuredLayer, Peak, requests, scriptByItem, textsOf } from "./support.js"

const Sentiment = Schema.Struct({
  label: Schema.Literal("positive", "negative"),
  score: Schema.Number.pipe(Schema.between(0, 1))
})

const reply = (value: unknown) => MockLlm.Reply.text(JSON.stringify(value))

describe("LlmMap", () => {
  it.effect("one call per item; each reply decoded with the schema", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        reply({ label: "positive", score: 0.9 }),
        reply({ label: "negative", score: 0.2 })
      )
      const batch = yield* LlmMap.runAll({
        items: ["I love it", "I hate it"],
        template: "Sentiment of: {{ item }}",
        schema: Sentiment,
        model: "mock/map",
        concurrency: 1
      })
      expect(batch.total).toBe(2)
      expect(batch.failures).toEqual([])
      expect(batch.successes.map((s) => [s.input, s.output])).toEqual([
        ["I love it", { label: "positive", score: 0.9 }],
        ["I hate it", { label: "negative", score: 0.2 }]
      ])
      expect(batch.attempts).toBe(2)
      const sent = yield* requests
      expect(sent.map((r) => textsOf(r))).toEqual([["Sentiment of: I love it"], ["Sentiment of: I hate it"]])
      // structured output is asked for, and the schema goes with the instructions
      expect(sent[0]!.output?.schema).toMatchObject({ type: "object", required: ["label", "score"] })
      expect(sent[0]!.system.map((b) => b.text).join("\n")).toContain("\"label\"")
    }).pipe(Effect.provide(layer())))

  it.effect("a reply that does not decode is retried with the decode error and the rejected reply", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(reply({ label: "meh", score: 3 }), reply({ label: "negative", score: 0.3 }))
      const batch = yield* LlmMap.runAll({
        items: ["so-so"],
        template: "{{ item }}",
        schema: Sentiment,
        model: "mock/map"
      })
      expect(batch.successes.map((s) => s.output)).toEqual([{ label: "negative", score: 0.3 }])
      expect(batch.successes[0]!.attempts).toBe(2)
      const [, retry] = yield* requests
      const texts = textsOf(retry!)
      // the conversation: the prompt, the rejected reply as the model wrote it, then the exact error
      expect(texts[0]).toBe("so-so")
      expect(texts[1]).toBe(JSON.stringify({ label: "meh", score: 3 }))
      expect(texts[2]).toContain("\"meh\"")
      expect(texts[2]).toContain("label")
      expect(texts[2]).toMatch(/Expected "positive" \| "negative"|Expected "positive"/)
      expect(retry!.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"])
    }).pipe(Effect.provide(layer())))

  it.effect("an item whose replies never decode fails with InvalidOutput after maxRetries", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.text("not json"),
        MockLlm.Reply.text("```json\n{\"label\": 1}\n```")
      )
      const batch = yield* LlmMap.runAll({
        items: ["x"],
        template: "{{ item }}",
        schema: Sentiment,
        model: "mock/map",
        maxRetries: 1
      })
      expect(batch.successes).toEqual([])
      const [failure] = batch.failures
      expect(failure!.attempts).toBe(2)
      expect(failure!.reason).toMatchObject({ _tag: "InvalidOutput", reply: "```json\n{\"label\": 1}\n```" })
      // the first retry was told the reply was not JSON at all
      const [, second] = yield* requests
      expect(textsOf(second!)[2]).toContain("not valid JSON")
    }).pipe(Effect.provide(layer())))

  it.effect("transient provider errors are retried; a permanent one fails its item alone", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        a: [
          MockLlm.Reply.fail(new LlmOverloaded({ provider: "mock", detail: "busy" })),
          reply({ label: "positive", score: 1 })
        ],
        b: [MockLlm.Reply.fail(new LlmAuthenticationError({ provider: "mock", detail: "bad key" }))]
      })
      const batch = yield* LlmMap.runAll({
        items: ["a", "b"],
        template: "{{ item }}",
        schema: Sentiment,
        model: "mock/map"
      })
      expect(batch.successes.map((s) => [s.input, s.attempts])).toEqual([["a", 2]])
      expect(batch.failures.map((f) => [f.input, f.attempts, f.reason._tag])).toEqual([
        ["b", 1, "ProviderFailed"]
      ])
      expect(batch.failures[0]!.reason).toMatchObject({ errorTag: "LlmAuthenticationError" })
    }).pipe(Effect.provide(layer())))

  it.effect("a call past the timeout fails its item with Timeout (TestClock)", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        slow: [{ ...reply({ label: "positive", score: 1 }), latency: "2 seconds" }],
        fast: [reply({ label: "negative", score: 0 })]
      })
      const fiber = yield* Effect.fork(LlmMap.runAll({
        items: ["slow", "fast"],
        template: "{{ item }}",
        schema: Sentiment,
        model: "mock/map",
        timeout: "50 millis",
        maxRetries: 0
      }))
      yield* TestClock.adjust("1 second")
      const batch = yield* Fiber.join(fiber)
      expect(batch.failures.map((f) => [f.input, f.reason._tag])).toEqual([["slow", "Timeout"]])
      expect(batch.failures[0]!.reason).toMatchObject({ timeoutMs: 50 })
      expect(batch.successes.map((s) => s.input)).toEqual(["fast"])
    }).pipe(Effect.provide(layer())))

  it.effect("an item backing off before its retry leaves its call slot to the next item (TestClock)", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        a: [
          MockLlm.Reply.fail(
            new LlmRateLimited({ provider: "mock", detail: "slow down", retryAfterMs: 30_000 })
          ),
          reply({ label: "positive", score: 1 })
        ],
        b: [reply({ label: "negative", score: 0 })],
        c: [reply({ label: "negative", score: 0.5 })]
      })
      const seen: Array<string> = []
      const fiber = yield* LlmMap.run({
        items: ["a", "b", "c"],
        template: "{{ item }}",
        schema: Sentiment,
        model: "mock/map",
        concurrency: 1
      }).pipe(
        Stream.runForEach((result) => Effect.sync(() => seen.push(String(result.input)))),
        Effect.fork
      )
      // a is waiting 30 s for its retry; with one call slot, b and c are answered meanwhile
      yield* TestClock.adjust("1 second")
      expect(seen).toEqual(["b", "c"])
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(fiber)
      expect(seen).toEqual(["b", "c", "a"])
    }).pipe(
      Effect.provide(
        layer({ config: { session: { retry: { baseDelay: 0, jitter: false, maxDelay: 60_000 } } } })
      )
    ))

  it.live("never more calls in flight than the concurrency limit (measured at the provider)", () =>
    Effect.gen(function*() {
      const batch = yield* LlmMap.runAll({
        items: Array.from({ length: 40 }, (_, i) => ({ id: i })),
        template: "Item {{ item.id }}",
        schema: Schema.Struct({ id: Schema.String }),
        model: "mock/map",
        concurrency: 3
      })
      expect(batch.successes).toHaveLength(40)
      const peak = yield* yield* Peak
      expect(peak).toBe(3)
    }).pipe(Effect.provide(measuredLayer({ mock: { deltaLatency: "2 millis" } }))))

  it.effect("results stream in completion order (TestClock)", () =>
    Effect.gen(function*() {
      const latency = { first: "120 millis", second: "60 millis", third: "1 millis" } as const
      yield* scriptByItem(
        Object.fromEntries(
          Object.entries(latency).map(([item, ms]) => [item, [{ ...reply({ id: item }), latency: ms }]])
        )
      )
      const fiber = yield* LlmMap.run({
        items: ["first", "second", "third"],
        template: "{{ item }}",
        schema: Schema.Struct({ id: Schema.String }),
        model: "mock/map",
        concurrency: 3
      }).pipe(Stream.runCollect, Effect.fork)
      yield* TestClock.adjust("1 second")
      const results = yield* Fiber.join(fiber)
      expect(Chunk.toReadonlyArray(results).map((r) => [r.index, r.input])).toEqual([
        [2, "third"],
        [1, "second"],
        [0, "first"]
      ])
    }).pipe(Effect.provide(layer())))

  it.scoped("items from a JSON Lines file, results to one", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const input = NodePath.join(dir, "in.jsonl")
      const output = NodePath.join(dir, "out.jsonl")
      NodeFs.writeFileSync(input, "{\"text\":\"good\"}\n\n{\"text\":\"bad\"}\n")
      const batch = yield* LlmMap.runAll({
        items: { jsonl: input, schema: Schema.Struct({ text: Schema.String }) },
        template: "Sentiment of {{ item.text }}",
        schema: Sentiment,
        model: "mock/map",
        output: { jsonl: output }
      })
      expect(batch.successes.map((s) => s.input)).toEqual([{ text: "good" }, { text: "bad" }])
      const Line = Schema.parseJson(
        Schema.Struct({ index: Schema.Number, status: Schema.String, output: Schema.Unknown })
      )
      const lines = NodeFs.readFileSync(output, "utf8").trim().split("\n").map((line) =>
        Schema.decodeUnknownSync(Line)(line)
      )
      expect(lines).toHaveLength(2)
      expect(lines.map((l) => l.index).sort()).toEqual([0, 1])
      for (const line of lines) {
        expect(line.status).toBe("done")
        // the mock answers structured requests with values of the schema
        expect(Schema.is(Sentiment)(line.output)).toBe(true)
      }
    }).pipe(Effect.provide(layer())))

  it.effect("a template that does not use the item is refused before any call", () =>
    Effect.gen(function*() {
      const error = yield* LlmMap.runAll({
        items: ["a"],
        template: "Classify {{ itme }}",
        schema: Sentiment,
        model: "mock/map"
      }).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "template" })
      expect(yield* requests).toEqual([])
    }).pipe(Effect.provide(layer())))
})
