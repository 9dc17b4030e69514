/**
 * `grep` latency over a large history: p50/p95 of the memory tool's full-text search (and of a
 * simple regex scan) on one session of 1,000,000 stored messages (`--quick`: 50,000). The search
 * index is brought up to date before timing (it is built in batches before a search).
 *
 * Target: full-text p50 ≤ 20 ms.
 */
import { Effect, ManagedRuntime } from "effect"
import * as NodePath from "node:path"
import { makeTest } from "../src/Layers.js"
import * as Session from "../src/Session.js"
import * as SqliteStore from "../src/storage/sqlite/SqliteStore.js"
import type { Benchmark } from "./harness.js"
import { check, percentile, round } from "./harness.js"
import { seedHistory } from "./support.js"

const time = async (runs: number, call: (i: number) => Promise<unknown>) => {
  const samples: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await call(i)
    samples.push(performance.now() - start)
  }
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) }
}

const benchmark: Benchmark = {
  name: "grep",
  description: "memory-tool grep latency over a session of 1M stored messages (fulltext and regex)",
  run: async ({ quick, tmpDir }) => {
    const messages = quick ? 50_000 : 1_000_000
    const filename = NodePath.join(tmpDir, "grep.db")
    const runtime = ManagedRuntime.make(makeTest({ storage: SqliteStore.layer({ filename }) }))
    const session = await runtime.runPromise(
      Session.create({ model: "mock/bench", config: { compaction: { auto: false } } })
    )
    seedHistory(filename, session.id, messages, 200)
    const indexStart = performance.now()
    await runtime.runPromise(session.grep({ pattern: "warm" }))
    const indexSeconds = (performance.now() - indexStart) / 1000

    // Rare terms (one message each), common phrases, prefixes: what a model asks for.
    const queries = (i: number) =>
      i % 3 === 0
        ? `message ${Math.floor((i * 7_919) % messages) + 1}`
        : i % 3 === 1
        ? "lazy dog"
        : "qui*"
    for (let i = 0; i < 10; i++) await runtime.runPromise(session.grep({ pattern: queries(i) }))
    const fulltext = await time(
      quick ? 60 : 150,
      (i) => runtime.runPromise(session.grep({ pattern: queries(i) }))
    )
    const regex = await time(quick ? 5 : 10, (i) =>
      runtime.runPromise(
        Effect.map(session.grep({ pattern: `message ${(i * 104_729) % messages}\\b`, mode: "regex" }), (r) =>
          r.hits.length)
      ))
    await runtime.runPromise(session.close)
    await runtime.dispose()
    return [
      {
        metric: `grep fulltext p50 / p95, ${messages.toLocaleString("en")} messages`,
        value: round(fulltext.p50),
        unit: `ms (p95 ${round(fulltext.p95)} ms)`,
        ...check({
          value: fulltext.p50,
          op: "≤",
          limit: 20,
          kind: "absolute",
          label: "p50",
          unit: "ms",
          quick
        })
      },
      {
        metric: "grep regex p50 / p95 (bounded scan, stops at 2 s with a cursor)",
        value: round(regex.p50),
        unit: `ms (p95 ${round(regex.p95)} ms)`
      },
      {
        metric: "building the search index for the whole history, once",
        value: round(indexSeconds, 1),
        unit: "s"
      }
    ]
  }
}

export default benchmark
