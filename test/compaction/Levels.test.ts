import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { isNearCopy, level3, LEVEL3_MAX_TOKENS, rejection, summarize } from "../../src/compaction/Levels.js"
import type { LevelContext } from "../../src/compaction/Levels.js"
import { defaultConfig } from "../../src/Config.js"
import { LlmOverloaded } from "../../src/Errors.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import { LlmProvider } from "../../src/LlmProvider.js"
import * as ModelRegistry from "../../src/ModelRegistry.js"
import { countTokens } from "../../src/Tokenizer.js"

const filler = [
  "The conversation moved along at an easy pace while everyone shared a few general thoughts about the approach.",
  "Nothing in this part of the exchange changes anything about the work that lies ahead for the team.",
  "People talked about the weather, about lunch, and about how pleasant the afternoon had turned out to be.",
  "A long and friendly digression followed about books that someone had enjoyed reading over the holidays."
]

/** Twenty facts a continuing agent must not lose: instructions, paths, URLs, ids, errors. */
const FACTS = [
  "Always run the linter before you commit anything to the repository.",
  "Never touch the files under legacy/payments without asking first.",
  "The service reads its settings from config/production/settings.yaml at startup.",
  "The staging API lives at https://staging.example.com/api/v3 and needs a token.",
  "Ticket PAY-4821 tracks the refund rounding bug.",
  "The failing test printed TypeError: cannot read properties of undefined (reading 'amount').",
  "Use pnpm, not npm, for every install in this workspace.",
  "The migration script is scripts/db/migrate-2024-07.sql and must run before deploy.",
  "Commit 9f3c2ab introduced the regression in the invoice totals.",
  "The cache TTL must stay at 300 seconds because the billing provider requires it.",
  "Deploys go through the pipeline at https://ci.example.com/pipelines/billing only.",
  "The function computeInvoiceTotal in src/billing/invoice.ts owns the rounding logic.",
  "Remember that the customer id column is customer_uuid, not customer_id.",
  "The nightly job crashed with ENOENT: no such file or directory, open '/var/data/export.csv'.",
  "Please keep the public API of packages/sdk/index.ts backwards compatible.",
  "The feature flag billing_v2_enabled must remain off in production.",
  "Ticket OPS-1177 covers the alerting gap on weekends.",
  "Logs for the worker are in /var/log/billing/worker.log on the batch host.",
  "We decided to store amounts as integer cents in the ledger table.",
  "Make sure the retry limit stays at 5 for the payment webhook consumer."
]

const KEY = [
  "linter",
  "legacy/payments",
  "config/production/settings.yaml",
  "https://staging.example.com/api/v3",
  "PAY-4821",
  "TypeError",
  "pnpm",
  "scripts/db/migrate-2024-07.sql",
  "9f3c2ab",
  "300 seconds",
  "https://ci.example.com/pipelines/billing",
  "src/billing/invoice.ts",
  "customer_uuid",
  "ENOENT",
  "packages/sdk/index.ts",
  "billing_v2_enabled",
  "OPS-1177",
  "/var/log/billing/worker.log",
  "integer cents",
  "retry limit stays at 5"
]

/** About 20K tokens of transcript with the facts spread evenly through it. */
const plantedTranscript = (): string => {
  const lines: Array<string> = []
  let fact = 0
  for (let i = 0; countTokens(lines.join("\n")) < 20_000; i++) {
    const role = i % 2 === 0 ? "user" : "assistant"
    lines.push(`[${role} msg_${String(i).padStart(4, "0")}]`)
    for (let j = 0; j < 6; j++) lines.push(filler[(i + j) % filler.length]!)
    if (i % 12 === 5 && fact < FACTS.length) lines.push(FACTS[fact++]!)
  }
  while (fact < FACTS.length) lines.push("[user msg_tail]", FACTS[fact++]!)
  return lines.join("\n")
}

const context = (overrides: Partial<LevelContext> = {}) =>
  Effect.map(LlmProvider, (provider): LevelContext => ({
    provider,
    model: "mock/summariser",
    info: ModelRegistry.resolve("mock/summariser"),
    config: defaultConfig.compaction,
    count: countTokens,
    input: "messages",
    ...overrides
  }))

