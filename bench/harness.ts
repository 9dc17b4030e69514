/**
 * The benchmark harness: each benchmark measures something against a baseline in the same run and
 * reports ratios (absolute times vary between machines; ratios do not, much). `npm run bench`
 * runs them all; `npm run bench -- storage tokenizer` runs some; `--quick` shrinks every workload
 * so CI can catch regressions by ratio in under two minutes.
 */

export interface Figure {
  /** What was measured, e.g. "append throughput". */
  readonly metric: string
  readonly value: number
  readonly unit: string
  /** The same measurement for the baseline, when there is one. */
  readonly baseline?: { readonly label: string; readonly value: number } | undefined
  /** value ÷ baseline (or another ratio the target is stated in). */
  readonly ratio?: number | undefined
  /** The target, stated as text ("ratio ≥ 0.5"), and whether this run met it. */
  readonly target?: string | undefined
  readonly met?: boolean | undefined
  /** Whether this figure fails a `--quick` run: a gated target missed beyond the slack (see {@link check}). */
  readonly failsQuickRun?: boolean | undefined
}

/**
 * How a target is judged.
 * - `ratio`: a timing ratio within one run. Gates `--quick` runs, with {@link QUICK_SLACK} of
 *   room for the noise of small workloads on shared machines; a real regression (work growing
 *   with history) overshoots by far more.
 * - `count`: a deterministic figure (rounds, tokens, shares); gates as stated.
 * - `absolute`: a time or size in absolute units. Machines differ, so it is reported against its
 *   target but never fails a run.
 */
export type TargetKind = "ratio" | "count" | "absolute"

export const QUICK_SLACK = 1.3

/** The `target` / `met` / `gated` fields of a figure whose value must be `op` `limit`. */
export const check = (
  options: {
    readonly value: number
    readonly op: "≤" | "≥"
    readonly limit: number
    readonly kind: TargetKind
    readonly quick: boolean
    /** How the target reads, e.g. "ratio" or "p50"; the limit and unit follow. */
    readonly label?: string | undefined
    readonly unit?: string | undefined
  }
): Pick<Figure, "target" | "met" | "failsQuickRun"> => {
  const { value, op, limit, kind, quick } = options
  const within = (bound: number) => op === "≤" ? value <= bound : value >= bound
  const slack = kind === "ratio" ? QUICK_SLACK : 1
  const gate = op === "≤" ? limit * slack : limit / slack
  const stated = [options.label, op, limit.toLocaleString("en"), options.unit].filter(Boolean).join(" ")
  const note = kind === "absolute"
    ? " (absolute, never fails a run)"
    : quick && slack !== 1
    ? ` (this quick run fails past ${round(gate, 2)})`
    : ""
  return {
    target: `${stated}${note}`,
    met: within(limit),
    failsQuickRun: quick && kind !== "absolute" && !within(gate)
  }
}

export interface BenchContext {
  readonly quick: boolean
  /** A directory for temporary files, removed after the run. */
  readonly tmpDir: string
}

export interface Benchmark {
  readonly name: string
  readonly description: string
  readonly run: (context: BenchContext) => Promise<ReadonlyArray<Figure>>
}

/** Times `fn` over `iterations` calls and returns milliseconds per call (after a warm-up). */
export const timePerCall = (
  fn: () => void,
  iterations: number,
  warmup = Math.min(100, iterations)
): number => {
  for (let i = 0; i < warmup; i++) fn()
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) fn()
  return Number(process.hrtime.bigint() - start) / 1e6 / iterations
}

/** Percentile of a list of samples (p in 0..100). */
export const percentile = (samples: ReadonlyArray<number>, p: number): number => {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

/** Median of several repeated measurements (to damp noise on a shared 2-core machine). */
export const median = (samples: ReadonlyArray<number>): number => percentile(samples, 50)

export const round = (n: number, digits = 3): number => {
  const f = 10 ** digits
  return Math.round(n * f) / f
}
