/**
 * Memory growth of a long session: RSS after 100,000 bring-your-own-LLM turns
 * (`contextForNextTurn` + `record`) with background compaction on a 32K window, against the RSS
 * after the first 1,000 turns (everything loaded and warmed up). The workload runs in its own
 * process (bench/memoryWorker.ts, with `--expose-gc` so both readings follow a full collection),
 * so other benchmarks' allocations do not count.
 *
 * Target: growth ≤ 50 MB. What could grow with history (snapshots, requests kept by the mock,
 * caches) must stay in the store, not in the process. Memory is read after a full collection every
 * 1,000 turns (see memoryWorker.ts: otherwise the reading measures how far V8 let its heap grow
 * before collecting, not what the process keeps).
 */
import { execFileSync } from "node:child_process"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import type { Benchmark } from "./harness.js"
import { check, round } from "./harness.js"

interface Reading {
  readonly rssMiB: number
  readonly heapMiB: number
}

const worker = fileURLToPath(new URL("./memoryWorker.ts", import.meta.url))

const benchmark: Benchmark = {
  name: "memory",
  description: "RSS growth over a long session of record turns with compaction (own process)",
  run: ({ quick, tmpDir }) => {
    const turns = quick ? 5_000 : 100_000
    const output = execFileSync(
      process.execPath,
      ["--expose-gc", "--import", "tsx", worker, String(turns), NodePath.join(tmpDir, "memory.db")],
      { encoding: "utf8", maxBuffer: 1 << 20 }
    )
    const lines = output.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
    const baseline = lines.find((l) => "baseline" in l)?.baseline as Reading
    const end = lines.find((l) => "final" in l) as {
      final: Reading
      peakRssMiB: number
      rounds: number
      seconds: number
      maxContext: number
    }
    const growthMB = ((end.final.rssMiB - baseline.rssMiB) * 2 ** 20) / 1e6
    return Promise.resolve([
      {
        metric: `RSS growth, ${turns.toLocaleString("en")} record turns (${end.rounds} compaction rounds)`,
        value: round(growthMB, 1),
        unit: "MB",
        baseline: { label: "RSS after 1,000 turns", value: round((baseline.rssMiB * 2 ** 20) / 1e6, 1) },
        ratio: round(end.final.rssMiB / baseline.rssMiB),
        ...check({ value: growthMB, op: "≤", limit: 50, kind: "count", label: "growth", unit: "MB", quick })
      },
      {
        metric: "largest RSS reading (after a full collection, every 1,000 turns)",
        value: round((end.peakRssMiB * 2 ** 20) / 1e6, 1),
        unit: "MB"
      },
      {
        metric: "V8 heap in use after the run",
        value: round(end.final.heapMiB, 1),
        unit: `MiB (${round(baseline.heapMiB, 1)} MiB after 1,000 turns)`
      },
      {
        metric: "turn rate of that workload (contextForNextTurn + record)",
        value: Math.round(turns / end.seconds),
        unit: `turns/s (largest context ${end.maxContext.toLocaleString("en")} tokens)`
      }
    ])
  }
}

export default benchmark
