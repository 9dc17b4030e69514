/**
 * `mnesis export | import | delete | prune`: sessions as files, and sessions going as a whole.
 * Export and import stream a page of records at a time and report progress on stderr (stdout
 * may carry the archive itself). Delete and prune show what would go and delete only with --yes.
 *
 * @internal
 */
import { Args, Command, Options } from "@effect/cli"
import { Clock, Duration, Effect, Option, Ref, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as NodeReadline from "node:readline"
import * as Archive from "../../Archive.js"
import type { SessionInfo } from "../../Domain.js"
import { withStore } from "../Database.js"
import { BadOption } from "../errors.js"
import { num } from "../format.js"
import { allSessions } from "../inspect/read.js"
import * as Opt from "../options.js"
import { emit, note } from "../output.js"

/** Records between two progress lines. */
const PROGRESS_EVERY = 1_000

const writeFailed = (target: string, cause: unknown) =>
  new BadOption({
    option: "--out",
    reason: `cannot write ${target}: ${cause instanceof Error ? cause.message : String(cause)}`
  })

/**
 * Where the archive goes: a file (written synchronously, every byte), or stdout through its
 * stream, waiting for each chunk to be taken (a pipe to a slow reader loses nothing).
 */
const sinkTo = (out: string | undefined) =>
  out === undefined
    ? Effect.succeed((text: string) =>
      Effect.async<void, BadOption>((resume) => {
        process.stdout.write(text, (error) =>
          resume(
            error === null || error === undefined ? Effect.void : Effect.fail(writeFailed("stdout", error))
          ))
      })
    )
    : Effect.map(
      Effect.acquireRelease(
        Effect.try({ try: () => NodeFs.openSync(out, "w"), catch: (cause) => writeFailed(out, cause) }),
        (fd) => Effect.sync(() => NodeFs.closeSync(fd))
      ),
      (fd) => (text: string) =>
        Effect.try({
          try: () => {
            const bytes = Buffer.from(text, "utf8")
            for (let done = 0; done < bytes.length;) done += NodeFs.writeSync(fd, bytes, done)
          },
          catch: (cause) => writeFailed(out, cause)
        })
    )

export const exportSession = Command.make("export", {
  db: Opt.db,
  json: Opt.json,
  out: Options.text("out").pipe(
    Options.withDescription("The file to write (replaced if it exists); default: stdout"),
    Options.optional
  ),
  session: Opt.session
}, (args) =>
  withStore(args.db, (store) =>
    Effect.scoped(Effect.gen(function*() {
      const session = yield* Opt.resolveSession(store, args.session)
      const out = Option.getOrUndefined(args.out)
      const write = yield* sinkTo(out)
      // A failed export leaves no partial archive behind.
      if (out !== undefined) {
        yield* Effect.addFinalizer((exit) =>
          exit._tag === "Failure" ? Effect.sync(() => NodeFs.rmSync(out, { force: true })) : Effect.void
        )
      }
      const counts = { records: 0, sessions: 0, messages: 0, summaries: 0 }
      let reported = 0
      yield* store.exportSession(session.id, (records) =>
        Effect.gen(function*() {
          yield* write(records.map((record) => Archive.toLine(record) + "\n").join(""))
          for (const record of records) {
            counts.records++
            if (record.type === "session") counts.sessions++
            else if (record.type === "message") counts.messages++
            else if (record.type === "summary") counts.summaries++
          }
          if (counts.records - reported >= PROGRESS_EVERY) {
            reported = counts.records
            yield* note(`exported ${num(counts.records)} records (${num(counts.messages)} messages)…`)
          }
        }))
      const summary = { sessionId: session.id, out: out ?? "stdout", ...counts }
      const line = `exported ${num(counts.sessions)} session${counts.sessions === 1 ? "" : "s"} ` +
        `(${num(counts.messages)} messages, ${num(counts.summaries)} summaries, ${
          num(counts.records)
        } records) ` +
        `to ${out ?? "stdout"}`
      // With the archive on stdout, the report goes to stderr.
      if (out === undefined) yield* note(line)
      else yield* emit(args.json, summary, () => line)
    })))).pipe(Command.withDescription("Write a session and its sub-sessions to a JSON Lines archive"))

/** The lines of a file, a line at a time, with progress every few thousand lines. */
const fileLines = (path: string) =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const input = yield* Effect.acquireRelease(
      Effect.try({
        try: () => NodeFs.createReadStream(path, { encoding: "utf8" }),
        catch: (cause) => new BadOption({ option: "file", reason: `cannot read ${path}: ${String(cause)}` })
      }),
      (stream) => Effect.sync(() => stream.destroy())
    )
    const lines = NodeReadline.createInterface({ input, crlfDelay: Infinity })
    return Stream.fromAsyncIterable(lines, (cause) =>
      new BadOption({ option: "file", reason: `reading ${path} failed: ${String(cause)}` }))
  }))

