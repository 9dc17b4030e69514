/**
 * Tokenizer benchmark: the `Tokenizer` service against gpt-tokenizer called directly on the same
 * text, so the figure is the service's overhead (special-token opt-out, well-formedness check,
 * encoding dispatch), not the machine's speed.
 *
 * The corpus is ~1 MB (200 KB with `--quick`) built deterministically from files installed in
 * node_modules: 20 KB blocks of prose (READMEs, licences, markdown) interleaved with 20 KB
 * blocks of TypeScript from effect's sources, the mix an agent's context usually holds.
 *
 * Times are CPU time of this process and throughputs are tokens per CPU-second (see `cpuMs`).
 */
import {
  countTokens as directCount,
  isWithinTokenLimit as directIsWithin
} from "gpt-tokenizer/encoding/o200k_base"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { tokenizer } from "../src/Tokenizer.js"
import type { BenchContext, Benchmark, Figure } from "./harness.js"
import { check, median, round } from "./harness.js"

const BLOCK_CHARS = 20_000
const LIMIT = 8_000
/** Size of the texts in the many-small-texts measurement (a typical message or tool output). */
const SMALL_TEXT_CHARS = 2_000

const NODE_MODULES = NodePath.resolve(import.meta.dirname, "..", "node_modules")
const DIRECT_OPTIONS = { disallowedSpecial: new Set<string>() }

// ---------------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------------

/** Every file under `dir` (depth-first, sorted, so the order never depends on the file system). */
const walk = (dir: string, maxDepth: number): Array<string> => {
  if (maxDepth < 0 || !NodeFs.existsSync(dir)) return []
  const out: Array<string> = []
  // Code-unit order, not localeCompare: the corpus must not depend on the machine's locale.
  const entries = NodeFs.readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  )
  for (const entry of entries) {
    const path = NodePath.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...walk(path, maxDepth - 1))
    else if (entry.isFile()) out.push(path)
  }
  return out
}

const isProse = (path: string): boolean => {
  const base = NodePath.basename(path).toLowerCase()
  return base.endsWith(".md") || base === "license" || base === "license.txt"
}

const readAll = (paths: ReadonlyArray<string>): string =>
  paths.map((path) => NodeFs.readFileSync(path, "utf8")).join("\n\n")

/** Alternating prose and code blocks until `bytes` UTF-8 bytes, cut to that size. */
export const buildCorpus = (bytes: number): string => {
  const prose = readAll(walk(NODE_MODULES, 3).filter(isProse))
  const code = readAll(walk(NodePath.join(NODE_MODULES, "effect", "src"), 4).filter((p) => p.endsWith(".ts")))
  if (prose.length < BLOCK_CHARS || code.length < BLOCK_CHARS) throw new Error("corpus sources are missing")
  const blocks: Array<string> = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const source = i % 2 === 0 ? prose : code
    const start = (Math.floor(i / 2) * BLOCK_CHARS) % (source.length - BLOCK_CHARS)
    const block = source.slice(start, start + BLOCK_CHARS)
    blocks.push(block)
    size += Buffer.byteLength(block)
  }
  // Cutting at a byte offset may split a character; decoding turns the remnant into U+FFFD.
  return Buffer.from(blocks.join("")).subarray(0, bytes).toString("utf8")
}

// ---------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------

/**
 * CPU milliseconds (user + system) `fn` takes. CPU time rather than wall time: on a shared,
 * oversubscribed machine wall time mostly measures who else got scheduled, CPU time does not.
 */
