import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { extract } from "../../src/compaction/Extract.js"
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
