/**
 * A leaf round frees the room `ROUND_SLACK` promises when the model writes its summary: the
 * model's span is sized for a summary as large as the newest one in the context, not for level
 * 3's bound only (a model summary of ~800 tokens left the context barely under the soft
 * threshold, so rounds came about every ten turns instead of every fourteen in the compaction
 * bench).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { ROUND_SLACK } from "../../src/compaction/Rounds.js"
import type { CompactionResult } from "../../src/Domain.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import * as Session from "../../src/Session.js"
import * as Tokenizer from "../../src/Tokenizer.js"
import { makeTest } from "../support/backend.js"

/** usable 4,000 tokens: soft threshold 2,400; level 1 may write 1,000 tokens, level 3 480. */
const SMALL = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const
const SOFT = 2_400

/** A model summary longer than level 3 may write, within level 1's budget, unlike the transcript. */
const modelSummary = Array.from(
  { length: 60 },
  (_, k) => `Decision ${k}: keep option ${k * 7} for stage ${k}.`
)
  .join("\n")

describe("round slack", () => {
  it.scoped("a round with a long model summary still lands ROUND_SLACK under the soft threshold", () =>
    Effect.gen(function*() {
      const summaryTokens = Tokenizer.countTokens(modelSummary)
      expect(summaryTokens).toBeGreaterThan(600)
      expect(summaryTokens).toBeLessThan(1_000)
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(...Array.from({ length: 4 }, () => MockLlm.Reply.text(modelSummary)))
      const session = yield* Session.open({ model: "mock/small", config: SMALL })
      const filler = "The review went on through the afternoon with nothing much to report. ".repeat(5)
      const rounds: Array<CompactionResult> = []
      for (let i = 0; i < 120 && rounds.length < 2; i++) {
        yield* session.record({
          user: `Step ${i}: checked src/mod${i}.ts. ${filler}`,
          assistant: `Noted ${i}.`
        })
        const outcome = yield* session.awaitCompaction
        // Each round once, however often it is awaited.
        if (
          Option.isSome(outcome) && outcome.value.compacted &&
          !rounds.some((r) => r.summaryId === outcome.value.summaryId)
        ) rounds.push(outcome.value)
      }
      // The second round, once the first model summary shows how long this model writes: the
      // model's summary was kept (level 1), and the context is as far under the soft threshold
      // as the slack says, not just under it.
      expect(rounds).toHaveLength(2)
      expect(rounds[1]!.level).toBe(1)
      expect(rounds[1]!.depth).toBe(0)
      expect(rounds[1]!.tokensAfter).toBeLessThanOrEqual(SOFT - Math.floor(SOFT * ROUND_SLACK))
    }).pipe(Effect.provide(makeTest({ config: SMALL }))))
})
