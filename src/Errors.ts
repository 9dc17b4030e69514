/**
 * Tagged errors: one class per failure a caller can act on, each with a message that says what to
 * do. Driver and SDK errors are wrapped once at the boundary and never leak raw.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** Configuration that fails validation: `path` names the field, `rule` the broken rule. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  path: Schema.String,
  rule: Schema.String
}) {
  override get message(): string {
    return this.path === "" ? this.rule : `invalid configuration at "${this.path}": ${this.rule}`
  }
}

/** The session id is not in the store. */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {
  sessionId: Schema.String
}) {
  override get message(): string {
    return `session ${this.sessionId} does not exist in this database; check the id and the database path`
  }
}

/** A session with this id is already in the store (an import that would overwrite it). */
export class SessionExists extends Schema.TaggedError<SessionExists>()("SessionExists", {
  sessionId: Schema.String
}) {
  override get message(): string {
    return `session ${this.sessionId} is already in this database; delete it first or import into another database`
  }
}

/** An archive file could not be read or written. */
export class ArchiveFileError extends Schema.TaggedError<ArchiveFileError>()("ArchiveFileError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot use the archive file ${this.path} (${this.reason}); check the path and its permissions`
  }
}

/** The store failed for a reason other than corruption or version (I/O, permissions, locking). */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  operation: Schema.String,
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `storage operation "${this.operation}" failed: ${this.reason}`
  }
}

/** What the store was pointed at is not a database of its kind, or the database reports corruption. */
export class DatabaseCorrupt extends Schema.TaggedError<DatabaseCorrupt>()("DatabaseCorrupt", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the database at ${this.path} is not usable (${this.reason}); restore a backup or point ` +
      `the store at another database`
  }
}

/** The database was written by a newer mnesis whose schema this version does not know. */
export class SchemaTooNew extends Schema.TaggedError<SchemaTooNew>()("SchemaTooNew", {
  path: Schema.String,
  found: Schema.Int,
  supported: Schema.Int
}) {
  override get message(): string {
    return `the database at ${this.path} has schema version ${this.found} but this mnesis supports up to ` +
      `${this.supported}; upgrade mnesis to open it`
  }
}

/** Input the caller passed cannot be stored or sent as it is. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.field}: ${this.reason}`
  }
}

/** A file could not be attached or read back; `reason` says why, the message what to do. */
export class FileError extends Schema.TaggedError<FileError>()("FileError", {
  /** The path given, or the `file_…` id asked for. */
  path: Schema.String,
  reason: Schema.Literal(
    "not_found",
    "is_directory",
    "permission_denied",
    "too_large",
    "unreadable",
    "unknown_id"
  ),
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const detail = this.detail === undefined ? "" : ` (${this.detail})`
    switch (this.reason) {
      case "not_found":
        return `file ${this.path} does not exist${detail}; check the path, or pass the content with { path, content }`
      case "is_directory":
        return `${this.path} is a directory; attach the files inside it one at a time`
      case "permission_denied":
        return `file ${this.path} cannot be read: permission denied${detail}; grant read access or pass the ` +
          `content with { path, content }`
      case "too_large":
        return `file ${this.path} is too large to attach${detail}; attach a part of it, or raise maxFileBytes`
      case "unreadable":
        return `file ${this.path} could not be read${detail}; check the file, or pass the content with { path, content }`
      case "unknown_id":
        return `${this.path} is not a file stored in this database; use an id from a file reference`
    }
  }
}

/** The newest user turn does not fit the model's budget even with everything else left out. */
export class ContextOverflow extends Schema.TaggedError<ContextOverflow>()("ContextOverflow", {
  needed: Schema.Int,
  available: Schema.Int
}) {
  override get message(): string {
    return `the newest turn needs ${this.needed} tokens but only ${this.available} are available for ` +
      `messages; send a shorter message, attach large content as a file reference, or use a model ` +
      `with a larger context window`
  }
}

// ---------------------------------------------------------------------------------------------
// Provider errors. The first five are transient and retried by the retry policy.
// ---------------------------------------------------------------------------------------------

const llmFields = {
  /** The provider prefix (`anthropic`, `openai`, …) or `mock`. */
  provider: Schema.String,
  /** What the provider said, without secrets. */
  detail: Schema.String
}

/** HTTP 429: too many requests. `retryAfterMs` is the provider's own hint when it gave one. */
export class LlmRateLimited extends Schema.TaggedError<LlmRateLimited>()("LlmRateLimited", {
  ...llmFields,
  retryAfterMs: Schema.optional(Schema.NonNegative)
}) {
  override get message(): string {
    return `${this.provider} rate limit reached: ${this.detail}; slow down or enable session.retry`
  }
}

