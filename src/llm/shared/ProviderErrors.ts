/**
 * What every provider does with a failure, written once: an HTTP status (with what the body said)
 * becomes one tagged error of `Errors.ts`, the server's `retry-after` hint is read, secrets are
 * scrubbed from any text a server sent back, and transport failures are described by their error
 * chain and system code (never by request details).
 *
 * @since 0.1.0
 */
import { Clock, Effect, Option, Redacted } from "effect"
import type { LlmError } from "../../Errors.js"
import {
  LlmAuthenticationError,
  LlmContextTooLong,
  LlmInvalidRequest,
  LlmOverloaded,
  LlmRateLimited,
  LlmServerError,
  LlmTimeout
} from "../../Errors.js"

// ---------------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------------

/** Removes a secret from text a server sent back (a proxy may echo the request's headers). */
export type Redactor = (text: string) => string

/** The marker a secret is replaced with. */
export const REDACTED = "[redacted]"

/**
 * The redactor of one secret. A missing or empty secret redacts nothing (there is nothing to
 * find, and splitting on "" would mangle every character).
 */
export const redactorFor = (secret: Redacted.Redacted<string> | string | undefined): Redactor => {
  const value = secret === undefined ? "" : typeof secret === "string" ? secret : Redacted.value(secret)
  return value === "" ? (text) => text : (text) => text.split(value).join(REDACTED)
}

/** Long enough for any real error message, short enough to keep HTML error pages out of logs. */
const MAX_DETAIL = 500

/** Cuts a detail to {@link MAX_DETAIL} characters. */
export const truncateDetail = (text: string): string =>
  text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text

// ---------------------------------------------------------------------------------------------
// Status → tagged error
// ---------------------------------------------------------------------------------------------

/** What could be read from an error response (already redacted). */
export interface ErrorInfo {
  readonly detail: string
  /** A machine-readable code from the body (`context_length_exceeded`, an HTTP status…). */
  readonly code?: string | number | undefined
  /** The body's error type (`overloaded_error`, `request_too_large`…). */
  readonly type?: string | undefined
}

const contextTooLongMessage =
  /context[_ ](?:length|window|limit)|maximum context|prompt is too long|too many (?:input )?tokens|reduce the length|too large for/i

/** True when the provider says the prompt does not fit the model. */
export const isContextTooLong = (info: ErrorInfo): boolean =>
  info.code === "context_length_exceeded" || info.type === "request_too_large" ||
  contextTooLongMessage.test(info.detail)

/**
 * The typed error of an HTTP status and what its body said. `retryAfterMs` (the server's hint)
 * only matters for 429.
 *
 * - 503, 529 or an `overloaded_error` → `LlmOverloaded`
 * - 413 or `request_too_large` → `LlmContextTooLong`
 * - 401, 402 (out of credit: only the account holder can fix it, like a bad key), 403 →
 *   `LlmAuthenticationError`
 * - 429 → `LlmRateLimited`; 408 → `LlmTimeout`; other 5xx → `LlmServerError`
 * - other 4xx → `LlmContextTooLong` when the message says the prompt is too long, else
 *   `LlmInvalidRequest`
 *
 * @since 0.1.0
 */
export const errorForStatus = (
  provider: string,
  status: number,
  info: ErrorInfo,
  retryAfterMs?: number
): LlmError => {
  const detail = truncateDetail(info.detail)
  if (info.type === "overloaded_error" || status === 503 || status === 529) {
    return new LlmOverloaded({ provider, detail })
  }
  if (status === 413 || info.type === "request_too_large") return new LlmContextTooLong({ provider, detail })
  if (status === 401 || status === 402 || status === 403) {
    return new LlmAuthenticationError({ provider, detail })
  }
  if (status === 429) {
    return retryAfterMs === undefined
      ? new LlmRateLimited({ provider, detail })
      : new LlmRateLimited({ provider, detail, retryAfterMs })
  }
  if (status === 408) return new LlmTimeout({ provider, detail })
  if (status >= 500) return new LlmServerError({ provider, detail, status })
  if (isContextTooLong(info)) return new LlmContextTooLong({ provider, detail })
  return new LlmInvalidRequest({ provider, detail, status })
}

// ---------------------------------------------------------------------------------------------
// retry-after
// ---------------------------------------------------------------------------------------------

/** Reads one response header by (lower-case) name. */
export type HeaderReader = (name: string) => string | null | undefined

const nonNegative = (value: string | null | undefined): number | undefined => {
  if (value === null || value === undefined || value.trim() === "") return undefined
  const number = Number(value)
  return Number.isFinite(number) && number >= 0 ? number : undefined
}

/**
 * The server's wait hint in milliseconds, measured from `now`: `retry-after-ms` (OpenAI,
 * Anthropic), else `retry-after` in seconds or as an HTTP date. Negative or unreadable values
 * are no hint.
 *
 * @since 0.1.0
 */
export const retryAfterAt = (header: HeaderReader, now: number): number | undefined => {
  const millis = nonNegative(header("retry-after-ms"))
  if (millis !== undefined) return millis
  const value = header("retry-after")?.trim() ?? ""
  if (value === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  // Only a real HTTP date (it names a day); `Date.parse` reads odd strings like "-5" as years.
  if (!/[a-z]{3}/i.test(value)) return undefined
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** {@link retryAfterAt} with "now" from `Clock`, so tests control it. */
export const retryAfter = (header: HeaderReader): Effect.Effect<Option.Option<number>> =>
  Effect.map(Clock.currentTimeMillis, (now) => Option.fromNullable(retryAfterAt(header, now)))

/** Google's `RetryInfo.retryDelay` (`"39s"`, `"1.5s"`) in milliseconds. */
export const durationTextMillis = (text: string | null | undefined): number | undefined => {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)s\s*$/.exec(text ?? "")
  return match === null ? undefined : Number(match[1]) * 1000
}

// ---------------------------------------------------------------------------------------------
// Transport failures
// ---------------------------------------------------------------------------------------------

/**
 * The messages of an error and its causes (`fetch failed: connect ECONNREFUSED …`). Only for
 * errors raised by the HTTP stack itself, whose messages name hosts, not request contents.
 */
export const causeChain = (cause: unknown, depth = 0): string => {
  if (!(cause instanceof Error) || depth > 3) return ""
  const inner = causeChain(cause.cause, depth + 1)
  return inner === "" ? cause.message : `${cause.message}: ${inner}`
}

/** ` (ECONNREFUSED)`: the system error code found on an error or its causes, or "". */
export const systemCode = (cause: unknown): string => {
  let current: unknown = cause
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const code = "code" in current ? current.code : undefined
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]*$/.test(code)) return ` (${code})`
    current = "cause" in current ? current.cause : undefined
  }
  return ""
}

/** An error's class name when it is a plain identifier, else "error". */
export const errorName = (cause: unknown): string =>
  cause instanceof Error && /^[A-Za-z]+$/.test(cause.name) ? cause.name : "error"
