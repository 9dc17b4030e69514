/**
 * Judging an ingested conversation: for each question whose evidence was compacted (at least one
 * evidence turn is no longer raw in the final context), is the answer in our context, and in the
 * newest-N-tokens baseline at the same N? Plus whether every evidence turn is still reachable.
 */
import type { Ingested } from "./qualityRun.js"
import { haystack, present, wordRecall } from "./qualityScore.js"

export interface Judged {
  readonly group: string
  /** At least one evidence turn was summarised (the questions the scores are about). */
  readonly compacted: boolean
  readonly ours: { readonly present: boolean; readonly recall: number }
  readonly baseline: { readonly present: boolean; readonly recall: number }
  /** Evidence turns of this question, and how many `expand` (or the raw context) reaches. */
  readonly evidence: number
  readonly reachable: number
}

export const judge = (run: Ingested): Array<Judged> => {
  const ours = haystack(run.context)
  const baseline = haystack(run.baseline)
  return run.conversation.probes.flatMap((probe) => {
    // LoCoMo has a few evidence ids that name no turn: they can be neither compacted nor reached.
    const ids = probe.evidence.flatMap((turn) => {
      const id = run.messageOf.get(turn)
      return id === undefined ? [] : [id]
    })
    if (ids.length === 0) return []
    return [{
      group: probe.group,
      compacted: ids.some((id) => !run.raw.has(id)),
      ours: { present: present(probe.answer, ours), recall: wordRecall(probe.answer, ours) },
      baseline: { present: present(probe.answer, baseline), recall: wordRecall(probe.answer, baseline) },
      evidence: ids.length,
      reachable: ids.filter((id) => run.raw.has(id) || run.expanded.has(id)).length
    }]
  })
}

export interface GroupScore {
  readonly group: string
  /** Questions with compacted evidence. */
  readonly n: number
  readonly oursPresence: number
  readonly baselinePresence: number
  readonly oursRecall: number
  readonly baselineRecall: number
}

const mean = (xs: ReadonlyArray<number>): number =>
  xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length

export const score = (group: string, judged: ReadonlyArray<Judged>): GroupScore => {
  const on = judged.filter((j) => j.compacted)
  return {
    group,
    n: on.length,
    oursPresence: mean(on.map((j) => j.ours.present ? 1 : 0)),
    baselinePresence: mean(on.map((j) => j.baseline.present ? 1 : 0)),
    oursRecall: mean(on.map((j) => j.ours.recall)),
    baselineRecall: mean(on.map((j) => j.baseline.recall))
  }
}

/** Scores per group (in `order`, then any other group alphabetically) and over all questions. */
export const scores = (
  judged: ReadonlyArray<Judged>,
  order: ReadonlyArray<string> = []
): { readonly groups: Array<GroupScore>; readonly all: GroupScore } => {
  const names = [...new Set(judged.map((j) => j.group))].sort((a, b) => {
    const ia = order.indexOf(a)
    const ib = order.indexOf(b)
    return ia === -1 && ib === -1 ? a.localeCompare(b) : ia === -1 ? 1 : ib === -1 ? -1 : ia - ib
  })
  return {
    groups: names.map((name) => score(name, judged.filter((j) => j.group === name))),
    all: score("all", judged)
  }
}

/** Totals over several runs: token reduction, reachability, what compaction did. */
export const totals = (runs: ReadonlyArray<Ingested>, judged: ReadonlyArray<Judged>) => {
  const context = runs.reduce((sum, run) => sum + run.contextTokens, 0)
  const history = runs.reduce((sum, run) => sum + run.historyTokens, 0)
  const levels: Record<string, number> = {}
  for (const run of runs) {
    for (const [level, n] of Object.entries(run.levels)) levels[level] = (levels[level] ?? 0) + n
  }
  return {
    reduction: 1 - context / history,
    meanContext: context / runs.length,
    evidence: judged.reduce((sum, j) => sum + j.evidence, 0),
    reachable: judged.reduce((sum, j) => sum + j.reachable, 0),
    summaryCalls: runs.reduce((sum, run) => sum + run.summaryCalls, 0),
    levels
  }
}
