/**
 * Per-turn engine overhead of `send` with a zero-latency MockLlm, at 1K, 10K and 100K stored
 * messages. The active context is the same size in every case (200 items, as if the rest had
 * been compacted), so any growth with history size is the engine reading what it should not.
 * Time spent inside the mock provider is measured and subtracted.
 *
 * Targets: p50 ratio 100K ÷ 1K ≤ 1.3; absolute p50 ≤ 2 ms.
 */
import { ManagedRuntime } from "effect"
import * as NodePath from "node:path"
import * as Session from "../src/Session.js"
import type { Benchmark, Figure } from "./harness.js"
import { check, percentile, round } from "./harness.js"
import { providerClock, seedHistory, timedTestLayer } from "./support.js"

const config = {
  compaction: { auto: false },
  modelOverrides: { contextLimit: 400_000, maxOutputTokens: 8_000 }
} as const

const measure = async (dir: string, stored: number, turns: number) => {
  const filename = NodePath.join(dir, `session-${stored}-${Math.random().toString(36).slice(2)}.db`)
  const runtime = ManagedRuntime.make(timedTestLayer(config, filename))
  const session = await runtime.runPromise(Session.create({ model: "mock/bench", config }))
  seedHistory(filename, session.id, stored, 200)
  for (let i = 0; i < 100; i++) await runtime.runPromise(session.send(`warm-up ${i}`))
  const samples: Array<number> = []
  for (let i = 0; i < turns; i++) {
    providerClock.ms = 0
    const start = performance.now()
    await runtime.runPromise(session.send(`turn ${i}: what next?`))
    samples.push(performance.now() - start - providerClock.ms)
  }
  await runtime.runPromise(session.close)
  await runtime.dispose()
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) }
}

const benchmark: Benchmark = {
  name: "session",
  description: "per-turn engine overhead of send (zero-latency mock) vs stored history size",
  run: async ({ quick, tmpDir }) => {
    const turns = quick ? 150 : 500
    const sizes = quick ? [1_000, 20_000] : [1_000, 10_000, 100_000]
    // One unmeasured pass first, so every measured size runs on warmed-up code.
    await measure(tmpDir, 500, turns)
    const results = new Map<number, { p50: number; p95: number }>()
    for (const size of sizes) results.set(size, await measure(tmpDir, size, turns))
    const small = results.get(1_000)!
    const largest = sizes[sizes.length - 1]!
    const big = results.get(largest)!
    const figures: Array<Figure> = sizes.map((size) => ({
      metric: `send overhead p50 / p95, ${size.toLocaleString("en")} stored messages`,
      value: round(results.get(size)!.p50),
      unit: `ms (p95 ${round(results.get(size)!.p95)} ms)`
    }))
    figures.push({
      metric: `send overhead p50, ${largest.toLocaleString("en")} vs 1,000 stored messages`,
      value: round(big.p50),
      unit: "ms",
      baseline: { label: "1,000 messages", value: round(small.p50) },
      ratio: round(big.p50 / small.p50),
      ...check({ value: big.p50 / small.p50, op: "≤", limit: 1.3, kind: "ratio", label: "ratio", quick })
    })
    figures.push({
      metric: "send overhead p50, absolute",
      value: round(small.p50),
      unit: "ms",
      ...check({ value: small.p50, op: "≤", limit: 2, kind: "absolute", unit: "ms", quick })
    })
    return figures
  }
}

export default benchmark
