/**
 * Session benchmarks, engine time only (a zero-latency MockLlm whose time is measured and
 * subtracted).
 *
 * 1. Per-turn overhead of `send` at 1K, 10K and 100K stored messages. The active context is the
 *    same size in every case (200 items, as if the rest had been compacted), so any growth with
 *    history size is the engine reading what it should not. Targets: p50 ratio 100K ÷ 1K ≤ 1.3;
 *    absolute p50 ≤ 2 ms.
 * 2. `record` of one exchange (bring your own LLM: a user and an assistant message, their
 *    snapshot) on the same 1K session. Target: median ≤ 2 ms.
 * 3. Cold context build: the first `contextForNextTurn` after `Session.load` of a session this
 *    process has not opened (nothing of it cached), 200 items, against a raw node:sqlite query of
 *    the same rows (the items, then the messages with their parts). Target ratio ≤ 3.
 */
import { ManagedRuntime } from "effect"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import * as Session from "../src/Session.js"
import type { Benchmark, Figure } from "./harness.js"
import { check, median, percentile, round } from "./harness.js"
import { providerClock, seedHistory, timedTestLayer } from "./support.js"

const config = {
  compaction: { auto: false },
  modelOverrides: { contextLimit: 400_000, maxOutputTokens: 8_000 }
} as const

const dbFile = (dir: string, label: string) =>
  NodePath.join(dir, `session-${label}-${Math.random().toString(36).slice(2)}.db`)

const measure = async (dir: string, stored: number, turns: number) => {
  const filename = dbFile(dir, String(stored))
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

/** Median time of `record` for one exchange on a session of 1,000 stored messages. */
const recordTime = async (dir: string, exchanges: number) => {
  const filename = dbFile(dir, "record")
  const runtime = ManagedRuntime.make(timedTestLayer(config, filename))
  const session = await runtime.runPromise(Session.create({ model: "mock/bench", config }))
  seedHistory(filename, session.id, 1_000, 200)
  const record = (i: number) =>
    runtime.runPromise(session.record({
      user: `question ${i}: where did we leave the deployment notes?`,
      assistant: `answer ${i}: in docs/deploy.md, section three, next to the rollback steps.`
    }))
  for (let i = 0; i < 100; i++) await record(i)
  const samples: Array<number> = []
  for (let i = 0; i < exchanges; i++) {
    const start = performance.now()
    await record(i)
    samples.push(performance.now() - start)
  }
  await runtime.runPromise(session.close)
  await runtime.dispose()
  return median(samples)
}

/**
 * The cold build after `load` against the raw query of the same rows, median of `samples` each.
 * Cold for the session (nothing of it cached: a session this process never opened), not for the
 * process: one runtime, as in a server that loads sessions on a store it already uses.
 */
const coldBuild = async (dir: string, samples: number) => {
  const filename = dbFile(dir, "cold")
  const runtime = ManagedRuntime.make(timedTestLayer(config, filename))
  const ids: Array<string> = []
  for (let i = 0; i < samples + 5; i++) {
    const created = await runtime.runPromise(Session.create({ model: "mock/bench", config }))
    await runtime.runPromise(created.close)
    seedHistory(filename, created.id, 1_000, 200)
    ids.push(created.id)
  }

  const db = new DatabaseSync(filename, { readOnly: true })
  const items = db.prepare(`SELECT position, item_type, item_id, role, token_count FROM context_items
    WHERE session_id = ? ORDER BY position`)
  const messages = db.prepare(`SELECT m.*, p.id AS part_id, p.type, p.content, p.token_count, p.tool_status,
      p.tool_output, p.tool_error, p.started_at, p.completed_at, p.compacted_at
    FROM json_each(?) j JOIN messages m ON m.id = j.value LEFT JOIN parts p ON p.message_id = m.id
    ORDER BY j.key, p.idx`)
  const raw = (id: string) => {
    const rows = items.all(id)
    const read = messages.all(JSON.stringify(rows.map((row) => row["item_id"])))
    if (read.length !== 200) throw new Error(`expected 200 rows, read ${read.length}`)
  }

  const library: Array<number> = []
  const floor: Array<number> = []
  for (const [i, id] of ids.entries()) {
    const session = await runtime.runPromise(Session.load(id, { config }))
    const start = performance.now()
    const built = await runtime.runPromise(session.contextForNextTurn())
    const elapsed = performance.now() - start
    if (built.items.length !== 200) throw new Error(`expected 200 items, built ${built.items.length}`)
    await runtime.runPromise(session.close)
    const rawStart = performance.now()
    raw(id)
    // the first few warm the code of both paths up
    if (i >= 5) {
      floor.push(performance.now() - rawStart)
      library.push(elapsed)
    }
  }
  db.close()
  await runtime.dispose()
  return { library: median(library), raw: median(floor) }
}

const benchmark: Benchmark = {
  name: "session",
  description:
    "per-turn engine overhead of send and record (zero-latency mock); cold context build vs raw SQL",
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
    const record = await recordTime(tmpDir, quick ? 200 : 1_000)
    figures.push({
      metric: "record of one exchange, median, 1,000 stored messages",
      value: round(record),
      unit: "ms",
      ...check({ value: record, op: "≤", limit: 2, kind: "absolute", label: "median", unit: "ms", quick })
    })
    const cold = await coldBuild(tmpDir, quick ? 15 : 40)
    figures.push({
      metric: "cold context build after load, 200 items, median",
      value: round(cold.library),
      unit: "ms",
      baseline: { label: "raw node:sqlite query of the same rows", value: round(cold.raw) },
      ratio: round(cold.library / cold.raw),
      ...check({ value: cold.library / cold.raw, op: "≤", limit: 3, kind: "ratio", label: "ratio", quick })
    })
    return figures
  }
}

export default benchmark