const cpuMs = (fn: () => void): number => {
  const start = process.cpuUsage()
  fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

interface Comparison {
  /** Median CPU milliseconds per call of each function. */
  readonly a: number
  readonly b: number
  /** Median over repetitions of `b ÷ a` measured back to back: `a`'s speed relative to `b`. */
  readonly speedOfA: number
}

/**
 * Times `a` and `b` over `repetitions`, after `warmup` calls of each. Each repetition runs both
 * back to back (alternating which goes first) and contributes one paired ratio; the median of
 * those ratios cancels most of the load drift of a shared machine, which raw medians do not.
 */
const compare = (a: () => void, b: () => void, repetitions: number, warmup = 3): Comparison => {
  for (let i = 0; i < warmup; i++) {
    a()
    b()
  }
  const as: Array<number> = []
  const bs: Array<number> = []
  const ratios: Array<number> = []
  for (let i = 0; i < repetitions; i++) {
    let ta: number
    let tb: number
    if (i % 2 === 0) {
      ta = cpuMs(a)
      tb = cpuMs(b)
    } else {
      tb = cpuMs(b)
      ta = cpuMs(a)
    }
    as.push(ta)
    bs.push(tb)
    ratios.push(tb / ta)
  }
  return { a: median(as), b: median(bs), speedOfA: median(ratios) }
}

/** `text` in pieces of about `size` characters, never splitting a surrogate pair. */
const chunk = (text: string, size: number): Array<string> => {
  const out: Array<string> = []
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + size, text.length)
    const last = text.charCodeAt(end - 1)
    if (last >= 0xd800 && last <= 0xdbff) end++
    out.push(text.slice(start, end))
    start = end
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Benchmark
// ---------------------------------------------------------------------------------------------

const measure = (context: BenchContext): ReadonlyArray<Figure> => {
  const corpus = buildCorpus(context.quick ? 200_000 : 1_000_000)
  const repetitions = context.quick ? 21 : 15
  // 8,000 tokens are ~13 % of the quick corpus and ~3 % of the full one.
  const tokens = tokenizer.count(corpus)
  const expected = directCount(corpus, DIRECT_OPTIONS)
  if (tokens !== expected) throw new Error(`service counted ${tokens} tokens, gpt-tokenizer ${expected}`)

  // Sinks keep the results alive so no call can be optimised away.
  let sink = 0
  const whole = compare(
    () => (sink += tokenizer.count(corpus)),
    () => (sink += directCount(corpus, DIRECT_OPTIONS)),
    repetitions
  )

  const pieces = chunk(corpus, SMALL_TEXT_CHARS)
  const pieceTokens = pieces.reduce((sum, piece) => sum + directCount(piece, DIRECT_OPTIONS), 0)
  const small = compare(
    () => {
      for (const piece of pieces) sink += tokenizer.count(piece)
    },
    () => {
      for (const piece of pieces) sink += directCount(piece, DIRECT_OPTIONS)
    },
    repetitions
  )

  const limited = compare(
    () => (sink += Number(tokenizer.isWithinLimit(corpus, LIMIT))),
    () => (sink += Number(directIsWithin(corpus, LIMIT, DIRECT_OPTIONS))),
    // Each call takes a few milliseconds: more samples for the same confidence.
    repetitions * 3
  )
  if (sink < 0) throw new Error("unreachable")

  const throughput = (ms: number, count = tokens): number => count / (ms / 1000)
  const kb = Math.round(Buffer.byteLength(corpus) / 1000)
  return [
    { metric: `corpus (${kb} KB, o200k_base)`, value: tokens, unit: "tokens" },
    {
      metric: "count throughput, whole corpus",
      value: Math.round(throughput(whole.a)),
      unit: "tok/s",
      baseline: { label: "gpt-tokenizer direct", value: Math.round(throughput(whole.b)) },
      ratio: round(whole.speedOfA),
      ...check({
        value: whole.speedOfA,
        op: "≥",
        limit: 0.9,
        kind: "ratio",
        label: "ratio",
        quick: context.quick
      })
    },
    {
      metric: `count throughput, ${SMALL_TEXT_CHARS.toLocaleString("en")}-char texts (×${pieces.length})`,
      value: Math.round(throughput(small.a, pieceTokens)),
      unit: "tok/s",
      baseline: { label: "gpt-tokenizer direct", value: Math.round(throughput(small.b, pieceTokens)) },
      ratio: round(small.speedOfA),
      ...check({
        value: small.speedOfA,
        op: "≥",
        limit: 0.9,
        kind: "ratio",
        label: "ratio",
        quick: context.quick
      })
    },
    {
      metric: `isWithinLimit(${LIMIT.toLocaleString("en")}) on the whole corpus`,
      value: round(limited.a, 2),
      unit: "ms",
      baseline: { label: "full count", value: round(whole.a, 2) },
      ratio: round(limited.a / whole.a),
      ...check({
        value: limited.a / whole.a,
        op: "≤",
        limit: 0.25,
        kind: "ratio",
        label: "ratio",
        quick: context.quick
      })
    },
    {
      metric: `isWithinLimit(${LIMIT.toLocaleString("en")}) vs gpt-tokenizer direct`,
      value: round(limited.a, 2),
      unit: "ms",
      baseline: { label: "gpt-tokenizer direct", value: round(limited.b, 2) },
      ratio: round(limited.speedOfA)
    }
  ]
}

const benchmark: Benchmark = {
  name: "tokenizer",
  description: "Tokenizer service vs gpt-tokenizer direct (o200k_base), and the early-exit limit check",
  run: (context) => Promise.resolve().then(() => measure(context))
}

export default benchmark
