/**
 * Turns what went wrong on the wire (an HTTP status with its body, an in-stream error object, a
 * transport failure) into the typed provider errors of `Errors.ts`.
 *
 * @since 0.1.0
 */
import type { HttpClientError } from "@effect/platform"
import { Clock, Effect, Option, Redacted } from "effect"
import type { LlmError } from "../../Errors.js"
import {
  LlmAuthenticationError,
  LlmConnectionError,
  LlmContextTooLong,
  LlmInvalidRequest,
  LlmOverloaded,
  LlmRateLimited,
  LlmServerError,
  LlmTimeout
} from "../../Errors.js"
import type { ErrorObject } from "./Wire.js"
import { decodeErrorBody } from "./Wire.js"

/** Long enough for any real error message, short enough to keep HTML error pages out of logs. */
const MAX_DETAIL = 500

const truncate = (text: string): string => text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text

/** Removes a secret from text a server sent back (a proxy may echo the request's headers). */
export type Redactor = (text: string) => string

export const redactorFor = (secret: Redacted.Redacted<string> | undefined): Redactor => {
  if (secret === undefined) return (text) => text
  const value = Redacted.value(secret)
  return value === "" ? (text) => text : (text) => text.split(value).join("[redacted]")
}

/** What we could read from an error body. */
export interface ErrorInfo {
  readonly detail: string
  readonly code?: string | number | undefined
}

const fromErrorObject = (error: ErrorObject, fallback: string): ErrorInfo => {
  const message = error.message ?? error.type ?? fallback
  const code = error.code ?? undefined
  return { detail: code === undefined ? message : `${message} (${String(code)})`, code }
}

/** Reads an OpenAI-style error body; any other body is quoted as it is. */
export const errorInfoOf = (status: number, body: string): ErrorInfo => {
  const fallback = `HTTP ${status}`
  const decoded = decodeErrorBody(body)
  if (Option.isNone(decoded)) return { detail: body.trim() === "" ? fallback : `${fallback}: ${body.trim()}` }
  const value = decoded.value
  if ("message" in value) return { detail: value.message }
  return typeof value.error === "string" ? { detail: value.error } : fromErrorObject(value.error, fallback)
}

const contextTooLongMessage =
  /context[_ ](length|window)|maximum context|prompt is too long|too many tokens|reduce the length|too large for/i

const isContextTooLong = (info: ErrorInfo): boolean =>
  info.code === "context_length_exceeded" || contextTooLongMessage.test(info.detail)

/** The typed error of an HTTP status. `retryAfterMs` only matters for 429. */
export const errorForStatus = (
  provider: string,
  status: number,
  info: ErrorInfo,
  retryAfterMs: Option.Option<number>
): LlmError => {
  const detail = truncate(info.detail)
  if (status === 413) return new LlmContextTooLong({ provider, detail })
  // 402: the account is out of credit, which only the account holder can fix, like a bad key.
  if (status === 401 || status === 402 || status === 403) {
    return new LlmAuthenticationError({ provider, detail })
  }
  if (status === 429) {
    return Option.match(retryAfterMs, {
      onNone: () => new LlmRateLimited({ provider, detail }),
      onSome: (ms) => new LlmRateLimited({ provider, detail, retryAfterMs: ms })
    })
  }
  if (status === 408) return new LlmTimeout({ provider, detail })
  if (status === 503 || status === 529) return new LlmOverloaded({ provider, detail })
  if (status >= 500) return new LlmServerError({ provider, detail, status })
  if (isContextTooLong(info)) return new LlmContextTooLong({ provider, detail })
  return new LlmInvalidRequest({ provider, detail, status })
}

/**
 * An error object sent inside a started stream. OpenRouter puts the upstream HTTP status in
 * `code`; anything else is treated as a server failure, which is what it almost always is.
 */
export const errorForStreamError = (provider: string, error: ErrorObject, redact: Redactor): LlmError => {
  const raw = fromErrorObject(error, "the provider reported an error in the stream")
  const info = { ...raw, detail: redact(raw.detail) }
  const status = typeof info.code === "number" && info.code >= 400 && info.code < 600 ? info.code : 500
  return errorForStatus(provider, isContextTooLong(info) ? 400 : status, info, Option.none())
}

/**
 * The provider's wait hint: `retry-after-ms` (OpenAI), else `retry-after` in seconds or as an
 * HTTP date (compared with `Clock`, so tests control "now").
 */
export const retryAfterMillis = (headers: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function*() {
    const ms = Number.parseFloat(headers["retry-after-ms"] ?? "")
    if (Number.isFinite(ms) && ms >= 0) return Option.some(ms)
    const value = headers["retry-after"]?.trim() ?? ""
    if (value === "") return Option.none<number>()
    const seconds = Number(value)
    if (Number.isFinite(seconds)) return seconds >= 0 ? Option.some(seconds * 1000) : Option.none<number>()
    const date = Date.parse(value)
    if (Number.isNaN(date)) return Option.none<number>()
    const now = yield* Clock.currentTimeMillis
    return Option.some(Math.max(0, date - now))
  })

/**
 * A failure of the HTTP client. Everything here is a connection problem: the request could not be
 * sent, or the body broke off while we were reading it.
 */
export const errorForTransport = (
  provider: string,
  error: HttpClientError.HttpClientError,
  redact: Redactor
): LlmConnectionError => {
  const cause = causeMessages(error.cause)
  const what = error._tag === "RequestError"
    ? "the request could not be sent"
    : "the response stream broke off"
  return new LlmConnectionError({
    provider,
    detail: truncate(redact(cause === "" ? `${what} (${error.reason})` : `${what}: ${cause}`))
  })
}

/** `fetch` wraps the socket error ("fetch failed" → "connect ECONNREFUSED …"): show the chain. */
const causeMessages = (cause: unknown, depth = 0): string => {
  if (!(cause instanceof Error) || depth > 3) return ""
  const inner = causeMessages(cause.cause, depth + 1)
  return inner === "" ? cause.message : `${cause.message}: ${inner}`
}
