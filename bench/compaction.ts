/**
 * Compaction benchmarks.
 *
 * 1. Engine overhead of one round, LLM time excluded (zero-latency MockLlm, its time measured and
 *    subtracted), on a session of 10,000 stored messages whose active context has just reached the
 *    soft threshold (about 1,100 raw items, as when a real round starts): choosing the span,
 *    reading it, building the transcript, costing and committing the summary. Target ≤ 50 ms for
 *    a live session (its context cached); the same round right after `Session.load` is reported
 *    too.
 * 2. Tokens freed by that round.
 * 3. The sawtooth of a 2,000-turn run at a fixed budget: rounds started, and the largest and
 *    smallest active context after the first compaction, against the soft and hard thresholds.
 */
import { Effect, ManagedRuntime, Ref } from "effect"
import * as NodePath from "node:path"
import { makeTest } from "../src/Layers.js"
import * as Session from "../src/Session.js"
import type { Benchmark, Figure } from "./harness.js"
import { check, median, round } from "./harness.js"
import { providerClock, seedHistory, timedTestLayer } from "./support.js"

/** Items of ~94 tokens that fill the default budget (mock model, 200K window) to the soft threshold. */
const ITEMS_AT_SOFT = Math.ceil(((200_000 - 8_192 - 20_000) * 0.6) / 94)

/**
 * One round's engine time on a session of `messages` stored messages whose context is at the soft
 * threshold. `warm`: the context was written through the session (as in a live session, whose
 * cache already holds it); cold: written behind its back, as after `Session.load`.
 */
const roundOverhead = async (dir: string, messages: number, warm: boolean) => {
  const config = { compaction: { auto: false, maxCompactionRounds: 1 } } as const
  const samples: Array<number> = []
  let freed = 0
  let covered = 0
  for (let rep = 0; rep < 3; rep++) {
    const filename = NodePath.join(dir, `round-${warm ? "warm" : "cold"}-${rep}.db`)
    const runtime = ManagedRuntime.make(timedTestLayer(config, filename))
    const session = await runtime.runPromise(Session.create({ model: "mock/bench", config }))
    if (warm) {
      seedHistory(filename, session.id, messages - ITEMS_AT_SOFT, 0)
      const filler = "the quick brown fox jumps over the lazy dog ".repeat(8)
      await runtime.runPromise(Effect.forEach(
        Array.from({ length: ITEMS_AT_SOFT / 2 }, (_, i) => i),
        (i) => session.record({ user: `message ${i}: ${filler}`, assistant: `reply ${i}: ${filler}` }),
        { discard: true }
      ))
    } else {
      seedHistory(filename, session.id, messages, ITEMS_AT_SOFT)
    }
    providerClock.ms = 0
    const start = performance.now()
    const result = await runtime.runPromise(session.compact())
    samples.push(performance.now() - start - providerClock.ms)
    freed = result.tokensBefore - result.tokensAfter
    covered = result.messagesCovered
    await runtime.runPromise(session.close)
    await runtime.dispose()
  }
  return { ms: median(samples), freed, covered }
}

const sawtooth = async (turns: number) => {
  const config = {
    compaction: { compactionOutputBudget: 1_000 },
    modelOverrides: { contextLimit: 20_000, maxOutputTokens: 1_000 }
  } as const
  const runtime = ManagedRuntime.make(makeTest({ config }))
  const session = await runtime.runPromise(Session.create({ model: "mock/bench", config }))
  const rounds = await runtime.runPromise(Ref.make(0))
  await runtime.runPromise(
    session.subscribe("CompactionCompleted", (e) => Ref.update(rounds, (n) => n + e.result.rounds))
  )
  const sizes: Array<number> = []
  let firstCompaction = -1
  for (let i = 0; i < turns; i++) {
    const result = await runtime.runPromise(
      session.send(
        `Turn ${i}: item-${i} is defined in src/module${i % 50}/file${i}.ts. ` +
          "More ordinary words. ".repeat(12)
      )
    )
    if (result.compactionTriggered && firstCompaction === -1) firstCompaction = i
    const history = await runtime.runPromise(session.history())
    sizes.push(history[history.length - 1]!.context.total)
  }
  await runtime.runPromise(Effect.sleep("50 millis"))
  const n = await runtime.runPromise(Ref.get(rounds))
  await runtime.runPromise(session.close)
  await runtime.dispose()
  const after = sizes.slice(firstCompaction + 2)
  return { rounds: n, max: Math.max(...after), min: Math.min(...after), soft: 10_800, hard: 18_000 }
}

const benchmark: Benchmark = {
  name: "compaction",
  description: "engine overhead of a round (LLM excluded), tokens freed, and the sawtooth of a long run",
  run: async ({ quick, tmpDir }) => {
    const messages = quick ? 2_000 : 10_000
    const overhead = await roundOverhead(tmpDir, messages, true)
    const cold = await roundOverhead(tmpDir, messages, false)
    const turns = quick ? 300 : 2_000
    const saw = await sawtooth(turns)
    const figures: Array<Figure> = [
      {
        metric: `round engine overhead, ${messages.toLocaleString("en")}-message session (LLM time excluded)`,
        value: round(overhead.ms, 1),
        unit: "ms",
        ...check({ value: overhead.ms, op: "≤", limit: 50, kind: "absolute", unit: "ms", quick })
      },
      {
        metric: "the same round with a cold cache (session just loaded)",
        value: round(cold.ms, 1),
        unit: "ms"
      },
      {
        metric: "tokens freed by that round",
        value: overhead.freed,
        unit: `tokens (${overhead.covered} messages summarised)`
      },
      {
        metric: `sawtooth over ${turns.toLocaleString("en")} turns: compaction rounds`,
        value: saw.rounds,
        unit: `rounds (${round(saw.rounds / turns, 3)} per turn)`,
        ...check({
          value: saw.rounds / turns,
          op: "≤",
          limit: 0.2,
          kind: "count",
          label: "rounds per turn",
          quick
        })
      },
      {
        metric: "sawtooth: largest active context after the first compaction",
        value: saw.max,
        unit: `tokens (hard threshold ${saw.hard.toLocaleString("en")})`,
        ...check({ value: saw.max, op: "≤", limit: saw.hard, kind: "count", label: "hard threshold", quick })
      },
      {
        metric: "sawtooth: smallest active context after the first compaction",
        value: saw.min,
        unit: `tokens (soft threshold ${saw.soft.toLocaleString("en")})`
      }
    ]
    return figures
  }
}

export default benchmark
