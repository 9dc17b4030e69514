import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, FastCheck, Fiber, Schema, TestClock } from "effect"
import { RetryConfig } from "../../src/Config.js"
import type { LlmError } from "../../src/Errors.js"
import { LlmAuthenticationError, LlmOverloaded, LlmRateLimited, LlmServerError } from "../../src/Errors.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import * as Retry from "../../src/llm/Retry.js"
import type { LlmRequest } from "../../src/LlmProvider.js"
import { collect } from "../../src/LlmProvider.js"

const request: LlmRequest = {
  model: "mock/test",
  system: [],
  messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
  maxTokens: 1_000
}

const configOf = (maxRetries: number) =>
  Schema.decodeSync(RetryConfig)({ maxRetries, baseDelay: 10, maxDelay: 1_000, jitter: false })

const overloaded = () => MockLlm.Reply.fail(new LlmOverloaded({ provider: "mock", detail: "busy" }))

/**
 * Runs one call through `Retry.retry` (or `retryStream`) against a scripted mock, advancing the
 * test clock past every backoff; returns the outcome, the requests the mock received and the
 * retries announced.
 */
const run = (
  script: ReadonlyArray<MockLlm.MockStep>,
  maxRetries: number,
  via: "effect" | "stream" = "effect"
) =>
  Effect.gen(function*() {
    const mock = yield* MockLlm.make({ script })
    const announced: Array<Retry.RetryInfo> = []
    const options: Retry.RetryOptions = {
      config: configOf(maxRetries),
      onRetry: (info) => Effect.sync(() => announced.push(info))
    }
    const call = via === "effect"
      ? Retry.retry(collect("mock", mock.provider.stream(request)), options)
      : collect("mock", Retry.retryStream(mock.provider.stream(request), options))
    const fiber = yield* Effect.fork(Effect.either(call))
    yield* TestClock.adjust("1 hour")
    const outcome = yield* Fiber.join(fiber)
    const requests = (yield* mock.control.requests).length
    return { outcome, requests, announced }
  })

describe("Retry events", () => {
  it.effect.each(["effect", "stream"] as const)(
    "(%s) retryable failures that exhaust maxRetries announce only the retries made",
    (via) =>
      Effect.gen(function*() {
        const { announced, outcome, requests } = yield* run(
          [overloaded(), overloaded(), overloaded()],
          2,
          via
        )
        expect(Either.isLeft(outcome) && outcome.left._tag).toBe("LlmOverloaded")
        expect(requests).toBe(3)
        expect(announced.map((info) => info.attempt)).toEqual([1, 2])
        expect(announced.length).toBe(requests - 1)
      })
  )

  it.effect.each(["effect", "stream"] as const)(
    "(%s) success after one retry announces one retry",
    (via) =>
      Effect.gen(function*() {
        const { announced, outcome, requests } = yield* run(
          [
            MockLlm.Reply.fail(new LlmRateLimited({ provider: "mock", detail: "slow down" })),
            MockLlm.Reply.text("ok")
          ],
          3,
          via
        )
        expect(Either.isRight(outcome) && outcome.right.text).toBe("ok")
        expect(requests).toBe(2)
        expect(announced.map((info) => [info.attempt, info.error._tag])).toEqual([[1, "LlmRateLimited"]])
      })
  )

  it.effect.each(["effect", "stream"] as const)(
    "(%s) a non-retryable error announces no retry",
    (via) =>
      Effect.gen(function*() {
        const { announced, outcome, requests } = yield* run(
          [MockLlm.Reply.fail(new LlmAuthenticationError({ provider: "mock", detail: "bad key" }))],
          2,
          via
        )
        expect(Either.isLeft(outcome) && outcome.left._tag).toBe("LlmAuthenticationError")
        expect(requests).toBe(1)
        expect(announced).toEqual([])
      })
  )

  it.effect("a non-retryable error after a retry ends with the one retry announced", () =>
    Effect.gen(function*() {
      const { announced, outcome, requests } = yield* run(
        [
          overloaded(),
          MockLlm.Reply.fail(new LlmAuthenticationError({ provider: "mock", detail: "bad key" }))
        ],
        5
      )
      expect(Either.isLeft(outcome) && outcome.left._tag).toBe("LlmAuthenticationError")
      expect(requests).toBe(2)
      expect(announced.map((info) => info.attempt)).toEqual([1])
    }))

  it.effect("each retry waits its announced backoff before the next request", () =>
    Effect.gen(function*() {
      const mock = yield* MockLlm.make({ script: [overloaded(), overloaded(), MockLlm.Reply.text("ok")] })
      const announced: Array<number> = []
      const fiber = yield* Retry.retry(collect("mock", mock.provider.stream(request)), {
        config: configOf(3),
        onRetry: (info) => Effect.sync(() => announced.push(Duration.toMillis(info.delay)))
      }).pipe(Effect.fork)
      const requests = () => Effect.map(mock.control.requests, (all) => all.length)
      yield* TestClock.adjust("9 millis")
      expect([yield* requests(), announced]).toEqual([1, [10]])
      yield* TestClock.adjust("1 millis")
      expect([yield* requests(), announced]).toEqual([2, [10, 20]])
      yield* TestClock.adjust("19 millis")
      expect(yield* requests()).toBe(2)
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).text).toBe("ok")
      expect(yield* requests()).toBe(3)
    }))

  it.effect("property: events equal requests − 1, numbered 1…n, for any failures and maxRetries", () =>
    Effect.gen(function*() {
      const failure = FastCheck.constantFrom<() => LlmError>(
        () => new LlmOverloaded({ provider: "mock", detail: "busy" }),
        () => new LlmServerError({ provider: "mock", detail: "boom", status: 500 }),
        () => new LlmAuthenticationError({ provider: "mock", detail: "bad key" })
      )
      const cases = FastCheck.sample(
        FastCheck.tuple(FastCheck.array(failure, { maxLength: 6 }), FastCheck.integer({ min: 0, max: 4 })),
        { numRuns: 40, seed: 11 }
      )
      for (const [failures, maxRetries] of cases) {
        const script = [...failures.map((make) => MockLlm.Reply.fail(make())), MockLlm.Reply.text("ok")]
        const { announced, requests } = yield* run(script, maxRetries)
        expect(announced.length).toBe(requests - 1)
        expect(announced.map((info) => info.attempt)).toEqual(announced.map((_, i) => i + 1))
        expect(announced.length).toBeLessThanOrEqual(maxRetries)
      }
    }))
})
