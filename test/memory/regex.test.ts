/**
 * Regex grep runs on RE2: the classic catastrophic-backtracking patterns, each over texts 100×
 * longer than the ones that froze JavaScript's RegExp for minutes, answer with a complete scan
 * and the right hits; JavaScript-only syntax is translated, what RE2 lacks is refused clearly.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { makeTest } from "../../src/Layers.js"
import * as Regex from "../../src/memory/regex.js"
import * as Session from "../../src/Session.js"

/** The texts of the issue (34 `a`s and a `!`, 30 spaces), 100× longer, and a few short hits. */
const LONG = {
  as: "a".repeat(3_400) + "!",
  spaces: " ".repeat(3_000) + ".", // (a message of spaces alone is refused as empty)
  xs: "x".repeat(3_400),
  words: "word ".repeat(700) + "!"
} as const
const SHORT = { aaab: "aaab", xxy: "xxy", todo: "the TODO list", as: "aaaa" } as const

describe("regex grep on RE2", () => {
  it.effect("catastrophic backtracking patterns scan texts 100× longer completely, with the right hits", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/memory", config: { compaction: { auto: false } } })
      const ids = new Map<string, string>()
      const texts: Array<readonly [string, string]> = [
        ...Object.entries(LONG),
        ...Object.entries(SHORT).map(([name, text]) => [`short ${name}`, text] as const)
      ]
      for (const [name, text] of texts) {
        const { userMessageId, assistantMessageId } = yield* session.record({ user: text, assistant: "ok" })
        ids.set(name, userMessageId!)
        ids.set(`reply to ${name}`, assistantMessageId!)
      }
      const all = [...ids.values()].sort()
      const only = (...names: Array<string>) => names.map((name) => ids.get(name)!).sort()
      const expected: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
        ["(a|a)*$", all], // an empty match at the end of every text
        ["(.|\\s)*TODO", only("short todo")],
        ["(a+)+$", only("short as")],
        ["(a*)*b", only("short aaab")],
        ["(x+x+)+y", only("short xxy")],
        ["(\\w+\\s?)*$", all]
      ]
      for (const [pattern, messageIds] of expected) {
        const result = yield* session.grep({ pattern, mode: "regex", limit: 100 })
        expect({ pattern, stoppedEarly: result.stoppedEarly, nextCursor: result.nextCursor }).toEqual({
          pattern,
          stoppedEarly: false,
          nextCursor: undefined
        })
        expect(result.hits.map((h) => h.messageId as string).sort(), pattern).toEqual(messageIds)
        expect(result.text).toContain("(end of results)")
      }
    }).pipe(Effect.provide(makeTest())))

  it.effect("a hit's snippet marks the match, case-insensitively, and shows only the ends of a long one", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/memory" })
      yield* session.record({ user: `start ${"b".repeat(5_000)} Zebra-Pelican-7731 end`, assistant: "ok" })
      const needle = yield* session.grep({ pattern: "zebra-pelican-\\d{4}", mode: "regex" })
      expect(needle.hits[0]!.snippet).toContain("[Zebra-Pelican-7731]")
      const long = yield* session.grep({ pattern: "b+", mode: "regex" })
      expect(long.hits[0]!.snippet.length).toBeLessThan(400)
      expect(long.hits[0]!.snippet).toMatch(/^start \[b+…b+\] Zebra/)
    }).pipe(Effect.provide(makeTest())))

  it.effect("JavaScript-only escapes are translated; backreferences and lookaround are refused with what to write", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/memory" })
      yield* session.record({ user: "café \u0001 naïve 🙂 (?=literal) \\1 done", assistant: "ok" })
      for (
        const pattern of [
          "caf\\u00e9",
          "\\u{1F642}",
          "\\cA",
          "(?<word>na.ve)",
          "\\(\\?=literal\\)",
          "[(?=]lit",
          "\\\\1"
        ]
      ) {
        const result = yield* session.grep({ pattern, mode: "regex" })
        expect(result.hits.length, pattern).toBe(1)
      }
      for (
        const [pattern, says] of [
          ["(a)\\1", "backreference"],
          ["(?<w>a)\\k<w>", "backreference"],
          [
            "foo(?=bar)",
            "lookahead or lookbehind"
          ],
          ["(?!x)y", "lookahead or lookbehind"],
          ["(?<=foo)bar", "foo(bar)"],
          ["(?<!foo)bar", "RE2 syntax"]
        ] as const
      ) {
        const error = yield* Effect.flip(session.grep({ pattern, mode: "regex" }))
        expect(error, pattern).toMatchObject({ _tag: "InvalidInput", field: "pattern" })
        expect(error.message, pattern).toContain(says)
      }
      const invalid = yield* Effect.flip(session.grep({ pattern: "([", mode: "regex" }))
      expect(invalid.message).toContain("not a valid RE2 regular expression")
    }).pipe(Effect.provide(makeTest())))

  it.effect("a pattern too large once compiled is refused; a large one searches long texts in a window it names", () =>
    Effect.gen(function*() {
      const refused = Regex.compile("\\w{1,1000}x")
      expect(Either.isLeft(refused) && refused.left.message).toContain("smaller repeat counts")
      const large = Either.getOrThrow(Regex.compile("[a-z]{1,300}!"))
      expect(large.window).toBeLessThan(Regex.MAX_WINDOW)
      expect(Either.getOrThrow(Regex.compile("needle")).window).toBe(Regex.MAX_WINDOW)

      const session = yield* Session.create({ model: "mock/memory" })
      yield* session.record({ user: "y".repeat(large.window + 10) + "z!", assistant: "ok" })
      const result = yield* session.grep({ pattern: "[a-z]{1,300}!", mode: "regex" })
      expect(result.hits).toEqual([])
      expect(result.text).toContain(`searched in their first ${large.window} characters`)
    }).pipe(Effect.provide(makeTest())))
})
