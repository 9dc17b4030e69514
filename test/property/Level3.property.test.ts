/**
 * Level 3 over random spans: whatever the transcript (messages or summaries, speakers, session
 * dates, overlong lines, code, non-Latin text, bullets of earlier summaries), its summary stays
 * within 512 tokens (the file-id footer comes on top, from the node's file ids), never is empty,
 * and the same span always gives the same summary.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { level3, LEVEL3_MAX_TOKENS } from "../../src/compaction/Levels.js"
import { countTokens } from "../../src/Tokenizer.js"

const WORDS = [
  "the",
  "Caroline",
  "went",
  "to",
  "Malmö",
  "on",
  "8 May, 2023",
  "at",
  "3:30 pm",
  "twice a week",
  "€1,250",
  "src/billing/invoice.ts",
  "https://example.com/a?b=c",
  "PAY-4821",
  "TypeError:",
  "never",
  "must",
  "please",
  "awesome!",
  "haha",
  "Wow,",
  "数据库",
  "🙂",
  "—",
  "-",
  ";",
  "but",
  "so",
  "because",
  "file_" + "a".repeat(64),
  "`computeTotal()`",
  "{ x: 1 };",
  "Dr.",
  "e.g.",
  "?",
  ".",
  "!",
  "\t",
  "…"
]

const sentence = FastCheck.array(FastCheck.constantFrom(...WORDS), { minLength: 1, maxLength: 60 }).map((w) =>
  w.join(" ")
)

const line = FastCheck.oneof(
  { weight: 6, arbitrary: sentence },
  {
    weight: 2,
    arbitrary: FastCheck.tuple(
      FastCheck.constantFrom("Caroline", "Mel", "user", "assistant", "Error"),
      sentence
    ).map(([who, s]) => `${who}: ${s}`)
  },
  {
    weight: 1,
    arbitrary: FastCheck.integer({ min: 1, max: 40 }).map((n) =>
      `Session ${n}, 1:56 pm on ${n % 28 + 1} May, 2023`
    )
  },
  {
    weight: 1,
    arbitrary: FastCheck.constantFrom("", "- ", "## Goal", "(nothing specific; expand for the originals)")
  },
  {
    weight: 1,
    arbitrary: FastCheck.array(sentence, { minLength: 5, maxLength: 40 }).map((s) => s.join(" "))
  },
  { weight: 1, arbitrary: FastCheck.string({ maxLength: 300 }) }
)

const block = FastCheck.tuple(
  FastCheck.constantFrom("user", "assistant", "tool", "summary"),
  FastCheck.integer({ min: 1, max: 500 }),
  FastCheck.array(line, { minLength: 0, maxLength: 12 })
).map(([role, n, lines]) =>
  [
    role === "summary"
      ? `[summary sum_${n} depth ${n % 4}, ${n} messages msg_a..msg_b]`
      : `[${role} msg_${n} #${n}]`,
    ...lines
  ]
    .join("\n")
)

const span = FastCheck.array(block, { minLength: 1, maxLength: 120 }).map((blocks) => blocks.join("\n\n"))

describe("level 3 (property)", () => {
  it("stays within 512 tokens, is never empty and is deterministic, over random spans", async () => {
    await FastCheck.assert(
      FastCheck.asyncProperty(
        span,
        FastCheck.integer({ min: 128, max: 2_000 }),
        async (transcript, budget) => {
          const summary = level3(transcript, countTokens, budget)
          expect(countTokens(summary)).toBeLessThanOrEqual(Math.min(budget, LEVEL3_MAX_TOKENS))
          expect(summary.trim()).not.toBe("")
          expect(level3(transcript, countTokens, budget)).toBe(summary)
          // Let the worker breathe between runs (they are synchronous and add up to seconds).
          await new Promise((resolve) => setImmediate(resolve))
        }
      ),
      { numRuns: 150 }
    )
  })
})
