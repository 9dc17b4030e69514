/**
 * Memory quality with level 3 forced: does the deterministic summary keep the facts?
 *
 *   npm run bench -- quality                                   synthetic conversations
 *   npm run bench -- quality --locomo ../shared/data/locomo-tune.jsonl
 *   npm run bench -- quality --tune                            the tuning seeds instead
 *   npm run bench -- quality --model anthropic/claude-… [--yes]   real model (qualityModel.ts)
 *
 * Each conversation is recorded turn by turn on a 4K usable budget with every summarisation
 * request failing, so all summaries are level 3. For each question whose evidence was compacted,
 * the answer is looked for in the final active context and in the newest N raw tokens of the
 * conversation, N being the size of that context (the "do nothing" baseline). Reported per fact
 * kind (synthetic) or question category (LoCoMo): answer presence and answer-word recall, ours vs
 * baseline; then token reduction and whether every evidence turn is reachable through `expand`.
 *
 * The synthetic conversations come from a seeded generator; level 3 is tuned on `TUNING_SEEDS`
 * only and the figures are reported on `EVALUATION_SEEDS`. LoCoMo files are read from where the
 * command line says (the dataset's licence forbids copying it into this repository).
 */
import { Effect } from "effect"
import type { Benchmark, Figure } from "./harness.js"
import { check, round } from "./harness.js"
import type { Conversation } from "./qualityData.js"
import { LOCOMO_CATEGORIES, readLocomo } from "./qualityData.js"
import type { GroupScore, Judged } from "./qualityEval.js"
import { judge, scores, totals } from "./qualityEval.js"
import { runModelQuality } from "./qualityModel.js"
import type { Ingested } from "./qualityRun.js"
import { forcedLevel3, ingest, type SummaryCalls, USABLE_TOKENS } from "./qualityRun.js"
import { EVALUATION_SEEDS, FACT_KINDS, generate, TUNING_SEEDS } from "./qualitySynthetic.js"

export interface QualityArgs {
  readonly locomo?: string | undefined
  readonly model?: string | undefined
  readonly yes: boolean
  readonly tune: boolean
}

/** The options of this benchmark on the `npm run bench` command line. */
export const VALUE_OPTIONS: ReadonlyArray<string> = ["--locomo", "--model"]

export const parseArgs = (argv: ReadonlyArray<string>): QualityArgs => {
  const value = (name: string) => {
    const i = argv.indexOf(name)
    return i === -1 ? undefined : argv[i + 1]
  }
  return {
    locomo: value("--locomo"),
    model: value("--model"),
    yes: argv.includes("--yes"),
    tune: argv.includes("--tune")
  }
}

const pct = (x: number) => `${round(x * 100, 1)}%`

const table = (title: string, groups: ReadonlyArray<GroupScore>, all: GroupScore): string => {
  const rows = [...groups, all].map((g) =>
    `| ${g.group} | ${g.n} | ${pct(g.oursPresence)} | ${pct(g.baselinePresence)} | ${
      round(g.oursRecall, 3)
    } | ${round(g.baselineRecall, 3)} |`
  )
  return [
    `${title}`,
    "| group | questions (evidence compacted) | presence, ours | presence, newest-N | recall, ours | recall, newest-N |",
    "|---|---|---|---|---|---|",
    ...rows
  ].join("\n")
}

/** Ingests every conversation with level 3 forced. */
const ingestAll = (conversations: ReadonlyArray<Conversation>) =>
  Effect.forEach(conversations, (conversation) => {
    const counter: SummaryCalls = { calls: 0 }
    return ingest(conversation, { model: "mock/quality", provider: forcedLevel3(counter), counter })
  })

