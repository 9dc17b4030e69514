/**
 * What the `mnesis` command can fail with beyond the library's own errors: each message says
 * what to do next.
 *
 * @internal
 */
import { Schema } from "effect"

/** The database file named by `--db`, an environment variable or the default does not exist. */
export class DatabaseNotFound extends Schema.TaggedError<DatabaseNotFound>()("DatabaseNotFound", {
  path: Schema.String,
  /** Where the path came from: `--db`, `MNESIS_DB_PATH` or `default`. */
  source: Schema.String
}) {
  override get message(): string {
    const from = this.source === "default" ? "the default location" : this.source
    return `no database at ${this.path} (from ${from}); nothing was created. Pass --db <file> or set ` +
      `MNESIS_DB_PATH to the file your sessions were written to`
  }
}

/** A database URL this build has no backend for. */
export class UnsupportedDatabase extends Schema.TaggedError<UnsupportedDatabase>()("UnsupportedDatabase", {
  location: Schema.String,
  source: Schema.String
}) {
  override get message(): string {
    return `${this.location} (from ${this.source}) names a database mnesis has no store for; ` +
      `pass --db with the path of a SQLite file or a postgres:// URL`
  }
}

/** No message or summary with this id anywhere in the database. */
export class IdNotFound extends Schema.TaggedError<IdNotFound>()("IdNotFound", {
  id: Schema.String
}) {
  override get message(): string {
    return `nothing with id ${this.id} in this database; message and summary ids are printed by ` +
      `\`mnesis context\`, \`mnesis grep\` and \`mnesis show\`` +
      (this.id.startsWith("file_") ? "; for a file id, pass --session with a session that uses it" : "")
  }
}

/** `--turn` outside the session's turns. */
export class TurnNotFound extends Schema.TaggedError<TurnNotFound>()("TurnNotFound", {
  sessionId: Schema.String,
  turn: Schema.Int,
  turns: Schema.Int
}) {
  override get message(): string {
    return this.turns === 0
      ? `session ${this.sessionId} has no completed turn yet; leave out --turn to see its current context`
      : `session ${this.sessionId} has turns 1 to ${this.turns}; there is no turn ${this.turn}`
  }
}

/** An option value the command cannot use. */
export class BadOption extends Schema.TaggedError<BadOption>()("BadOption", {
  option: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.option}: ${this.reason}`
  }
}

/** `serve` was asked to listen beyond this machine without `--allow-remote`. */
export class RemoteBindRefused extends Schema.TaggedError<RemoteBindRefused>()("RemoteBindRefused", {
  host: Schema.String
}) {
  override get message(): string {
    return `refusing to listen on ${this.host}: the explorer shows whole conversations to anyone who can ` +
      `reach it and has no authentication. Use --host 127.0.0.1 (the default), or pass --allow-remote ` +
      `to listen on ${this.host} anyway`
  }
}

/** The explorer could not start listening. */
export class ServeFailed extends Schema.TaggedError<ServeFailed>()("ServeFailed", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot listen on ${this.address}: ${this.reason}; choose another --port`
  }
}
