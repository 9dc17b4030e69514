/**
 * Operators benchmark: a 1,000-item LLM-Map on a zero-latency MockLlm (engine time only), against
 * the plain program a user would write without the operator — `Effect.forEach` over the items
 * with the same concurrency, one model call each, the reply parsed and decoded with the same
 * Schema, nothing stored.
 *
 * The difference is what the operator adds per item: the durable run (the item's start and its
 * result written to SQLite, each in its own transaction), the events, the retry and timeout
 * machinery and the result stream. Figures: throughput of both, the ratio, and the engine overhead
 * per item. Target: overhead ≤ 1 ms per item (absolute: reported, never fails a run).
 */
import { Effect, Either, JSONSchema, ManagedRuntime, Schema } from "effect"
import * as NodePath from "node:path"
import { Settings } from "../src/Config.js"
import { makeLayer } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import * as LlmProviderModule from "../src/LlmProvider.js"
import { LlmMap } from "../src/Operators.js"
import * as SqliteStore from "../src/storage/sqlite/SqliteStore.js"
import type { Benchmark } from "./harness.js"
import { check, median, round } from "./harness.js"

const Answer = Schema.Struct({ label: Schema.Literal("a", "b", "c"), score: Schema.Number })
const answerSchema = { ...JSONSchema.make(Answer) }
const CONCURRENCY = 16

const layerFor = (filename: string) =>
  makeLayer({
    settings: Settings.layer({ operators: { llmMapConcurrency: CONCURRENCY } }),
    storage: SqliteStore.layer({ filename }),
    // one delta per reply: the mock's own streaming cost stays small in both measurements
    provider: MockLlm.layer({ keepRequests: false, deltas: 1 })
  })

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: i, text: `ticket ${i}: the app crashes` }))

/** The operator: one durable run of `n` items. */
const operator = (n: number) =>
  Effect.gen(function*() {
    const batch = yield* LlmMap.runAll({
      items: items(n),
      template: "Classify: {{ item.text }}",
      schema: Answer,
      model: "mock/bench"
    })
    if (batch.successes.length !== n) {
      throw new Error(`expected ${n} successes, got ${batch.successes.length}`)
    }
  })

/** The baseline: the same calls by hand, concurrent, decoded, not stored. */
const baseline = (n: number) =>
  Effect.gen(function*() {
    const decode = Schema.decodeUnknownEither(Schema.parseJson(Answer))
    const outputs = yield* Effect.forEach(
      items(n),
      (item) =>
        Effect.map(
          LlmProviderModule.complete({
            model: "mock/bench",
            system: [{ text: "Reply with one JSON object." }],
            messages: [{ role: "user", content: [{ type: "text", text: `Classify: ${item.text}` }] }],
            maxTokens: 1_000,
            output: { name: "result", schema: answerSchema }
          }),
          (response) => decode(response.text)
        ),
      { concurrency: CONCURRENCY }
    )
    if (outputs.length !== n || !outputs.every(Either.isRight)) throw new Error("unexpected baseline outputs")
  })

const timed = async <R>(
  runtime: ManagedRuntime.ManagedRuntime<R, unknown>,
  effect: Effect.Effect<void, unknown, R>
) => {
  const start = performance.now()
  await runtime.runPromise(effect)
  return performance.now() - start
}

const benchmark: Benchmark = {
  name: "operators",
  description:
    "1,000-item LLM-Map on a zero-latency mock: engine overhead per item, throughput vs Effect.forEach",
  run: async ({ quick, tmpDir }) => {
    const n = quick ? 300 : 1_000
    const repeats = quick ? 3 : 5
    const runtime = ManagedRuntime.make(layerFor(NodePath.join(tmpDir, "operators.db")))
    // warm both paths first
    await timed(runtime, operator(100))
    await timed(runtime, baseline(100))
    const ops: Array<number> = []
    const base: Array<number> = []
    for (let i = 0; i < repeats; i++) {
      ops.push(await timed(runtime, operator(n)))
      base.push(await timed(runtime, baseline(n)))
    }
    await runtime.dispose()
    const opMs = median(ops)
    const baseMs = median(base)
    const perItem = (opMs - baseMs) / n
    return [
      {
        metric: `LLM-Map throughput, ${n.toLocaleString("en")} items, concurrency ${CONCURRENCY}`,
        value: round((n / opMs) * 1_000, 0),
        unit: "items/s",
        baseline: { label: "Effect.forEach", value: round((n / baseMs) * 1_000, 0) },
        ratio: round(baseMs / opMs)
      },
      {
        metric: "engine overhead per item (durable run, events, retries, stream)",
        value: round(perItem),
        unit: "ms",
        ...check({
          value: perItem,
          op: "≤",
          limit: 1,
          kind: "absolute",
          label: "overhead",
          unit: "ms",
          quick
        })
      }
    ]
  }
}

export default benchmark