/** The figures (and a printed table) of one source: synthetic or LoCoMo. */
const report = (
  source: string,
  runs: ReadonlyArray<Ingested>,
  order: ReadonlyArray<string>,
  quick: boolean
): Array<Figure> => {
  const judged: Array<Judged> = runs.flatMap(judge)
  const { all, groups } = scores(judged, order)
  const t = totals(runs, judged)
  console.log(
    `\n${
      table(
        `${source}: ${runs.length} conversation(s), level 3 forced, ${USABLE_TOKENS} usable tokens`,
        groups,
        all
      )
    }`
  )
  console.log(
    `  mean final context ${Math.round(t.meanContext)} tokens; token reduction ${pct(t.reduction)}; ` +
      `summaries ${JSON.stringify(t.levels)}; summarisation requests ${t.summaryCalls}; ` +
      `evidence turns reachable ${t.reachable}/${t.evidence}`
  )
  const ratio = all.baselinePresence === 0
    ? Number.POSITIVE_INFINITY
    : all.oursPresence / all.baselinePresence
  const figures: Array<Figure> = [{
    metric: `${source}: answer presence, all questions with compacted evidence (n=${all.n})`,
    value: round(all.oursPresence * 100, 1),
    unit: `% (answer-word recall ${round(all.oursRecall, 3)} vs ${round(all.baselineRecall, 3)})`,
    baseline: { label: "newest N raw tokens", value: round(all.baselinePresence * 100, 1) },
    ratio: round(ratio, 2),
    ...check({ value: ratio, op: "≥", limit: 2, kind: "count", label: "ratio", quick })
  }]
  for (const g of groups) {
    figures.push({
      metric: `${source} ${g.group}: answer presence (n=${g.n})`,
      value: round(g.oursPresence * 100, 1),
      unit: `% (recall ${round(g.oursRecall, 3)} vs ${round(g.baselineRecall, 3)})`,
      baseline: { label: "newest N", value: round(g.baselinePresence * 100, 1) },
      ...check({
        value: round(g.oursPresence * 100, 1),
        op: "≥",
        limit: round(g.baselinePresence * 100, 1),
        kind: "count",
        unit: "% (the baseline)",
        quick
      })
    })
  }
  figures.push(
    {
      metric: `${source}: token reduction (final context vs whole history)`,
      value: round(t.reduction * 100, 1),
      unit: `% (mean context ${Math.round(t.meanContext)} tokens)`,
      ...check({ value: t.reduction * 100, op: "≥", limit: 80, kind: "count", unit: "%", quick })
    },
    {
      metric: `${source}: evidence turns reachable by expand`,
      value: t.reachable,
      unit: `of ${t.evidence}`,
      ...check({ value: t.reachable, op: "≥", limit: t.evidence, kind: "count", label: "all", quick })
    }
  )
  return figures
}

const benchmark: Benchmark = {
  name: "quality",
  description: "memory quality with level 3 forced: answers kept vs the newest-N-tokens baseline",
  run: async ({ quick }) => {
    const args = parseArgs(process.argv.slice(2))
    // A quick run reports on one conversation, as long as the others: token reduction depends on it.
    const seeds = args.tune ? TUNING_SEEDS : quick ? EVALUATION_SEEDS.slice(0, 1) : EVALUATION_SEEDS
    const synthetic = seeds.map((seed) => generate({ seed, sessions: 16, factsPerKind: 6 }))
    const locomo = args.locomo === undefined ? [] : readLocomo(args.locomo)
    if (args.model !== undefined) {
      return runModelQuality({
        model: args.model,
        conversations: locomo.length > 0 ? locomo : synthetic,
        confirm: args.yes ? "yes" : "ask"
      })
    }
    const figures: Array<Figure> = []
    const label = `synthetic (${args.tune ? "tuning " : ""}seeds ${seeds.join(", ")})`
    figures.push(...report(label, await Effect.runPromise(ingestAll(synthetic)), FACT_KINDS, quick))
    if (locomo.length > 0) {
      figures.push(
        ...report(
          "LoCoMo",
          await Effect.runPromise(ingestAll(locomo)),
          Object.values(LOCOMO_CATEGORIES),
          quick
        )
      )
    }
    return figures
  }
}

export default benchmark
