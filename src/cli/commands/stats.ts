/**
 * `mnesis stats`: the database's size, sessions, messages, summaries and tokens saved.
 *
 * @internal
 */
import { Command } from "@effect/cli"
import { Effect } from "effect"
import { describeLocation, sizeOnDisk, withStore } from "../Database.js"
import { bytes, num, time, usd } from "../format.js"
import { type Stats, stats as readStats } from "../inspect/stats.js"
import * as Opt from "../options.js"
import { emit } from "../output.js"

const render = (database: string, s: Stats): string =>
  [
    `database         ${database}${s.bytes === undefined ? "" : ` (${bytes(s.bytes)})`}`,
    `sessions         ${num(s.sessions)}${
      s.subSessions === 0 ? "" : ` (${num(s.subSessions)} sub-sessions)`
    }`,
    `messages         ${num(s.messages)}`,
    `summaries        ${num(s.summaries)} (${num(s.activeSummaries)} in active contexts)`,
    `context tokens   ${num(s.contextTokens)} across every active context`,
    `tokens saved     ${num(s.tokensSaved)} (what summaries replaced minus what they cost)`,
    `usage            ${num(s.usageTokens)} tokens billed; cost ${usd(s.cost)}`,
    ...(s.oldest === undefined || s.newest === undefined
      ? []
      : [`time span        ${time(s.oldest)} – ${time(s.newest)} UTC`])
  ].join("\n")

export const stats = Command.make(
  "stats",
  { db: Opt.db, json: Opt.json },
  (args) =>
    withStore(args.db, (store, location) =>
      Effect.gen(function*() {
        const result = yield* readStats(store, sizeOnDisk(location))
        const database = describeLocation(location)
        yield* emit(args.json, { database, ...result }, () => render(database, result))
      }))
).pipe(Command.withDescription("Database size, sessions, messages, summaries and tokens saved"))
