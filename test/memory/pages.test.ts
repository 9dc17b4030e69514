/**
 * Memory-tool pages keep their caps and their characters: every grep and expand page, as the
 * model reads it (framing and cursor included), is within its token cap, and no page cuts a
 * surrogate pair in half, over random text full of emoji and CJK outside the BMP.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, Runtime } from "effect"
import { makeTest } from "../../src/Layers.js"
import { EXPAND_MAX_TOKENS, GREP_MAX_TOKENS } from "../../src/MemoryTools.js"
import * as Session from "../../src/Session.js"
import { countTokens } from "../../src/Tokenizer.js"

/** A lone surrogate: half of a character, which the model would read as U+FFFD. */
const hasLoneSurrogate = (text: string) => /\p{Cs}/u.test(text)

/** Astral characters (two code units each), BMP CJK, ASCII, whitespace, a findable word. */
const PIECES = [
  "🙂",
  "👩‍💻",
  "🦄🦄🦄",
  "𠀀",
  "𠮷野家",
  "𝒜𝒷𝒸",
  "数据库",
  "漢字かな",
  "needle",
  "plain words ",
  " ",
  "\n",
  "a"
] as const

const text = (maxPieces: number) =>
  FastCheck.oneof(
    FastCheck.array(FastCheck.constantFrom(...PIECES), { minLength: 1, maxLength: maxPieces, size: "max" })
      .map((p) => p.join("")),
    FastCheck.string({ unit: "grapheme", minLength: 1, maxLength: maxPieces, size: "max" })
  ).filter((t) => t.trim() !== "") // (a blank message is refused)

/** Every page of a paginated call, following cursors to the end. */
const allPages = <A extends { readonly nextCursor?: string | undefined }, E>(
  page: (cursor: string | undefined) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const pages: Array<A> = []
    let cursor: string | undefined
    do {
      const next: A = yield* page(cursor)
      pages.push(next)
      cursor = next.nextCursor
      expect(pages.length, "pagination ends").toBeLessThanOrEqual(500)
    } while (cursor !== undefined)
    return pages
  })

describe("memory-tool pages", () => {
  it.effect(
    "no grep or expand page over its cap, none with a lone surrogate, expand lossless (property)",
    () =>
      Effect.gen(function*() {
        const runtime = yield* Effect.runtime<Session.MnesisServices>()
        const check = (texts: ReadonlyArray<string>, maxTokens: number, limit: number) =>
          Effect.gen(function*() {
            const session = yield* Session.create({
              model: "mock/memory",
              config: { compaction: { auto: false } }
            })
            const ids: Array<string> = []
            for (const user of texts) {
              const recorded = yield* session.record({ user, assistant: "noted 🙂" })
              ids.push(recorded.userMessageId!)
            }
            for (
              const query of [
                { pattern: "needle" },
                { pattern: "needle|𠀀|[🦄🙂]", mode: "regex" as const },
                { pattern: "\\S", mode: "regex" as const }
              ]
            ) {
              const pages = yield* allPages((cursor) =>
                session.grep({ ...query, limit, ...(cursor === undefined ? {} : { cursor }) })
              )
              for (const page of pages) {
                expect(countTokens(page.text)).toBeLessThanOrEqual(GREP_MAX_TOKENS)
                expect(hasLoneSurrogate(page.text), page.text).toBe(false)
              }
            }
            for (const [index, id] of ids.entries()) {
              const pages = yield* allPages((cursor) =>
                session.expand({ id, maxTokens, ...(cursor === undefined ? {} : { cursor }) })
              )
              for (const page of pages) {
                expect(countTokens(page.text)).toBeLessThanOrEqual(maxTokens)
                expect(hasLoneSurrogate(page.text), page.text).toBe(false)
              }
              const whole = pages.flatMap((page) => page.items.map((item) => item.text)).join("")
              expect(whole).toContain(texts[index])
            }
          })
        yield* Effect.promise(() =>
          FastCheck.assert(
            FastCheck.asyncProperty(
              FastCheck.array(text(1_000), { minLength: 1, maxLength: 4 }),
              FastCheck.integer({ min: 200, max: 1_500 }),
              FastCheck.integer({ min: 1, max: 100 }),
              (texts, maxTokens, limit) => Runtime.runPromise(runtime)(check(texts, maxTokens, limit))
            ),
            { numRuns: 40, seed: 11 }
          )
        )
      }).pipe(Effect.provide(makeTest())),
    { timeout: 120_000 }
  )

  it.effect("a grep page with the longest pattern stays within its cap, cursor included", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/memory", config: { compaction: { auto: false } } })
      for (let i = 0; i < 60; i++) {
        yield* session.record({
          user: `topic ${i}: ${"a few words about the topic ".repeat(8)}`,
          assistant: "ok"
        })
      }
      // near 500 characters, the most grep accepts: fulltext words and a regex alternation
      const words = "about topic ".repeat(41) + "words"
      const alternation = `topic|${"zzzzzzzzz|".repeat(50)}`.slice(0, 500)
      for (const query of [{ pattern: words }, { pattern: alternation, mode: "regex" as const }]) {
        const pages = yield* allPages((cursor) =>
          session.grep({ ...query, limit: 100, ...(cursor === undefined ? {} : { cursor }) })
        )
        expect(pages.length).toBeGreaterThan(1)
        for (const page of pages) expect(countTokens(page.text)).toBeLessThanOrEqual(GREP_MAX_TOKENS)
        expect(pages.reduce((sum, page) => sum + page.hits.length, 0)).toBe(60)
      }
    }).pipe(Effect.provide(makeTest())))

  it.effect(
    "expand of one long astral text pages through it whole, within the largest cap too",
    () =>
      Effect.gen(function*() {
        const session = yield* Session.create({ model: "mock/memory" })
        const long = "𠀀🙂数".repeat(600)
        const { userMessageId } = yield* session.record({ user: long, assistant: "ok" })
        for (const maxTokens of [200, 777, EXPAND_MAX_TOKENS]) {
          const pages = yield* allPages((cursor) =>
            session.expand({ id: userMessageId!, maxTokens, ...(cursor === undefined ? {} : { cursor }) })
          )
          for (const page of pages) {
            expect(countTokens(page.text)).toBeLessThanOrEqual(maxTokens)
            expect(hasLoneSurrogate(page.text)).toBe(false)
          }
          expect(pages.flatMap((page) => page.items.map((item) => item.text)).join("")).toContain(long)
        }
      }).pipe(Effect.provide(makeTest())),
    { timeout: 60_000 }
  )
})
