/**
 * The memory-growth workload, run in its own process (`node --expose-gc`) so that its RSS is its
 * own: `turns` bring-your-own-LLM turns (`contextForNextTurn`, then `record`) on a small window, with
 * background compaction on and a real SQLite file. Prints one JSON line.
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
const started = performance.now()
for (let i = 0; i < turns; i += 500) {
  const end = Math.min(turns, i + 500)
  await runtime.runPromise(
    Effect.forEach(Array.from({ length: end - i }, (_, k) => i + k), turn, { discard: true })
  )
  const context = await runtime.runPromise(session.contextForNextTurn())
  maxContext = Math.max(maxContext, context.breakdown.total)
  if (end === warmup) process.stdout.write(JSON.stringify({ baseline: memory() }) + "\n")
}
await runtime.runPromise(session.awaitCompaction)
const seconds = (performance.now() - started) / 1000
const final = memory()
await runtime.runPromise(session.close)
await runtime.dispose()
process.stdout.write(JSON.stringify({ final, rounds, seconds, maxContext, gc: gc !== undefined }) + "\n")