export const importSession = Command.make("import", {
  db: Opt.db,
  json: Opt.json,
  file: Args.text({ name: "file" }).pipe(
    Args.withDescription("A JSON Lines archive written by `mnesis export`")
  )
}, (args) =>
  Effect.gen(function*() {
    if (!NodeFs.existsSync(args.file)) {
      return yield* new BadOption({ option: "file", reason: `no file at ${args.file}` })
    }
    yield* withStore(args.db, (store) =>
      Effect.gen(function*() {
        const read = yield* Ref.make(0)
        const lines = fileLines(args.file).pipe(
          Stream.tap(() =>
            Effect.flatMap(
              Ref.updateAndGet(read, (n) => n + 1),
              (n) => n % PROGRESS_EVERY === 0 ? note(`read ${num(n)} records…`) : Effect.void
            )
          )
        )
        const ids = yield* store.importSession(Archive.fromLines(lines))
        const records = yield* Ref.get(read)
        yield* emit(
          args.json,
          { imported: ids, records },
          () =>
            `imported ${ids.length} session${ids.length === 1 ? "" : "s"} (${num(records)} records): ${
              ids.join(", ")
            }`
        )
      }), { create: true })
  })).pipe(
    Command.withDescription("Read sessions from a JSON Lines archive into the database (created if missing)")
  )

const yes = Options.boolean("yes").pipe(
  Options.withDescription("Delete: without it, only show what would be deleted")
)

/** A session and every session below it. */
const treeOf = (all: ReadonlyArray<SessionInfo>, root: SessionInfo): Array<SessionInfo> => {
  const out = [root]
  for (let i = 0; i < out.length; i++) {
    for (const s of all) if (s.parentId === out[i]!.id) out.push(s)
  }
  return out
}

const describeTrees = (trees: ReadonlyArray<ReadonlyArray<SessionInfo>>): string =>
  trees.map((tree) => {
    const [root, ...children] = tree
    const messages = tree.reduce((sum, s) => sum + s.messageCount, 0)
    return `  ${root!.id} (${root!.model}, ${num(messages)} messages${
      children.length === 0 ? "" : `, ${children.length} sub-session${children.length === 1 ? "" : "s"}`
    })`
  }).join("\n")

const refuseWithoutYes = (count: number) =>
  new BadOption({
    option: "--yes",
    reason: `nothing was deleted; pass --yes to delete ${
      count === 1 ? "this session" : `these ${count} sessions`
    }`
  })

export const deleteSession = Command.make("delete", {
  db: Opt.db,
  json: Opt.json,
  yes,
  session: Opt.session
}, (args) =>
  withStore(args.db, (store) =>
    Effect.gen(function*() {
      const session = yield* Opt.resolveSession(store, args.session)
      const tree = treeOf(yield* allSessions(store), session)
      if (!args.yes) {
        yield* emit(args.json, { wouldDelete: tree.map((s) => s.id) }, () =>
          `would delete:\n${describeTrees([tree])}`)
        return yield* refuseWithoutYes(tree.length)
      }
      const deleted = yield* store.deleteSession(session.id)
      yield* emit(args.json, { deleted }, () =>
        `deleted ${deleted.length} session${deleted.length === 1 ? "" : "s"}: ${deleted.join(", ")}`)
    }))).pipe(Command.withDescription("Delete a session with its sub-sessions, summaries and search rows"))

export const prune = Command.make("prune", {
  db: Opt.db,
  json: Opt.json,
  yes,
  olderThan: Options.text("older-than").pipe(
    Options.withSchema(Opt.Age),
    Options.withDescription(
      "Delete sessions (with their sub-sessions) none of which was written to for this long"
    )
  )
}, (args) =>
  withStore(args.db, (store) =>
    Effect.gen(function*() {
      const cutoff = (yield* Clock.currentTimeMillis) - Duration.toMillis(args.olderThan)
      const all = yield* allSessions(store)
      const trees = all.filter((s) => s.parentId === undefined).map((root) => treeOf(all, root))
        .filter((tree) => tree.every((s) => s.updatedAt < cutoff))
      if (!args.yes) {
        yield* emit(args.json, {
          cutoff,
          wouldDelete: trees.flat().map((s) => s.id)
        }, () => trees.length === 0 ? "no session is that old" : `would delete:\n${describeTrees(trees)}`)
        if (trees.length === 0) return
        return yield* refuseWithoutYes(trees.flat().length)
      }
      const deleted = yield* store.deleteSessionsUntouchedSince(cutoff)
      yield* emit(args.json, { cutoff, deleted }, () =>
        deleted.length === 0
          ? "no session is that old"
          : `deleted ${deleted.length} session${deleted.length === 1 ? "" : "s"}: ${deleted.join(", ")}`)
    }))).pipe(Command.withDescription("Retention: delete sessions untouched for a given time"))
