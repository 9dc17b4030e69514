/**
 * Reads what went wrong on the Chat Completions wire — an HTTP error body, an error object inside
 * a started stream, a transport failure — and hands it to the shared provider-errors module,
 * which turns it into a tagged error.
 *
 * @since 0.1.0
 */
import type { HttpClientError } from "@effect/platform"
import type { LlmError } from "../../Errors.js"
import { LlmConnectionError } from "../../Errors.js"
import type { ErrorInfo, Redactor } from "../shared/ProviderErrors.js"
import {
  causeChain,
  durationTextMillis,
  errorForStatus,
  isContextTooLong,
  truncateDetail
} from "../shared/ProviderErrors.js"
import type { ErrorBody, ErrorObject } from "./Wire.js"
import { decodeErrorBody } from "./Wire.js"

/** What an error body said, plus Google's retry delay when it gave one. */
export interface BodyInfo extends ErrorInfo {
  readonly retryDelayMs?: number | undefined
}

const fromErrorObject = (error: ErrorObject, fallback: string): BodyInfo => {
  const message = error.message ?? error.type ?? fallback
  const code = error.code ?? error.status ?? undefined
  const retryInfo = error.details?.find((detail) => (detail["@type"] ?? "").endsWith("RetryInfo"))
  const retryDelayMs = durationTextMillis(retryInfo?.retryDelay)
  return {
    detail: code === undefined ? message : `${message} (${String(code)})`,
    code,
    type: error.type ?? undefined,
    ...(retryDelayMs === undefined ? {} : { retryDelayMs })
  }
}

/** Google wraps its error object in a one-element array. */
const isWrapped = (body: ErrorBody): body is Extract<ErrorBody, ReadonlyArray<unknown>> => Array.isArray(body)

const fromBody = (body: ErrorBody, fallback: string): BodyInfo => {
  if (isWrapped(body)) return fromErrorObject(body[0].error, fallback)
  if ("error" in body) {
    return typeof body.error === "string"
      ? { detail: body.error }
      : fromErrorObject(body.error, fallback)
  }
  if (typeof body.message === "string") return { detail: body.message }
  const problems = body.message.detail.map((item) => {
    const where = (item.loc ?? []).join(".")
    return where === "" ? item.msg ?? "invalid" : `${where}: ${item.msg ?? "invalid"}`
  })
  return { detail: problems.length === 0 ? fallback : problems.join("; ") }
}

/**
 * Reads an error body (already redacted): OpenAI's, Google's or Mistral's shape; any other body
 * is quoted as it is.
 */
export const errorInfoOf = (status: number, body: string): BodyInfo => {
  const fallback = `HTTP ${status}`
  const decoded = decodeErrorBody(body)
  if (decoded._tag === "None") {
    return { detail: body.trim() === "" ? fallback : `${fallback}: ${body.trim()}` }
  }
  return fromBody(decoded.value, fallback)
}

/**
 * The error of an HTTP failure: the header's `retry-after` hint first, else the delay Google puts
 * in the body.
 */
export const errorForResponse = (
  provider: string,
  status: number,
  info: BodyInfo,
  retryAfterMs: number | undefined
): LlmError => errorForStatus(provider, status, info, retryAfterMs ?? info.retryDelayMs)

/**
 * An error object sent inside a started stream. OpenRouter and Google put the upstream HTTP
 * status in `code`; anything else is treated as a server failure, which is what it almost always
 * is.
 */
export const errorForStreamError = (provider: string, error: ErrorObject, redact: Redactor): LlmError => {
  const raw = fromErrorObject(error, "the provider reported an error in the stream")
  const info = { ...raw, detail: redact(raw.detail) }
  const code = typeof info.code === "string" && /^[45][0-9]{2}$/.test(info.code)
    ? Number(info.code)
    : info.code
  const status = typeof code === "number" && code >= 400 && code < 600 ? code : 500
  return errorForResponse(provider, isContextTooLong(info) ? 400 : status, info, undefined)
}

/**
 * A failure of the HTTP client. Everything here is a connection problem: the request could not be
 * sent, or the body broke off while we were reading it.
 */
export const errorForTransport = (
  provider: string,
  error: HttpClientError.HttpClientError,
  redact: Redactor
): LlmConnectionError => {
  const cause = causeChain(error.cause)
  const what = error._tag === "RequestError"
    ? "the request could not be sent"
    : "the response stream broke off"
  return new LlmConnectionError({
    provider,
    detail: truncateDetail(redact(cause === "" ? `${what} (${error.reason})` : `${what}: ${cause}`))
  })
}
