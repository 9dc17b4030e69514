/**
 * The `mnesis` command: its subcommands, and running it on an argument vector with failures
 * printed as one clear line (the library's and the command's errors say what to do).
 *
 * @internal
 */
import { Command, ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Logger, LogLevel, Option, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { context } from "./commands/context.js"
import { deleteSession, exportSession, importSession, prune } from "./commands/lifecycle.js"
import { describe, expand, grep } from "./commands/memory.js"
import { serve } from "./commands/serve.js"
import { sessions } from "./commands/sessions.js"
import { show } from "./commands/show.js"
import { stats } from "./commands/stats.js"

const Manifest = Schema.parseJson(Schema.Struct({ name: Schema.String, version: Schema.String }))

/** The package's version, from the nearest package.json named mnesis above this file. */
const readVersion = (): string => {
  let dir = NodePath.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const file = NodePath.join(dir, "package.json")
    const manifest = NodeFs.existsSync(file)
      ? Schema.decodeUnknownOption(Manifest)(NodeFs.readFileSync(file, "utf8"))
      : Option.none()
    if (Option.isSome(manifest) && manifest.value.name === "mnesis") return manifest.value.version
    const parent = NodePath.dirname(dir)
    if (parent === dir) return "unknown"
    dir = parent
  }
}

export const VERSION: string = readVersion()

const OVERVIEW = `mnesis ${VERSION}: look inside the sessions of a mnesis database

  mnesis sessions             list sessions with their sizes (--since, --older-than, --model, --agent)
  mnesis show <session>       model, usage, cost, rounds, context size per turn
  mnesis context <session>    what the model saw (--turn N for a past turn)
  mnesis grep <session> <pattern>   search a session's whole history
  mnesis describe <id>        what a summary, message or file id is
  mnesis expand <id>          the originals behind a summary, or a message in full
  mnesis stats                database size, messages, summaries, tokens saved
  mnesis export <session>     a session and its sub-sessions as JSON Lines (--out FILE)
  mnesis import <file>        sessions from an export, every id kept (into --db, created if missing)
  mnesis delete <session>     delete a session with its sub-sessions (--yes)
  mnesis prune --older-than 30d   delete sessions untouched that long (--yes)
  mnesis serve                a local, read-only web explorer (127.0.0.1)

The database is --db <file>, else MNESIS_DATABASE_URL, else MNESIS_DB_PATH, else
~/.mnesis/sessions.db. Add --json for scripts, --help to any command for its options.`

const root = Command.make("mnesis", {}, () => Console.log(OVERVIEW)).pipe(
  Command.withDescription("Look inside the sessions of a mnesis database"),
  Command.withSubcommands([
    sessions,
    show,
    context,
    grep,
    describe,
    expand,
    stats,
    exportSession,
    importSession,
    deleteSession,
    prune,
    serve
  ])
)

const cli = Command.run(root, { name: "mnesis", version: VERSION })

/** Why the command failed, in one line (usage errors were already printed with their help). */
const describeFailure = (error: unknown): string | undefined => {
  if (ValidationError.isValidationError(error)) return undefined
  if (error instanceof Error) return error.message
  if (
    typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
  ) {
    return error.message
  }
  return String(error)
}

/**
 * Runs the command on `argv` (as `process.argv`: node, script, arguments...). Failures are
 * printed on stderr and kept as the exit's failure, so the process exits non-zero.
 */
export const run = (argv: ReadonlyArray<string>) =>
  Effect.suspend(() => cli(argv)).pipe(
    Effect.tapErrorCause((cause) => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        const line = describeFailure(failure.value)
        return line === undefined ? Effect.void : Console.error(`mnesis: ${line}`)
      }
      if (Cause.isInterruptedOnly(cause)) return Effect.void
      return Console.error(`mnesis: unexpected failure (please report it):\n${Cause.pretty(cause)}`)
    }),
    // Logs go to stderr, so that stdout holds only the result (and `--json` stays parseable).
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))),
    Logger.withMinimumLogLevel(LogLevel.Warning)
  )