describe("level 3 (deterministic, extractive)", () => {
  it("stays within 512 tokens and keeps at least 90% of 20 facts planted in a 20K-token span", () => {
    const transcript = plantedTranscript()
    expect(countTokens(transcript)).toBeGreaterThanOrEqual(20_000)
    const summary = level3(transcript, countTokens)
    expect(countTokens(summary)).toBeLessThanOrEqual(LEVEL3_MAX_TOKENS)
    const kept = KEY.filter((key) => summary.includes(key))
    expect(kept.length / KEY.length).toBeGreaterThanOrEqual(0.9)
  })
})

describe("acceptance", () => {
  it("refuses empty, not-smaller and near-copy outputs", () => {
    const input = plantedTranscript().slice(0, 6_000)
    const size = countTokens(input)
    expect(rejection("   ", input, size, countTokens)).toContain("empty")
    expect(rejection(input + " more", input, size, countTokens)).toContain("not smaller")
    const copy = input.slice(0, Math.floor(input.length * 0.7))
    expect(isNearCopy(copy, input, countTokens(copy), size)).toBe(true)
    expect(rejection(copy, input, size, countTokens)).toContain("near-copy")
    expect(rejection("## Goal\nFix the refund rounding bug (PAY-4821).", input, size, countTokens))
      .toBeUndefined()
  })
})

describe("escalation", () => {
  const transcript = plantedTranscript().slice(0, 8_000)

  it.effect("level 1 by default (the mock writes a real compression)", () =>
    Effect.gen(function*() {
      const outcome = yield* summarize(yield* context(), transcript, countTokens(transcript))
      expect(outcome.level).toBe(1)
      expect(countTokens(outcome.text)).toBeLessThan(countTokens(transcript))
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("a level-1 error falls to level 2", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(
        MockLlm.Reply.fail(new LlmOverloaded({ provider: "mock", detail: "busy" }))
      )
      expect((yield* summarize(yield* context(), transcript, countTokens(transcript))).level).toBe(2)
      const [first, second] = yield* control.requests
      expect(second!.maxTokens).toBe(Math.floor(first!.maxTokens / 2))
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("levels 1 and 2 returning longer text fall to level 3", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(
        MockLlm.Reply.text(transcript + transcript),
        MockLlm.Reply.text(transcript)
      )
      const outcome = yield* summarize(yield* context(), transcript, countTokens(transcript))
      expect(outcome.level).toBe(3)
      expect(countTokens(outcome.text)).toBeLessThanOrEqual(LEVEL3_MAX_TOKENS)
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("a level-1 call that outlives roundTimeout falls to level 2 at the deadline", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(MockLlm.Reply.text("too late", { latency: "10 minutes" }))
      const fiber = yield* Effect.fork(summarize(yield* context(), transcript, countTokens(transcript)))
      yield* TestClock.adjust("119 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(fiber)).level).toBe(2)
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("with level 2 disabled a level-1 failure goes straight to level 3", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueueSummaries(MockLlm.Reply.text(""))
      const outcome = yield* summarize(
        yield* context({ config: { ...defaultConfig.compaction, level2Enabled: false } }),
        transcript,
        countTokens(transcript)
      )
      expect(outcome.level).toBe(3)
      expect((yield* control.requests).length).toBe(1)
    }).pipe(Effect.provide(MockLlm.layer())))

  it.effect("compactionPrompt replaces the built-in instructions", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* summarize(
        yield* context({
          config: { ...defaultConfig.compaction, compactionPrompt: "Summarise like a pirate." }
        }),
        transcript,
        countTokens(transcript)
      )
      const [request] = yield* control.requests
      expect(request!.system[0]!.text).toBe("Summarise like a pirate.")
      expect(MockLlm.summaryRequestOf(request!)).toMatchObject({ value: { level: 1, transcript } })
    }).pipe(Effect.provide(MockLlm.layer())))
})
