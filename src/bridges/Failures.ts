/**
 * What the bridges do with a failure of a foreign model library: an HTTP status (with what the
 * server said) becomes one tagged error of `Errors.ts`, and the server's wait hint is read from its
 * headers. The bridges never see the API key (the foreign library holds it), so details are only
 * cut to a readable length; request headers and bodies are never quoted.
 *
 * The status table and the hint reading are the providers' own (`llm/shared/ProviderErrors.ts`).
 *
 * @since 0.1.0
 */
import type { LlmError } from "../Errors.js"
import * as ProviderErrors from "../llm/shared/ProviderErrors.js"

/** Cuts a detail to a readable length (the providers' limit). */
export const truncate = ProviderErrors.truncateDetail

/**
 * The typed error of an HTTP status and what the server said, by the providers' own table
 * (`llm/shared/ProviderErrors.ts`). A bridge sees the message only, not the body's error type, so
 * a message that says "overloaded" stands for Anthropic's `overloaded_error`.
 */
export const errorForStatus = (
  provider: string,
  status: number,
  detail: string,
  retryAfterMs?: number
): LlmError =>
  ProviderErrors.errorForStatus(
    provider,
    status,
    { detail, type: /overloaded/i.test(detail) ? "overloaded_error" : undefined },
    retryAfterMs
  )

/**
 * The server's wait hint in milliseconds (see `ProviderErrors.retryAfterAt`), from a foreign
 * library's plain header record; names are matched without regard to case.
 */
export const retryAfterMs = (
  headers: Readonly<Record<string, string | undefined>> | undefined,
  now: number
): number | undefined => {
  if (headers === undefined) return undefined
  const byName = new Map(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]))
  return ProviderErrors.retryAfterAt((name) => byName.get(name), now)
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
