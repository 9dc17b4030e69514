/**
 * The provider-errors module every provider shares: one status table, one reading of
 * `retry-after`, one redaction.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, Option, Redacted, TestClock } from "effect"
import {
  durationTextMillis,
  errorForStatus,
  REDACTED,
  redactorFor,
  retryAfter,
  retryAfterAt
} from "../../../src/llm/shared/ProviderErrors.js"

const headers = (entries: Record<string, string>) => (name: string) => entries[name]

describe("ProviderErrors", () => {
  describe("errorForStatus", () => {
    const cases: ReadonlyArray<readonly [number, { detail: string; code?: string; type?: string }, object]> =
      [
        [400, { detail: "Invalid 'messages[0]'" }, { _tag: "LlmInvalidRequest", status: 400 }],
        [400, { detail: "prompt is too long: 210000 tokens > 200000 maximum" }, {
          _tag: "LlmContextTooLong"
        }],
        [400, { detail: "too many input tokens" }, { _tag: "LlmContextTooLong" }],
        [400, { detail: "bad", code: "context_length_exceeded" }, { _tag: "LlmContextTooLong" }],
        [404, { detail: "model not found" }, { _tag: "LlmInvalidRequest", status: 404 }],
        [422, { detail: "body.stream_options: Extra inputs are not permitted" }, {
          _tag: "LlmInvalidRequest",
          status: 422
        }],
        [401, { detail: "bad key" }, { _tag: "LlmAuthenticationError" }],
        [402, { detail: "no credit" }, { _tag: "LlmAuthenticationError" }],
        [403, { detail: "forbidden" }, { _tag: "LlmAuthenticationError" }],
        [408, { detail: "slow" }, { _tag: "LlmTimeout" }],
        [413, { detail: "too large" }, { _tag: "LlmContextTooLong" }],
        [400, { detail: "x", type: "request_too_large" }, { _tag: "LlmContextTooLong" }],
        [429, { detail: "slow down" }, { _tag: "LlmRateLimited" }],
        [500, { detail: "oops" }, { _tag: "LlmServerError", status: 500 }],
        [502, { detail: "bad gateway" }, { _tag: "LlmServerError", status: 502 }],
        [503, { detail: "busy" }, { _tag: "LlmOverloaded" }],
        [529, { detail: "overloaded" }, { _tag: "LlmOverloaded" }],
        [500, { detail: "x", type: "overloaded_error" }, { _tag: "LlmOverloaded" }]
      ]
    it.each(cases)("%i %o → %o", (status, info, expected) => {
      expect(errorForStatus("acme", status, info)).toMatchObject({ provider: "acme", ...expected })
    })

    it("keeps the hint on a 429 only, and cuts long details", () => {
      expect(errorForStatus("acme", 429, { detail: "x" }, 1500)).toMatchObject({ retryAfterMs: 1500 })
      expect(errorForStatus("acme", 503, { detail: "x" }, 1500)).not.toHaveProperty("retryAfterMs")
      const long = errorForStatus("acme", 500, { detail: "<html>".repeat(500) })
      expect(long._tag === "LlmServerError" && long.detail.length).toBe(501)
    })
  })

  describe("retry-after", () => {
    const now = Date.parse("2026-03-01T12:00:00Z")
    it("prefers retry-after-ms, then seconds, then an HTTP date", () => {
      expect(retryAfterAt(headers({ "retry-after-ms": "1500", "retry-after": "9" }), now)).toBe(1500)
      expect(retryAfterAt(headers({ "retry-after": "2" }), now)).toBe(2000)
      expect(retryAfterAt(headers({ "retry-after": "0.5" }), now)).toBe(500)
      expect(retryAfterAt(headers({ "retry-after": "Sun, 01 Mar 2026 12:00:30 GMT" }), now)).toBe(30_000)
      expect(retryAfterAt(headers({ "retry-after": "Sun, 01 Mar 2026 11:00:00 GMT" }), now)).toBe(0)
    })

    it("reads nothing from absent, negative or garbled values", () => {
      for (const value of ["", "  ", "-5", "soon", "12abc"]) {
        expect(retryAfterAt(headers({ "retry-after": value }), now), value).toBeUndefined()
      }
      expect(retryAfterAt(headers({ "retry-after-ms": "-1" }), now)).toBeUndefined()
      expect(retryAfterAt(headers({}), now)).toBeUndefined()
    })

    it.effect("measures a date from Clock's now", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(now)
        const hint = yield* retryAfter(headers({ "retry-after": "Sun, 01 Mar 2026 12:01:00 GMT" }))
        expect(hint).toEqual(Option.some(60_000))
      }))

    it("reads Google's RetryInfo delays", () => {
      expect(durationTextMillis("39s")).toBe(39_000)
      expect(durationTextMillis("1.5s")).toBe(1500)
      expect(durationTextMillis("39")).toBeUndefined()
      expect(durationTextMillis(undefined)).toBeUndefined()
    })
  })

  describe("redaction", () => {
    it("an empty or missing secret redacts nothing", () => {
      expect(redactorFor(undefined)("a b c")).toBe("a b c")
      expect(redactorFor("")("a b c")).toBe("a b c")
      expect(redactorFor(Redacted.make(""))("a b c")).toBe("a b c")
    })

    it("removes every occurrence of the secret, whatever surrounds it (property)", () => {
      // A key that is part of the marker itself ("redacted") cannot be told from it.
      const secret = FastCheck.stringMatching(/^[A-Za-z0-9_-]{8,40}$/).filter((key) =>
        !REDACTED.includes(key)
      )
      FastCheck.assert(
        FastCheck.property(secret, FastCheck.array(FastCheck.string(), { maxLength: 5 }), (key, pieces) => {
          const text = pieces.join(key)
          const redacted = redactorFor(Redacted.make(key))(text)
          expect(redacted).not.toContain(key)
          expect(redacted.split(REDACTED).length).toBeGreaterThanOrEqual(Math.max(1, pieces.length))
        }),
        { numRuns: 200 }
      )
    })
  })
})
