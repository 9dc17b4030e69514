/**
 * The memory-growth workload, run in its own process (`node --expose-gc`) so that its RSS is its
 * own: `turns` bring-your-own-LLM turns (`contextForNextTurn`, then `record`) on a small window, with
 * background compaction on and a real SQLite file. Prints JSON lines: the baseline, the final
 * reading.
 *
 * Memory is read after a full collection every 1,000 turns, not only at the baseline and the end.
 * Left to itself, V8 lets its heap grow far past what is live before a major collection (in a
 * 5,000-turn run, 220 → 370 MB committed with ~90 MB live), and the heap pages it frees then stay
 * resident: the final RSS then measured how far the heap had grown, not what the process keeps
 * (+60–90 MB in 5,000 turns, all of it in V8's 256 KB heap-page mappings of /proc/self/smaps;
 * malloc's heap, `external` and `arrayBuffers` flat; the same with an in-memory database). With a
 * collection per 1,000 turns, what grows is what the process retains.
 */
import { Effect, ManagedRuntime } from "effect"
import { Settings } from "../src/Config.js"
import { makeLayer } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import * as Session from "../src/Session.js"
import * as SqliteStore from "../src/storage/sqlite/SqliteStore.js"

const [turnsArg, filename] = process.argv.slice(2)
const turns = Number(turnsArg)
if (!Number.isInteger(turns) || turns < 2_000 || filename === undefined) {
  console.error("usage: memoryWorker.ts <turns ≥ 2000> <database file>")
  process.exit(2)
}

const config = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 32_000, maxOutputTokens: 2_000 }
} as const

const gc = (globalThis as { gc?: () => void }).gc
/** Resident set and V8 heap in MiB, after a full collection when `--expose-gc` allows one. */
const memory = () => {
  gc?.()
  gc?.()
  const usage = process.memoryUsage()
  return { rssMiB: usage.rss / 2 ** 20, heapMiB: usage.heapUsed / 2 ** 20 }
}

const layer = makeLayer({
  settings: Settings.layer(config),
  storage: SqliteStore.layer({ filename }),
  provider: MockLlm.layer({ keepRequests: false })
})

const runtime = ManagedRuntime.make(layer)
const session = await runtime.runPromise(Session.create({ model: "mock/bench", config }))
let rounds = 0
await runtime.runPromise(session.subscribe("CompactionCompleted", (event) =>
  Effect.sync(() => {
    rounds += event.result.rounds
  })))

const turn = (i: number) =>
  Effect.gen(function*() {
    yield* session.contextForNextTurn()
    yield* session.record({
      user: `Step ${i}: look at src/module${i % 97}/file${i}.ts and tell me what changed.`,
      assistant: `In file${i}.ts the handler for item-${i} now validates its input before saving it.`
    })
  })

const warmup = 1_000
let maxContext = 0
let peakRssMiB = 0
// time spent reading memory (full collections) is left out of the turn rate
let readingMs = 0
const reading = () => {
  const start = performance.now()
  const read = memory()
  readingMs += performance.now() - start
  peakRssMiB = Math.max(peakRssMiB, read.rssMiB)
  return read
}
const started = performance.now()
for (let i = 0; i < turns; i += 500) {
  const end = Math.min(turns, i + 500)
  await runtime.runPromise(
    Effect.forEach(Array.from({ length: end - i }, (_, k) => i + k), turn, { discard: true })
  )
  const context = await runtime.runPromise(session.contextForNextTurn())
  maxContext = Math.max(maxContext, context.breakdown.total)
  if (end % 1_000 === 0 && end < turns) {
    const read = reading()
    if (end === warmup) process.stdout.write(JSON.stringify({ baseline: read }) + "\n")
  }
}
await runtime.runPromise(session.awaitCompaction)
const seconds = (performance.now() - started - readingMs) / 1000
const final = reading()
await runtime.runPromise(session.close)
await runtime.dispose()
process.stdout.write(
  JSON.stringify({ final, peakRssMiB, rounds, seconds, maxContext, gc: gc !== undefined }) + "\n"
)
