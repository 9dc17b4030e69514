/**
 * The `mnesis` command: its subcommands, and running it on an argument vector with failures
 * printed as one clear line (the library's and the command's errors say what to do).
 *
 * @internal
 */
import { Command, ValidationError } from "@effect/cli"
import { Cause, Console, Effect, Logger, LogLevel, Option, Schema } from "effect"
import * as NodeFs from "node:fs"
import { context } from "./commands/context.js"
import { describe, expand, grep } from "./commands/memory.js"
import { serve } from "./commands/serve.js"
import { sessions } from "./commands/sessions.js"
import { show } from "./commands/show.js"
import { stats } from "./commands/stats.js"

/** The package's version, read from its package.json (one level above `src/` and `dist/`). */
export const VERSION: string = Option.getOrElse(
  Schema.decodeUnknownOption(Schema.parseJson(Schema.Struct({ version: Schema.String })))(
    NodeFs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")
  ).pipe(Option.map((manifest) => manifest.version)),
  () => "unknown"
)

const OVERVIEW = `mnesis ${VERSION}: look inside the sessions of a mnesis database

  mnesis sessions             list sessions with their sizes (--since, --older-than, --model, --agent)
  mnesis show <session>       model, usage, cost, rounds, context size per turn
  mnesis context <session>    what the model saw (--turn N for a past turn)
  mnesis grep <session> <pattern>   search a session's whole history
  mnesis describe <id>        what a summary, message or file id is
  mnesis expand <id>          the originals behind a summary, or a message in full
  mnesis stats                database size, messages, summaries, tokens saved
  mnesis serve                a local, read-only web explorer (127.0.0.1)

The database is --db <file>, else MNESIS_DATABASE_URL, else MNESIS_DB_PATH, else
~/.mnesis/sessions.db. Add --json for scripts, --help to any command for its options.`

const root = Command.make("mnesis", {}, () => Console.log(OVERVIEW)).pipe(
  Command.withDescription("Look inside the sessions of a mnesis database"),
  Command.withSubcommands([sessions, show, context, grep, describe, expand, stats, serve])
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
