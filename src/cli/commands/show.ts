/**
 * `mnesis show <session>`: the session's model, usage, cost, summaries and compaction rounds, and
 * a sparkline of the context's size per turn with the points where summaries were written.
 *
 * @internal
 */
import { Command } from "@effect/cli"
import { Clock, Effect, Option } from "effect"
import { withStore } from "../Database.js"
import { ago, num, time, usd } from "../format.js"
import { type Overview, overview } from "../inspect/overview.js"
import { loadConfig } from "../inspect/settings.js"
import * as Opt from "../options.js"
import { emit } from "../output.js"
import { sparkline } from "../sparkline.js"

const WIDTH = 72

export const render = (o: Overview, now: number, configured: boolean): string => {
  const s = o.session
  const summaryMessages = o.summaries.total
  const lines = [
    `session    ${s.id}${s.parentId === undefined ? "" : ` (sub-session of ${s.parentId})`}`,
    `model      ${s.model} (window ${num(o.model.contextLimit)}, output ${num(o.model.maxOutputTokens)}${
      o.model.known ? "" : ", not in the model registry: assumed"
    })`,
    `agent      ${s.agent}`,
    `created    ${time(s.createdAt)} UTC (${ago(s.createdAt, now)}); last written ${ago(s.updatedAt, now)}`,
    `messages   ${num(s.messageCount - summaryMessages)} (+${num(summaryMessages)} summary messages) in ${
      num(o.turns.length)
    } turns`,
    `usage      ${num(s.tokens.total)} tokens (input ${num(s.tokens.input)}, output ${
      num(s.tokens.output)
    }, ` +
    `cache read ${num(s.tokens.cacheRead)}, cache write ${num(s.tokens.cacheWrite)}); cost ${usd(s.cost)}`,
    `context    ${num(o.contextTokens)} tokens now` + (o.thresholds === undefined
      ? ` (thresholds unknown: ${o.thresholdsProblem ?? "no budget"})`
      : `; compaction starts at ${num(o.thresholds.soft)}, turns wait at ${num(o.thresholds.hard)}` +
        (configured ? "" : " (the model's defaults; --config gives the session's own settings)")),
    `summaries  ${num(o.summaries.total)} (${num(o.summaries.leaves)} leaf, ${
      num(o.summaries.condensed)
    } condensed, depth up to ${o.summaries.maxDepth}); ${num(o.summaries.inContext)} in the context; ` +
    `${num(o.tokensSaved)} tokens saved`,
    `rounds     ${num(o.compactions.length)} summaries written; ${
      num(o.turns.filter((t) => t.compactionTriggered).length)
    } turns started a background round; ${num(o.turns.filter((t) => t.waited).length)} waited for one`
  ]
  if (o.children.length > 0) lines.push(`children   ${o.children.join(", ")}`)
  if (o.turns.length > 0) {
    const marked = new Set<number>()
    for (const c of o.compactions) if (c.afterTurn >= 1) marked.add(c.afterTurn - 1)
    const peak = o.turns.reduce((max, t) => Math.max(max, t.total), 0)
    const line = sparkline(o.turns.map((t) => t.total), marked, WIDTH, peak)
    lines.push(
      "",
      `context per turn (scale 0 to the peak, ${num(peak)} tokens); ^ = summary written after that turn` +
        (line.perColumn > 1 ? `; ${line.perColumn} turns per column` : ""),
      line.bars,
      ...(line.marks === "" ? [] : [line.marks]),
      `turn 1${
        " ".repeat(Math.max(1, line.bars.length - 6 - String(o.turns.length).length))
      }${o.turns.length}`
    )
  }
  return lines.join("\n")
}

export const show = Command.make("show", {
  db: Opt.db,
  json: Opt.json,
  config: Opt.config,
  session: Opt.session
}, (args) =>
  withStore(args.db, (store) =>
    Effect.gen(function*() {
      const config = yield* loadConfig(args.config)
      const session = yield* Opt.resolveSession(store, args.session)
      const result = yield* overview(store, session.id, config)
      const now = yield* Clock.currentTimeMillis
      yield* emit(args.json, result, (o) => render(o, now, Option.isSome(args.config)))
    }))).pipe(
    Command.withDescription(
      "A session's model, usage, cost, summaries and rounds, with its context size per turn"
    )
  )
