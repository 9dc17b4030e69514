import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Cl100k from "gpt-tokenizer/encoding/cl100k_base"
import * as O200k from "gpt-tokenizer/encoding/o200k_base"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as Tokenizer from "../src/Tokenizer.js"

const ORDINARY = { disallowedSpecial: new Set<string>() }

const SAMPLES = {
  prose: "The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times.",
  code:
    "export const add = (a: number, b: number): number => {\n  return a + b // sum\n}\n\tif (x !== y) { throw new Error(\"bad\") }",
  cjk: "東京は日本の首都です。我们今天去公园散步。한국어 문장도 있습니다。",
  emoji: "Deploy done 🚀🎉 — thanks 👩‍💻👍🏽! ✨✨✨",
  whitespace: "a\r\n\r\n    b\t\t c" + " ".repeat(200) + "d"
}

const { tokenizer } = Tokenizer

describe("Tokenizer", () => {
  describe("count", () => {
    it.each(Object.entries(SAMPLES))("%s: equals gpt-tokenizer's own counts", (_, text) => {
      const o200k = O200k.encode(text).length
      const cl100k = Cl100k.encode(text).length
      expect(o200k).toBeGreaterThan(0)
      expect(tokenizer.count(text)).toBe(o200k)
      expect(tokenizer.count(text, "o200k_base")).toBe(o200k)
      expect(tokenizer.count(text, "cl100k_base")).toBe(cl100k)
    })

    it("is 0 for the empty string under every encoding", () => {
      expect(tokenizer.count("")).toBe(0)
      expect(tokenizer.count("", "cl100k_base")).toBe(0)
      expect(tokenizer.count("", "heuristic")).toBe(0)
    })

    it("o200k and cl100k differ where their vocabularies do", () => {
      // o200k merges CJK much more aggressively than cl100k.
      expect(tokenizer.count(SAMPLES.cjk, "o200k_base")).toBeLessThan(
        tokenizer.count(SAMPLES.cjk, "cl100k_base")
      )
      expect(tokenizer.count(SAMPLES.prose, "o200k_base")).toBe(tokenizer.count(SAMPLES.prose, "cl100k_base"))
    })

    it("heuristic is characters ÷ 4 rounded up", () => {
      expect(tokenizer.count("abcd", "heuristic")).toBe(1)
      expect(tokenizer.count("abcde", "heuristic")).toBe(2)
      expect(tokenizer.count("x".repeat(4_001), "heuristic")).toBe(1_001)
    })
  })

  describe("special tokens", () => {
    it.each(["<|endoftext|>", "before <|im_start|>system<|im_end|> after", "<|fim_prefix|><|endofprompt|>"])(
      "%s counts as ordinary text",
      (text) => {
        // The library's default refuses these strings; the service must not.
        expect(() => O200k.countTokens(text)).toThrow(/special token/i)
        const expected = O200k.encode(text, ORDINARY).length
        expect(expected).toBeGreaterThan(1)
        expect(tokenizer.count(text)).toBe(expected)
        expect(tokenizer.count(text, "cl100k_base")).toBe(Cl100k.encode(text, ORDINARY).length)
        expect(tokenizer.isWithinLimit(text, 1_000)).toBe(expected)
      }
    )

    it("is never turned into a single control token", () => {
      expect(tokenizer.count("<|endoftext|>")).toBeGreaterThan(1)
      expect(tokenizer.count("<|endoftext|>", "cl100k_base")).toBeGreaterThan(1)
    })
  })

  describe("lone surrogates", () => {
    it.each(["\uD800abc", "abc\uDC00", "\uD83D", "ok \uDE00\uD83D end"])(
      "%j counts like its well-formed form",
      (text) => {
        const expected = O200k.encode(text.toWellFormed(), ORDINARY).length
        expect(tokenizer.count(text)).toBe(expected)
        expect(tokenizer.count(text, "cl100k_base")).toBe(Cl100k.encode(text.toWellFormed(), ORDINARY).length)
        expect(tokenizer.isWithinLimit(text, 100)).toBe(expected)
      }
    )

    it("isWithinLimit agrees with count wherever a lone half appears", () => {
      const halves = ["\uD800", "\uDBFF", "\uDC00", "\uDFFF"]
      let checked = 0
      for (const base of Object.values(SAMPLES)) {
        for (const half of halves) {
          for (const at of [0, 1, 5, Math.floor(base.length / 2), base.length - 1, base.length]) {
            const text = base.slice(0, at) + half + base.slice(at)
            for (const encoding of ["o200k_base", "cl100k_base"] as const) {
              const counted = tokenizer.count(text, encoding)
              expect(tokenizer.isWithinLimit(text, 10_000, encoding), JSON.stringify({ text, encoding }))
                .toBe(counted)
              expect(tokenizer.isWithinLimit(text, counted - 1, encoding)).toBe(false)
              checked++
            }
          }
        }
      }
      expect(checked).toBe(Object.keys(SAMPLES).length * 4 * 6 * 2)
    })

    it("replaces only the lone half and keeps valid pairs", () => {
      expect("😀\uD800".toWellFormed()).toBe("😀\uFFFD")
      expect(tokenizer.count("😀\uD800")).toBe(O200k.encode("😀\uFFFD").length)
      expect(tokenizer.count("😀")).toBe(O200k.encode("😀").length)
    })
  })

  describe("isWithinLimit", () => {
    const text = SAMPLES.prose.repeat(20)
    const total = O200k.encode(text).length

    it("returns the count at or below the limit", () => {
      expect(tokenizer.isWithinLimit(text, total)).toBe(total)
      expect(tokenizer.isWithinLimit(text, total + 1)).toBe(total)
      expect(tokenizer.isWithinLimit(text, total, "cl100k_base")).toBe(Cl100k.encode(text).length)
    })

    it("returns false above the limit", () => {
      expect(tokenizer.isWithinLimit(text, total - 1)).toBe(false)
      expect(tokenizer.isWithinLimit(text, 0)).toBe(false)
      expect(tokenizer.isWithinLimit("abcdefgh", 1, "heuristic")).toBe(false)
      expect(tokenizer.isWithinLimit("abcdefgh", 2, "heuristic")).toBe(2)
    })

    it("treats the empty string as 0 tokens", () => {
      expect(tokenizer.isWithinLimit("", 0)).toBe(0)
      expect(tokenizer.isWithinLimit("", -1)).toBe(false)
    })
  })

  describe("models", () => {
    it("counts with the model's encoding", () => {
      const legacy = ModelRegistry.resolve("openai/gpt-4")
      const claude = ModelRegistry.resolve("anthropic/claude-sonnet-4-5")
      expect(tokenizer.encodingFor(legacy)).toBe("cl100k_base")
      expect(tokenizer.encodingFor(claude)).toBe("o200k_base")
      expect(tokenizer.countFor(SAMPLES.cjk, legacy)).toBe(Cl100k.encode(SAMPLES.cjk).length)
      expect(tokenizer.countFor(SAMPLES.cjk, claude)).toBe(O200k.encode(SAMPLES.cjk).length)
    })
  })

  describe("service", () => {
    it.effect("the default layer provides the gpt-tokenizer counter", () =>
      Effect.gen(function*() {
        const service = yield* Tokenizer.Tokenizer
        expect(service.count(SAMPLES.code)).toBe(O200k.encode(SAMPLES.code).length)
        const made = yield* Tokenizer.make
        expect(made.count(SAMPLES.emoji)).toBe(O200k.encode(SAMPLES.emoji).length)
      }).pipe(Effect.provide(Tokenizer.layer)))

    it.effect("the heuristic layer counts characters ÷ 4 for every encoding", () =>
      Effect.gen(function*() {
        const service = yield* Tokenizer.Tokenizer
        expect(service.count("x".repeat(10))).toBe(3)
        expect(service.count("x".repeat(10), "cl100k_base")).toBe(3)
        expect(service.countFor("x".repeat(10), ModelRegistry.resolve("gpt-4o"))).toBe(3)
        expect(service.isWithinLimit("x".repeat(10), 2)).toBe(false)
        expect(service.encodingFor(ModelRegistry.resolve("gpt-4o"))).toBe("heuristic")
      }).pipe(Effect.provide(Tokenizer.layerHeuristic)))
  })
})
