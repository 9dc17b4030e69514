/**
 * What the bridges do with a failure of a foreign model library: an HTTP status (with what the
 * server said) becomes one tagged error of `Errors.ts`, and the server's wait hint is read from its
 * headers. The bridges never see the API key (the foreign library holds it), so details are only
 * cut to a readable length; request headers and bodies are never quoted.
 *
 * The status table is the one mnesis's own providers use; when the shared provider-errors module
 * (`llm/shared`) lands, this file should delegate to it.
 *
 * @since 0.1.0
 */
import type { LlmError } from "../Errors.js"
import {
  LlmAuthenticationError,
  LlmContextTooLong,
  LlmInvalidRequest,
  LlmOverloaded,
  LlmRateLimited,
  LlmServerError,
  LlmTimeout
} from "../Errors.js"

/** Long enough for an API's error message, short enough to keep HTML error pages out of logs. */
const MAX_DETAIL = 500

/** Cuts a detail to a readable length. */
export const truncate = (text: string): string =>
  text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text

const CONTEXT_TOO_LONG =
  /context[_ ](?:length|window|limit)|maximum context|prompt is too long|too many (?:input )?tokens|reduce the length/i

/**
 * The typed error of an HTTP status and what the server said: 503/529 overloaded, 413 or a
 * "prompt too long" 4xx too long, 401/402/403 credentials, 429 rate limited (with the wait hint),
 * 408 timeout, other 5xx server error, other 4xx invalid request.
 */
export const errorForStatus = (
  provider: string,
  status: number,
  detail: string,
  retryAfterMs?: number
): LlmError => {
  const text = truncate(detail)
  if (status === 503 || status === 529 || /overloaded/i.test(detail)) {
    return new LlmOverloaded({ provider, detail: text })
  }
  if (status === 413) return new LlmContextTooLong({ provider, detail: text })
  if (status === 401 || status === 402 || status === 403) {
    return new LlmAuthenticationError({ provider, detail: text })
  }
  if (status === 429) {
    return retryAfterMs === undefined
      ? new LlmRateLimited({ provider, detail: text })
      : new LlmRateLimited({ provider, detail: text, retryAfterMs })
  }
  if (status === 408) return new LlmTimeout({ provider, detail: text })
  if (status >= 500) return new LlmServerError({ provider, detail: text, status })
  if (CONTEXT_TOO_LONG.test(detail)) return new LlmContextTooLong({ provider, detail: text })
  return new LlmInvalidRequest({ provider, detail: text, status })
}

const nonNegative = (value: string | undefined): number | undefined => {
  if (value === undefined || value.trim() === "") return undefined
  const number = Number(value)
  return Number.isFinite(number) && number >= 0 ? number : undefined
}

/**
 * The server's wait hint in milliseconds: `retry-after-ms`, else `retry-after` in seconds or as an
 * HTTP date (measured from `now`). Header names are matched without regard to case.
 */
export const retryAfterMs = (
  headers: Readonly<Record<string, string | undefined>> | undefined,
  now: number
): number | undefined => {
  if (headers === undefined) return undefined
  const header = (name: string): string | undefined => {
    for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value
    return undefined
  }
  const millis = nonNegative(header("retry-after-ms"))
  if (millis !== undefined) return millis
  const value = header("retry-after")?.trim() ?? ""
  if (value === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  // Only a real HTTP date (it names a month or a day), never a stray word.
  if (!/[a-z]{3}/i.test(value)) return undefined
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** A thrown value's own words: `Name: message` for errors, the text for anything else. */
export const describeThrown = (error: unknown): string => {
  if (error instanceof Error) return error.message === "" ? error.name : `${error.name}: ${error.message}`
  if (typeof error === "string") return error
  if (
    typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
  ) {
    return error.message
  }
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}
