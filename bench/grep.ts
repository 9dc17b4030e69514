/**
 * `grep` latency over a large history: p50/p95 of the memory tool's full-text search (and of a
 * simple regex scan) on one session of 1,000,000 stored messages (`--quick`: 50,000). The search
 * index is brought up to date before timing (it is built in batches before a search).
 * Then a rare term (a number that occurs in one message) at 100,000 messages, through the memory
 * tool and through the store alone.
 *
 * Targets: full-text p50 ≤ 20 ms; rare-term median ≤ 0.6 ms at 100,000 messages.
 */
import { Effect, ManagedRuntime } from "effect"
import * as NodePath from "node:path"
import { makeTest } from "../src/Layers.js"
import * as Session from "../src/Session.js"
import * as Storage from "../src/Storage.js"
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

/** The median of a rare-term grep (memory tool and store) on a session of 100,000 messages. */
const rareTerm = async (dir: string, runs: number) => {
  const messages = 100_000
  const filename = NodePath.join(dir, "grep-rare.db")
  const runtime = ManagedRuntime.make(makeTest({ storage: SqliteStore.layer({ filename }) }))
  const session = await runtime.runPromise(
    Session.create({ model: "mock/bench", config: { compaction: { auto: false } } })
  )
  seedHistory(filename, session.id, messages, 200)
  await runtime.runPromise(session.grep({ pattern: "warm" }))
  const store = await runtime.runPromise(Storage.Storage)
  // each message's text holds its number: a term that occurs once in the history
  const term = (i: number) => String(((i * 7_919) % messages) + 1)
  for (let i = 0; i < 20; i++) await runtime.runPromise(session.grep({ pattern: term(i) }))
  const tool = await time(runs, (i) => runtime.runPromise(session.grep({ pattern: term(i) })))
  const direct = await time(
    runs,
    (i) => runtime.runPromise(store.search({ sessionIds: [session.id], text: term(i), limit: 20 }))
  )
  await runtime.runPromise(session.close)
  await runtime.dispose()
  return { tool: tool.p50, store: direct.p50 }
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
    const rare = await rareTerm(tmpDir, quick ? 100 : 400)
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
      },
      {
        metric: "grep of a rare term (one message), median, 100,000 messages",
        value: round(rare.tool),
        unit: `ms (the store's search alone: ${round(rare.store)} ms)`,
        ...check({
          value: rare.tool,
          op: "≤",
          limit: 0.6,
          kind: "absolute",
          label: "median",
          unit: "ms",
          quick
        })
      }
    ]
  }
}

export default benchmark
