/**
 * Whatever the Anthropic SDK throws, mapped once onto mnesis's tagged provider errors: its
 * connection, timeout and abort classes here, API errors (an HTTP status, or an `event: error`
 * inside the stream) through the shared provider-errors module.
 *
 * @since 0.1.0
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk"
import { Duration } from "effect"
import type { LlmError } from "../../Errors.js"
import { LlmConnectionError, LlmTimeout } from "../../Errors.js"
import type { Redactor } from "../shared/ProviderErrors.js"
import { errorForStatus, errorName, retryAfterAt, systemCode } from "../shared/ProviderErrors.js"

export const PROVIDER = "anthropic"

/** Where the failure happened: before the response started, or while reading its stream. */
export type Phase = "request" | "stream"

export type FailureMapper = (cause: unknown, phase: Phase, now: number) => LlmError

/** The mapper of one client: `redact` scrubs its key, `timeoutMs` is named in timeouts. */
export const failureMapper = (redact: Redactor, timeoutMs: number): FailureMapper => (cause, phase, now) => {
  // Order matters: the timeout and abort classes extend APIConnectionError / APIError.
  if (cause instanceof APIConnectionTimeoutError) {
    return new LlmTimeout({
      provider: PROVIDER,
      detail: `no response within ${Duration.format(Duration.millis(timeoutMs))}`
    })
  }
  if (cause instanceof APIUserAbortError) {
    return new LlmConnectionError({ provider: PROVIDER, detail: "the request was aborted" })
  }
  if (cause instanceof APIConnectionError) {
    return new LlmConnectionError({
      provider: PROVIDER,
      detail: `could not reach the Anthropic API${systemCode(cause)}`
    })
  }
  if (isApiError(cause)) return fromApiError(cause, now, redact)
  if (phase === "stream" && cause instanceof SyntaxError) {
    return new LlmConnectionError({
      provider: PROVIDER,
      detail: "the response stream carried an event that is not JSON"
    })
  }
  // Raw errors from reading the body (undici's "terminated", socket resets) mean the stream was
  // cut; anything else is unexpected. Only the error's name and code are kept: its message could
  // carry request details.
  return new LlmConnectionError({
    provider: PROVIDER,
    detail: phase === "stream"
      ? `the response stream was cut before the message ended${systemCode(cause)}`
      : `unexpected ${errorName(cause)} from the Anthropic client${systemCode(cause)}`
  })
}

/** Narrows to the SDK's default type arguments (a bare `instanceof` gives `any`s). */
const isApiError = (cause: unknown): cause is APIError => cause instanceof APIError

const fromApiError = (error: APIError, now: number, redact: Redactor): LlmError => {
  // Widened: in-stream errors may carry types the SDK's union does not list (request_too_large).
  const type: string | undefined = error.type ?? undefined
  const message = redact(error.apiMessage ?? error.message)
  const detail = type === undefined ? message : `${type}: ${message}`
  const status = error.status ?? statusOfErrorType(type)
  const headers = error.headers
  const retryAfterMs = headers === undefined ? undefined : retryAfterAt((name) => headers.get(name), now)
  return errorForStatus(PROVIDER, status, { detail, type }, retryAfterMs)
}

/**
 * The HTTP status an in-stream error type stands for. An unknown type inside a stream that had
 * started fine is treated as a server-side failure.
 */
const statusOfErrorType = (type: string | undefined): number => {
  switch (type) {
    case "invalid_request_error":
      return 400
    case "authentication_error":
      return 401
    case "billing_error":
      return 402
    case "permission_error":
      return 403
    case "not_found_error":
      return 404
    case "timeout_error":
      return 408
    case "request_too_large":
      return 413
    case "rate_limit_error":
      return 429
    case "overloaded_error":
      return 529
    default:
      return 500
  }
}
