import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { extract, segments } from "../../src/compaction/Extract.js"
import { countTokens } from "../../src/Tokenizer.js"

const filler = (i: number) =>
  `Paragraph ${i} continues the conversation about general matters, weather, lunch and other things of no lasting importance.`

describe("extract", () => {
  it("never exceeds its token budget, whatever the input (property)", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.string({ maxLength: 4000 }),
        FastCheck.integer({ min: 1, max: 600 }),
        (text, maxTokens) => {
          const out = extract(text, { maxTokens, countTokens })
          return countTokens(out) <= Math.max(maxTokens, 0) || out.length === 0
        }
      ),
      { numRuns: 300 }
    )
  })

  it("keeps instructions, paths, errors and identifiers over filler, in transcript order", () => {
    const lines: Array<string> = []
    for (let i = 0; i < 200; i++) lines.push(`[assistant]\n${filler(i)}`)
    lines[20] = "[user]\nAlways use pnpm, never npm, in this repository."
    lines[90] =
      "[assistant]\nThe build failed with TypeError: cannot read properties of undefined (reading 'id')."
    lines[150] =
      "[assistant]\nThe config lives in packages/core/config/settings.yaml and the API at https://api.example.com/v2."
    const out = extract(lines.join("\n"), { maxTokens: 200, countTokens })
    expect(countTokens(out)).toBeLessThanOrEqual(200)
    const pnpm = out.indexOf("Always use pnpm")
    const error = out.indexOf("TypeError")
    const path = out.indexOf("packages/core/config/settings.yaml")
    expect([pnpm, error, path].every((i) => i > 0)).toBe(true)
    expect(pnpm < error && error < path).toBe(true)
  })

  it("is deterministic", () => {
    const text = Array.from({ length: 50 }, (_, i) => filler(i)).join("\n")
    expect(extract(text, { maxTokens: 100, countTokens })).toBe(
      extract(text, { maxTokens: 100, countTokens })
    )
  })

  it("cuts an overlong line around its most telling part", () => {
    const long = `${"blah ".repeat(200)}then it failed: ENOENT: no such file src/missing/thing.ts ${
      "blah ".repeat(200)
    }`
    const out = extract(long, { maxTokens: 120, countTokens })
    expect(out).toContain("ENOENT")
  })
})

describe("level 3 keeps the facts (issue 13)", () => {
  it("a user's line keeps its weight inside a summary: the role tag survives condensation", () => {
    const asUser = segments("[user msg_1 #1]\nYou must never push to main.")
    const inSummary = segments("[summary sum_1 depth 0, 3 messages]\nuser: You must never push to main.")
    const asSummary = segments("[summary sum_1 depth 0, 3 messages]\nYou must never push to main.")
    expect(inSummary[0]!.score).toBe(asUser[0]!.score)
    expect(inSummary[0]!.score).toBeGreaterThan(asSummary[0]!.score)
    // Written back with its tag, so the next depth reads it as the user's too.
    const condensed = extract(
      [
        "[summary sum_1 depth 0, 4 messages]",
        "user: You must never push to main.",
        "Paragraph one continues the conversation about general matters.",
        "[summary sum_2 depth 0, 4 messages]",
        "user: Deploys go through the pipeline at https://ci.example.com/billing only."
      ].join("\n"),
      { maxTokens: 200, countTokens }
    )
    expect(condensed).toContain("user: You must never push to main.")
    expect(condensed).toContain(
      "user: Deploys go through the pipeline at https://ci.example.com/billing only."
    )
  })

  it("specifics beat trigger-word platitudes", () => {
    const transcript = [
      "[user msg_1 #1]",
      "Family's super important to me.",
      "[assistant msg_2 #2]",
      "You should always remember what matters, it's so important.",
      "[user msg_3 #3]",
      "I go swimming three times a week at the Marlowe lido."
    ].join("\n")
    const ranked = segments(transcript).sort((a, b) => b.score - a.score)
    expect(ranked[0]!.text).toContain("three times a week")
    const out = extract(transcript, { maxTokens: 20, countTokens })
    expect(out).toContain("three times a week")
    expect(out).not.toContain("Family")
  })

  it("small talk alone gives nothing rather than padding", () => {
    const transcript = Array.from(
      { length: 30 },
      (_, i) =>
        `[${
          i % 2 === 0 ? "user" : "assistant"
        } msg_${i} #${i}]\nHey! Thanks so much, that's awesome. Haha, yeah!`
    ).join("\n")
    expect(extract(transcript, { maxTokens: 512, countTokens })).toBe("")
  })

  it("a sentence cut from a long message keeps its speaker and the date of its session", () => {
    const transcript = [
      "[user msg_1 #1]",
      "Session 4, 1:56 pm on 8 May, 2023",
      "Caroline: Hey Mel! It's been such a busy week, honestly. Anyway I finally went to the Lindqvist " +
      "gallery and bought a tiny ceramic owl for my grandma in Malmö. It was a really nice day overall and " +
      "I loved every minute of it, you know how it is.",
      "[assistant msg_2 #2]",
      "Melanie: That's so lovely, Caroline!"
    ].join("\n")
    const out = extract(transcript, { maxTokens: 60, countTokens })
    const lines = out.split("\n")
    expect(lines[0]).toBe("8 May, 2023")
    expect(lines[1]).toMatch(/^Caroline: .*ceramic owl for my grandma in Malmö/)
    expect(out).not.toContain("Hey Mel")
  })

  it("in a condensation each summary gets a share by the messages it covers: old facts survive depth", () => {
    const facts = (tag: string, n: number) =>
      Array.from(
        { length: n },
        (_, i) => `user: The ${tag} locker ${i} code is ${tag.toUpperCase()}-${1000 + i}.`
      )
    const transcript = [
      "[summary sum_old depth 2, 300 messages msg_a..msg_b]",
      ...facts("old", 40),
      ...[1, 2, 3].flatMap((
        k
      ) => [`[summary sum_new${k} depth 0, 20 messages msg_c..msg_d]`, ...facts(`new${k}`, 40)])
    ].join("\n")
    const out = extract(transcript, { maxTokens: 512, countTokens })
    expect(countTokens(out)).toBeLessThanOrEqual(512)
    const old = out.split("\n").filter((line) => line.includes("OLD-")).length
    const recent = out.split("\n").filter((line) => /NEW\d-/.test(line)).length
    // 300 of 360 messages: the old summary keeps most of the room instead of a quarter of it.
    expect(old).toBeGreaterThan(recent * 2)
    expect(recent).toBeGreaterThan(0)
  })
})
