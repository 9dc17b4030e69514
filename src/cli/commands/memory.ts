/**
 * `mnesis grep | describe | expand`: the memory tools a model uses, for a person. The text
 * printed is exactly what a model reads from the tool; `--json` gives the structured result.
 *
 * @internal
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import * as MemoryTools from "../../MemoryTools.js"
import type * as Storage from "../../Storage.js"
import { withStore } from "../Database.js"
import { IdNotFound } from "../errors.js"
import { ownerOf, scopeFor } from "../inspect/memory.js"
import { allSessions } from "../inspect/read.js"
import * as Opt from "../options.js"
import { emit } from "../output.js"

const related = Options.boolean("related").pipe(
  Options.withDescription("Also search the session's parent and sub-sessions")
)
const cursor = Options.text("cursor").pipe(
  Options.withDescription("The cursor a previous answer printed, for its next page"),
  Options.optional
)

export const grep = Command.make("grep", {
  db: Opt.db,
  json: Opt.json,
  related,
  cursor,
  regex: Options.boolean("regex").pipe(
    Options.withDescription("PATTERN is a regular expression (RE2 syntax, case-insensitive), not words")
  ),
  summary: Options.text("summary").pipe(
    Options.withDescription("Only what this summary (sum_…) covers"),
    Options.optional
  ),
  limit: Options.integer("limit").pipe(
    Options.withDescription("Hits per page (1-100, default 20)"),
    Options.optional
  ),
  session: Opt.session,
  pattern: Args.text({ name: "pattern" }).pipe(
    Args.withDescription("Words to find (or a regex with --regex)")
  )
}, (args) =>
  withStore(args.db, (store) =>
    Effect.gen(function*() {
      const session = yield* Opt.resolveSession(store, args.session)
      const scope = yield* scopeFor(store, session, args.related)
      const result = yield* MemoryTools.grep(scope, {
        pattern: args.pattern,
        mode: args.regex ? "regex" : "fulltext",
        summaryId: Option.getOrUndefined(args.summary),
        limit: Option.getOrUndefined(args.limit),
        cursor: Option.getOrUndefined(args.cursor)
      })
      yield* emit(args.json, result, (r) => r.text)
    }))).pipe(
    Command.withDescription(
      "Search a session's whole history, summarised parts included, and say where each hit lives now"
    )
  )

export const describe = Command.make("describe", {
  db: Opt.db,
  json: Opt.json,
  session: Options.text("session").pipe(
    Options.withDescription("The session to look in (needed for file ids; found from the id otherwise)"),
    Options.optional
  ),
  id: Args.text({ name: "id" }).pipe(
    Args.withDescription("A summary (sum_…), message (msg_…) or file (file_…) id")
  )
}, (args) =>
  withStore(args.db, (store) =>
    Effect.gen(function*() {
      const session = Option.isSome(args.session)
        ? yield* Opt.resolveSession(store, args.session.value)
        : args.id.trim().startsWith("file_")
        ? undefined
        : yield* store.getSession(yield* ownerOf(store, args.id))
      // A file reference belongs to the database: describe it for whichever sessions mention it.
      const scope = session === undefined
        ? yield* fileScope(store, args.id)
        : yield* scopeFor(store, session, false)
      const result = yield* MemoryTools.describe(scope, { id: args.id })
      yield* emit(args.json, result, (r) => r.text)
    }))).pipe(Command.withDescription("Tell what a summary, message or file id is"))

/** A scope over every session, for describing a file id found anywhere. */
const fileScope = (store: Storage.Service, id: string) =>
  Effect.gen(function*() {
    const sessions = yield* allSessions(store)
    const first = sessions[0]
    if (first === undefined) return yield* new IdNotFound({ id })
    const scope = yield* scopeFor(store, first, false)
    return { ...scope, sessionIds: sessions.map((s) => s.id) }
  })

export const expand = Command.make("expand", {
  db: Opt.db,
  json: Opt.json,
  cursor,
  all: Options.boolean("all").pipe(Options.withDescription("Follow the cursors and print every page")),
  maxTokens: Options.integer("max-tokens").pipe(
    Options.withDescription(
      `Tokens per page (200-${MemoryTools.EXPAND_MAX_TOKENS}, default ${MemoryTools.EXPAND_DEFAULT_TOKENS})`
    ),
    Options.optional
  ),
  id: Args.text({ name: "id" }).pipe(
    Args.withDescription("A summary (sum_…: its originals) or a message (msg_…: in full)")
  )
}, (args) =>
  withStore(args.db, (store) =>
    Effect.gen(function*() {
      const session = yield* store.getSession(yield* ownerOf(store, args.id))
      const scope = yield* scopeFor(store, session, false)
      const pages: Array<MemoryTools.ExpandResult> = []
      let next = Option.getOrUndefined(args.cursor)
      do {
        const page = yield* MemoryTools.expand(scope, {
          id: args.id,
          cursor: next,
          maxTokens: Option.getOrUndefined(args.maxTokens)
        })
        pages.push(page)
        next = page.nextCursor
      } while (args.all && next !== undefined)
      yield* emit(
        args.json,
        args.all ? { items: pages.flatMap((p) => p.items), total: pages[0]?.total ?? 0 } : pages[0],
        () => pages.map((p) => p.text).join("\n\n")
      )
    }))).pipe(Command.withDescription("Show the originals a summary stands for, or one message in full"))
