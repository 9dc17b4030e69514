/**
 * Options shared by the commands, and how a session argument is resolved.
 *
 * @internal
 */
import { Args, Options } from "@effect/cli"
import { Duration, Effect, Option, ParseResult, Schema } from "effect"
import type { SessionInfo } from "../Domain.js"
import { SessionId } from "../Domain.js"
import { SessionNotFound } from "../Errors.js"
import type * as Storage from "../Storage.js"
import { BadOption } from "./errors.js"
import { allSessions } from "./inspect/read.js"

export const db = Options.text("db").pipe(
  Options.withDescription(
    "The database: a SQLite file or a postgres:// URL. Default: MNESIS_DATABASE_URL, else MNESIS_DB_PATH, else ~/.mnesis/sessions.db"
  ),
  Options.optional
)

/** The session a command is about (resolved by {@link resolveSession}). */
export const session = Args.text({ name: "session" }).pipe(
  Args.withDescription("A session id, a unique start of one, or `latest`")
)

export const json = Options.boolean("json").pipe(
  Options.withDescription("Print JSON (one document) for scripts instead of text")
)

export const config = Options.text("config").pipe(
  Options.withDescription(
    "The configuration the sessions ran with, as given to makeConfig: inline JSON or a JSON file " +
      "(thresholds depend on it, e.g. {\"modelOverrides\":{\"contextLimit\":8000}})"
  ),
  Options.optional
)

const UNITS: Record<string, Duration.DurationInput> = {
  s: "1 second",
  m: "1 minute",
  h: "1 hour",
  d: "1 day",
  w: "7 days"
}

/** `30d`, `12h`, `90m`, `2w`, `45s`, or an Effect duration such as `30 days`. */
export const Age = Schema.transformOrFail(Schema.String, Schema.DurationFromSelf, {
  strict: true,
  decode: (input, _, ast) => {
    const short = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(input)
    if (short !== null) {
      return ParseResult.succeed(
        Duration.times(Duration.decode(UNITS[short[2]!.toLowerCase()]!), Number(short[1]))
      )
    }
    return Option.match(Duration.decodeUnknown(input.trim()), {
      onNone: () =>
        ParseResult.fail(
          new ParseResult.Type(ast, input, `"${input}" is not an age: use 30d, 12h, 90m, 2w or "30 days"`)
        ),
      onSome: ParseResult.succeed
    })
  },
  encode: (duration) => ParseResult.succeed(`${Duration.toMillis(duration) / 1000}s`)
})

export const age = (name: string, description: string) =>
  Options.text(name).pipe(Options.withSchema(Age), Options.withDescription(description), Options.optional)

const decodeSessionId = Schema.decodeUnknownOption(SessionId)

/**
 * The session a command argument names: its full id, a unique prefix of it (`sess_01JX`), or
 * `latest` (the session written to most recently).
 */
export const resolveSession = (
  store: Storage.Service,
  argument: string
): Effect.Effect<SessionInfo, SessionNotFound | BadOption | Storage.StoreFailure> =>
  Effect.gen(function*() {
    const wanted = argument.trim()
    const exact = decodeSessionId(wanted)
    if (Option.isSome(exact)) return yield* store.getSession(exact.value)
    const sessions = yield* allSessions(store)
    if (wanted === "latest") {
      const latest = sessions.reduce<SessionInfo | undefined>(
        (best, s) => best === undefined || s.updatedAt > best.updatedAt ? s : best,
        undefined
      )
      if (latest === undefined) return yield* new SessionNotFound({ sessionId: "latest" })
      return latest
    }
    const matching = wanted.length < 6 ? [] : sessions.filter((s) => s.id.startsWith(wanted))
    if (matching.length === 1) return matching[0]!
    if (matching.length > 1) {
      return yield* new BadOption({
        option: "session",
        reason: `${wanted} is the start of ${matching.length} session ids (${
          matching.slice(0, 3).map((s) => s.id).join(", ")
        }…); give more of it`
      })
    }
    return yield* new SessionNotFound({ sessionId: wanted })
  })
