/**
 * Budget dynamics of summary rounds (issue 13): a span level 3 cannot shrink is never sent to
 * the model levels, and a round leaves as much raw tail as fits under the soft threshold.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as MockLlm from "../../src/llm/MockLlm.js"
import * as Session from "../../src/Session.js"
import { makeTest } from "../support/backend.js"

/** usable 4,000 tokens: soft threshold 2,400. */
const SMALL = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const
const SOFT = 2_400

const summarizeRequests = Effect.map(
  Effect.flatMap(MockLlm.MockLlmControl, (control) => control.requests),
  (requests) => requests.filter((request) => MockLlm.isSummaryRequest(request)).length
)

describe("rounds", () => {
  it.scoped("no model call for a span level 3 cannot beat", () =>
    Effect.gen(function*() {
      const session = yield* Session.open({ model: "mock/small", config: SMALL })
      // Outside the fresh tail (the newest two user turns) lies one short exchange: its summary,
      // wrapper and all, could never be smaller than it.
      for (const n of [1, 2, 3]) yield* session.record({ user: `hi ${n}`, assistant: "ok" })
      const result = yield* session.compact()
      expect(result.compacted).toBe(false)
      expect(yield* summarizeRequests).toBe(0)
    }).pipe(Effect.provide(makeTest({ config: SMALL }))))

  it.scoped("a round keeps as much raw tail as fits under the soft threshold", () =>
    Effect.gen(function*() {
      const session = yield* Session.open({ model: "mock/small", config: SMALL })
      const filler = "The review went on through the afternoon with nothing much to report. ".repeat(5)
      let after: number | undefined
      for (let i = 0; i < 80 && after === undefined; i++) {
        yield* session.record({
          user: `Step ${i}: checked src/mod${i}.ts. ${filler}`,
          assistant: `Noted ${i}.`
        })
        const round = yield* session.awaitCompaction
        if (Option.isSome(round) && round.value.compacted) after = round.value.tokensAfter
      }
      expect(after).toBeDefined()
      // Only what had to go was summarised: the context stays near the threshold, not at a
      // summary plus the fresh tail.
      expect(after!).toBeLessThan(SOFT)
      expect(after!).toBeGreaterThan(SOFT * 0.7)
      expect(yield* summarizeRequests).toBeGreaterThan(0)
    }).pipe(Effect.provide(makeTest({ config: SMALL }))))
})
