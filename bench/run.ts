/**
 * `npm run bench [-- name… ] [-- --quick]`: runs the benchmarks, prints one table and writes
 * `bench/results.json` (figures, machine, date).
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { Benchmark, Figure } from "./harness.js"
import { benchmarks } from "./index.js"
import { VALUE_OPTIONS } from "./quality.js"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
// The value after an option that takes one (`--locomo <file>`) is not a benchmark's name.
const names = args.filter((a, i) => !a.startsWith("--") && !VALUE_OPTIONS.includes(args[i - 1] ?? ""))
const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n))
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(", ")}; known: ${benchmarks.map((b) => b.name).join(", ")}`
  )
  process.exit(2)
}
const selected: ReadonlyArray<Benchmark> = names.length === 0
  ? benchmarks
  : benchmarks.filter((b) => names.includes(b.name))

const fmt = (n: number | undefined): string =>
  n === undefined
    ? ""
    : Math.abs(n) >= 1000
    ? Math.round(n).toLocaleString("en")
    : String(Number(n.toPrecision(4)))

const rows: Array<{ bench: string } & Figure> = []
let failedTargets = 0
let failedGates = 0
for (const bench of selected) {
  const tmpDir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), `mnesis-bench-${bench.name}-`))
  console.log(`\n▶ ${bench.name}: ${bench.description}${quick ? " (quick)" : ""}`)
  try {
    const figures = await bench.run({ quick, tmpDir })
    for (const f of figures) {
      rows.push({ bench: bench.name, ...f })
      if (f.met === false) failedTargets++
      if (f.failsQuickRun === true) failedGates++
      const base = f.baseline ? `  vs ${f.baseline.label} ${fmt(f.baseline.value)} ${f.unit}` : ""
      const ratio = f.ratio === undefined ? "" : `  ratio ${fmt(f.ratio)}`
      const verdict = f.met === true ? "✓" : f.failsQuickRun === true ? "✗ (fails this run)" : "✗"
      const target = f.target === undefined ? "" : `  target ${f.target} ${verdict}`
      console.log(`  ${f.metric}: ${fmt(f.value)} ${f.unit}${base}${ratio}${target}`)
    }
  } finally {
    NodeFs.rmSync(tmpDir, { recursive: true, force: true })
  }
}

const result = {
  date: new Date().toISOString(),
  quick,
  machine: {
    cpus: NodeOs.cpus().length,
    cpuModel: NodeOs.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(NodeOs.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`
  },
  figures: rows
}
// Only a full run of every benchmark replaces the recorded figures (bench/README.md quotes them).
if (names.length === 0 && !quick) {
  NodeFs.writeFileSync(new URL("./results.json", import.meta.url), JSON.stringify(result, null, 2) + "\n")
}
console.log(
  `\n${rows.length} figures, ${failedTargets} target(s) missed` +
    (quick ? `, ${failedGates} beyond the quick-run gate` : "")
)
// Only a quick run (CI) fails on a miss, and only on gated targets: see `check` in harness.ts.
if (quick && failedGates > 0) process.exitCode = 1
