/**
 * `mnesis sessions`: the sessions of the database with their sizes, newest first.
 *
 * @internal
 */
import { Command, Options } from "@effect/cli"
import { Clock, Effect, Option } from "effect"
import { withStore } from "../Database.js"
import { ago, num, table, usd } from "../format.js"
import { list, type SessionRow } from "../inspect/sessions.js"
import { loadConfig } from "../inspect/settings.js"
import * as Opt from "../options.js"
import { emit } from "../output.js"

const human =
  (now: number) => (result: { readonly sessions: ReadonlyArray<SessionRow>; readonly total: number }) => {
    if (result.total === 0) return "no sessions match"
    const body = table(result.sessions, [
      { header: "SESSION", value: (r) => (r.parentId === undefined ? "" : "↳ ") + r.id },
      { header: "MODEL", value: (r) => r.model },
      { header: "AGENT", value: (r) => r.agent },
      { header: "UPDATED", value: (r) => ago(r.updatedAt, now) },
      { header: "MESSAGES", value: (r) => num(r.messages), align: "right" },
      { header: "SUMMARIES", value: (r) => num(r.summaries), align: "right" },
      { header: "CONTEXT", value: (r) => num(r.contextTokens), align: "right" },
      { header: "USAGE", value: (r) => num(r.usageTokens), align: "right" },
      { header: "COST", value: (r) => usd(r.cost), align: "right" }
    ])
    const footer = result.sessions.length < result.total
      ? `\n${result.sessions.length} of ${result.total} sessions shown (--limit)`
      : `\n${result.total} session${result.total === 1 ? "" : "s"}`
    return body + footer
  }

export const sessions = Command.make("sessions", {
  db: Opt.db,
  json: Opt.json,
  config: Opt.config,
  since: Opt.age("since", "Only sessions written to within this long (30d, 12h, 90m, 2w)"),
  olderThan: Opt.age("older-than", "Only sessions not written to for this long"),
  model: Options.text("model").pipe(
    Options.withDescription("Only sessions whose model contains this text"),
    Options.optional
  ),
  agent: Options.text("agent").pipe(Options.withDescription("Only sessions of this agent"), Options.optional),
  limit: Options.integer("limit").pipe(
    Options.withDescription("Show at most this many (default 50)"),
    Options.withDefault(50)
  )
}, (args) =>
  withStore(args.db, (store) =>
    Effect.gen(function*() {
      const config = yield* loadConfig(args.config)
      const result = yield* list(store, {
        since: Option.getOrUndefined(args.since),
        olderThan: Option.getOrUndefined(args.olderThan),
        model: Option.getOrUndefined(args.model),
        agent: Option.getOrUndefined(args.agent),
        limit: Math.max(0, args.limit)
      }, config)
      const now = yield* Clock.currentTimeMillis
      yield* emit(args.json, { sessions: result.rows, total: result.total }, human(now))
    }))).pipe(
    Command.withDescription("List sessions with their sizes, newest first, filtered by age, model or agent")
  )
