/**
 * Large-file benchmark: ingesting a 1 MB TypeScript source (200 KB with `--quick`) — type
 * detection, token count, SHA-256, tree-sitter parse, outline, summary fitted to its budget, and
 * the content and reference written to a SQLite store — and expanding one page of it, against
 * the tree-sitter parse of the same text alone as the baseline.
 *
 * The source is built deterministically from effect's own sources in node_modules (whole files,
 * sorted by name, until the size is reached), so it parses cleanly and looks like real code.
 * Each ingest gets a new trailing comment: the same bytes twice would be deduplicated, and the
 * second ingest would skip the work being measured.
 */
import { Effect, Layer, ManagedRuntime } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as Files from "../src/Files.js"
import { parserFor } from "../src/files/code/Grammars.js"
import * as Summarize from "../src/files/Summarize.js"
import * as SqliteStore from "../src/storage/sqlite/SqliteStore.js"
import * as Tokenizer from "../src/Tokenizer.js"
import type { Benchmark, Figure } from "./harness.js"
import { check, median, round } from "./harness.js"

const SOURCES = NodePath.resolve(import.meta.dirname, "..", "node_modules", "effect", "src")

/** Whole `.ts` files of effect's sources, in name order, until `bytes` characters. */
const buildSource = (bytes: number): string => {
  const names = NodeFs.readdirSync(SOURCES).filter((n) => n.endsWith(".ts")).sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0
  )
  let text = ""
  for (const name of names) {
    if (text.length >= bytes) break
    text += `${NodeFs.readFileSync(NodePath.join(SOURCES, name), "utf8")}\n`
  }
  return text.slice(0, text.lastIndexOf("\n", bytes) + 1)
}

/** Milliseconds of each of `runs` calls of `fn` (after one warm-up), as their median. */
const timeMedian = async (runs: number, fn: (i: number) => Promise<unknown>): Promise<number> => {
  await fn(-1)
  const samples: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn(i)
    samples.push(performance.now() - start)
  }
  return median(samples)
}

const benchmark: Benchmark = {
  name: "files",
  description:
    "ingesting a 1 MB source file (parse, summary, hash, store) and expanding a page, vs the parse alone",
  run: async ({ quick, tmpDir }) => {
    const source = buildSource(quick ? 200_000 : 1_000_000)
    const runs = quick ? 3 : 5
    const filename = NodePath.join(tmpDir, "files.db")
    const runtime = ManagedRuntime.make(
      Files.layer().pipe(
        Layer.provide(SqliteStore.layer({ filename }).pipe(Layer.orDie)),
        Layer.provide(Tokenizer.layer)
      )
    )
    const parser = await Effect.runPromise(parserFor("typescript"))

    const parseMs = await timeMedian(runs, () => {
      const tree = parser.parse(source)
      tree?.delete()
      return Promise.resolve()
    })
    const summaryMs = await timeMedian(runs, (i) =>
      Effect.runPromise(
        Summarize.summarize(
          { path: "big.ts", bytes: new TextEncoder().encode(`${source}// summary ${i}\n`) },
          {
            budget: Summarize.DEFAULT_SUMMARY_TOKENS,
            count: Tokenizer.countTokens,
            within: (text, budget) => Tokenizer.isWithinTokenLimit(text, budget) !== false
          }
        )
      ))
    let lastId = ""
    const ingestMs = await timeMedian(runs, (i) =>
      runtime.runPromise(
        Effect.flatMap(Files.FileHandler, (files) =>
          files.ingest({ path: "big.ts", content: `${source}// ingest ${i}\n` }))
          .pipe(Effect.tap((result) => {
            if (result._tag === "Reference") {
              lastId = result.part.fileId
            }
          }))
      ))
    const pageMs = await timeMedian(runs, (i) =>
      runtime.runPromise(
        Effect.flatMap(Files.FileHandler, (files) => files.expand(lastId, { from: { line: 1 + i * 500 } }))
      ))
    const symbolMs = await timeMedian(
      runs,
      () =>
        runtime.runPromise(
          Effect.flatMap(Files.FileHandler, (files) => files.expand(lastId, { symbol: "decode" }))
        )
    )
    await runtime.dispose()

    const summaryRatio = summaryMs / parseMs
    const ingestRatio = ingestMs / parseMs
    const baseline = { label: "tree-sitter parse alone", value: round(parseMs, 1) }
    const size = `${Math.round(source.length / 1000)} KB`
    const figures: Array<Figure> = [
      { metric: `parse alone (${size} TypeScript)`, value: round(parseMs, 1), unit: "ms" },
      {
        metric: "summary: parse + outline + fit to 1,000 tokens",
        value: round(summaryMs, 1),
        unit: "ms",
        baseline,
        ratio: round(summaryRatio, 2),
        ...check({ value: summaryRatio, op: "≤", limit: 2, kind: "ratio", quick, label: "ratio" })
      },
      {
        metric: "ingest: detect + count tokens + SHA-256 + summary + store",
        value: round(ingestMs, 1),
        unit: "ms",
        baseline,
        ratio: round(ingestRatio, 2),
        ...check({ value: ingestRatio, op: "≤", limit: 4, kind: "ratio", quick, label: "ratio" })
      },
      {
        metric: "expand one 4,000-token page of the stored file",
        value: round(pageMs, 1),
        unit: "ms",
        ...check({ value: pageMs, op: "≤", limit: 100, kind: "absolute", quick, unit: "ms" })
      },
      {
        metric: "expand one symbol (its span stored with the content)",
        value: round(symbolMs, 1),
        unit: "ms"
      }
    ]
    return figures
  }
}

export default benchmark