/** HTTP 529 (Anthropic) or 503: the provider is overloaded. */
export class LlmOverloaded extends Schema.TaggedError<LlmOverloaded>()("LlmOverloaded", llmFields) {
  override get message(): string {
    return `${this.provider} is overloaded: ${this.detail}; retry later or enable session.retry`
  }
}

/** HTTP 5xx other than overload. */
export class LlmServerError extends Schema.TaggedError<LlmServerError>()("LlmServerError", {
  ...llmFields,
  status: Schema.Int
}) {
  override get message(): string {
    return `${this.provider} server error ${this.status}: ${this.detail}`
  }
}

/** The provider did not answer (or stopped streaming) within the timeout. */
export class LlmTimeout extends Schema.TaggedError<LlmTimeout>()("LlmTimeout", llmFields) {
  override get message(): string {
    return `${this.provider} timed out: ${this.detail}`
  }
}

/** The connection failed or the response stream was cut before the message ended. */
export class LlmConnectionError
  extends Schema.TaggedError<LlmConnectionError>()("LlmConnectionError", llmFields)
{
  override get message(): string {
    return `connection to ${this.provider} failed: ${this.detail}; check the network and the base URL`
  }
}

/** HTTP 401/403: the API key is missing, wrong or lacks permission. */
export class LlmAuthenticationError extends Schema.TaggedError<LlmAuthenticationError>()(
  "LlmAuthenticationError",
  llmFields
) {
  override get message(): string {
    return `${this.provider} rejected the credentials: ${this.detail}; check the API key`
  }
}

/** HTTP 400/404/422 or a response we could not understand: the request must change. */
export class LlmInvalidRequest extends Schema.TaggedError<LlmInvalidRequest>()("LlmInvalidRequest", {
  ...llmFields,
  status: Schema.optional(Schema.Int)
}) {
  override get message(): string {
    return `${this.provider} rejected the request: ${this.detail}`
  }
}

/** HTTP 413 or a "prompt is too long" error: the request exceeds the model's window. */
export class LlmContextTooLong
  extends Schema.TaggedError<LlmContextTooLong>()("LlmContextTooLong", llmFields)
{
  override get message(): string {
    return `${this.provider} says the request is too long for the model: ${this.detail}; lower ` +
      `modelOverrides.contextLimit so compaction keeps the context smaller`
  }
}

export type LlmError =
  | LlmRateLimited
  | LlmOverloaded
  | LlmServerError
  | LlmTimeout
  | LlmConnectionError
  | LlmAuthenticationError
  | LlmInvalidRequest
  | LlmContextTooLong

const transientTags: ReadonlySet<string> = new Set([
  "LlmRateLimited",
  "LlmOverloaded",
  "LlmServerError",
  "LlmTimeout",
  "LlmConnectionError"
])

/** Errors worth retrying: rate limited, overloaded, server error, timeout, connection. */
export const isTransient = (error: { readonly _tag: string }): boolean => transientTags.has(error._tag)

/** The session was closed; open or load it again to continue. */
export class SessionIsClosed extends Schema.TaggedError<SessionIsClosed>()("SessionIsClosed", {
  sessionId: Schema.String
}) {
  override get message(): string {
    return `session ${this.sessionId} is closed; use Session.load to continue it`
  }
}

// ---------------------------------------------------------------------------------------------
// Operators (LLM-Map, Agentic-Map)
// ---------------------------------------------------------------------------------------------

/** No operator run with this id in the store. */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  runId: Schema.String
}) {
  override get message(): string {
    return `run ${this.runId} does not exist in this database; check the id and the database path`
  }
}

/** Another runner resumed this run: this one stops writing to it. */
export class RunTakenOver extends Schema.TaggedError<RunTakenOver>()("RunTakenOver", {
  runId: Schema.String
}) {
  override get message(): string {
    return `run ${this.runId} was resumed by another runner; let that one finish it, or resume it again here`
  }
}

/** A sub-agent started an operator without narrowing its scope, or past the depth limit. */
export class DelegationRefused extends Schema.TaggedError<DelegationRefused>()("DelegationRefused", {
  reason: Schema.String
}) {
  override get message(): string {
    return `delegation refused: ${this.reason}`
  }
}

/** A JSON Lines file of an operator could not be read or written, or a line is not JSON. */
export class JsonlFileError extends Schema.TaggedError<JsonlFileError>()("JsonlFileError", {
  path: Schema.String,
  line: Schema.optional(Schema.Int),
  reason: Schema.String
}) {
  override get message(): string {
    const where = this.line === undefined ? this.path : `${this.path}, line ${this.line}`
    return `cannot use the JSON Lines file ${where} (${this.reason}); check the path, its permissions and its lines`
  }
}
