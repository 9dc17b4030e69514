/**
 * The memory tools on files: `expand file_…` pages every line exactly once under its cap and
 * continues with its cursor (from a line, or inside one symbol), `grep` finds words and regular
 * expressions in the contents of referenced files after the message hits, with cursors that cover
 * every hit once, and a session never reads a file only another session references.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Ids from "../../src/internal/ids.js"
import { makeTest } from "../../src/Layers.js"
import { GREP_MAX_TOKENS } from "../../src/MemoryTools.js"
import * as Session from "../../src/Session.js"
import { countTokens } from "../../src/Tokenizer.js"

/** A Python module of `n` small classes, each with two methods; a comment names each class's colour. */
const pythonModule = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    [
      `class Shape${i}:`,
      `    """Shape number ${i}; its colour is ${i % 7 === 3 ? "vermilion" : "grey"}."""`,
      "",
      `    def area(self) -> float:`,
      `        return ${i}.0 * ${i}.0`,
      "",
      `    def name(self) -> str:`,
      `        return "shape-${i}"`,
      "",
      ""
    ].join("\n")).join("")

const SOURCE = pythonModule(300)
const LINES = SOURCE.split("\n").slice(0, -1)

/** A session holding SOURCE as a reference (the threshold is low), and the reference's id. */
const sessionWithFile = Effect.gen(function*() {
  const session = yield* Session.create({
    model: "mock/files",
    memoryTools: true,
    config: { file: { inlineThreshold: 200, summaryTokens: 150 } }
  })
  yield* session.send([
    { type: "text", text: "A vermilion question about this module." },
    { type: "file", path: "shapes.py", content: SOURCE }
  ])
  return { session, fileId: Ids.fileId(SOURCE) }
})

/** The lines of every file hit of a grep, page after page. */
const allFileLines = (session: Session.Session, pattern: string) =>
  Effect.gen(function*() {
    const found: Array<number> = []
    let cursor: string | undefined
    do {
      const page = yield* session.grep({ pattern, limit: 20, ...(cursor ? { cursor } : {}) })
      found.push(...page.fileHits.map((hit) => hit.line))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return found
  })

/** The numbered lines of an expand page: `[number, text]`. */
const numbered = (text: string) =>
  text.split("\n").flatMap((line) => {
    const match = /^\s*(\d+)│ (.*)$/.exec(line)
    return match === null ? [] : [[Number(match[1]), match[2]!] as const]
  })

describe("expand file_…", () => {
  it.effect("pages the whole file with line numbers, each page within its cap, every line once", () =>
    Effect.gen(function*() {
      const { fileId, session } = yield* sessionWithFile
      const seen: Array<readonly [number, string]> = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = yield* session.expand({ id: fileId, maxTokens: 800, ...(cursor ? { cursor } : {}) })
        expect(countTokens(page.text)).toBeLessThanOrEqual(800)
        expect(page.total).toBe(LINES.length)
        seen.push(...numbered(page.text))
        cursor = page.nextCursor
        pages++
      } while (cursor !== undefined && pages < 200)
      expect(pages).toBeGreaterThan(5)
      expect(seen.map(([n]) => n)).toEqual(LINES.map((_, i) => i + 1))
      expect(seen.map(([, text]) => text)).toEqual(LINES)
    }).pipe(Effect.provide(makeTest())))

  it.effect("starts at a line, reads one symbol, and answers an unknown symbol with candidates", () =>
    Effect.gen(function*() {
      const { fileId, session } = yield* sessionWithFile
      const from = yield* session.expand({ id: fileId, line: 2_001, maxTokens: 300 })
      expect(numbered(from.text)[0]).toEqual([2_001, LINES[2_000]])
      const method = yield* session.expand({ id: fileId, symbol: "Shape120.name" })
      const start = LINES.indexOf("class Shape120:") + 7
      expect(method.text).toContain(`method Shape120.name (lines ${start}–${start + 1})`)
      expect(numbered(method.text)).toEqual([
        [start, "    def name(self) -> str:"],
        [start + 1, "        return \"shape-120\""]
      ])
      expect(method.text.endsWith("(end of symbol)")).toBe(true)
      const unknown = yield* session.expand({ id: fileId, symbol: "Shape120.perimeter" })
      expect(unknown.items).toEqual([])
      expect(unknown.text).toContain("no symbol \"Shape120.perimeter\" in shapes.py")
      // a cursor belongs to its query: one of a symbol does not continue the whole file
      const long = yield* session.expand({ id: fileId, maxTokens: 200 })
      const misuse = yield* Effect.flip(
        session.expand({ id: fileId, symbol: "Shape1", cursor: long.nextCursor! })
      )
      expect(misuse._tag === "InvalidInput" && misuse.field).toBe("cursor")
    }).pipe(Effect.provide(makeTest())))

  it.effect("a session never reads a file only another session references", () =>
    Effect.gen(function*() {
      const { fileId } = yield* sessionWithFile
      const other = yield* Session.create({ model: "mock/files" })
      yield* other.send("Nothing attached here.")
      const refusals = [
        yield* Effect.flip(other.describe({ id: fileId })),
        yield* Effect.flip(other.expand({ id: fileId }))
      ]
      for (const refused of refusals) {
        expect(refused._tag === "InvalidInput" && refused.reason).toContain(
          `no file ${fileId} in this session`
        )
      }
      expect((yield* other.grep({ pattern: "vermilion" })).fileHits).toEqual([])
    }).pipe(Effect.provide(makeTest())))
})

describe("grep over file contents", () => {
  it.effect("words: message hits first, then file lines, every hit once across pages", () =>
    Effect.gen(function*() {
      const { fileId, session } = yield* sessionWithFile
      const expected = LINES.flatMap((line, i) => line.includes("vermilion") ? [i + 1] : [])
      const messageIds: Array<string> = []
      const fileLines: Array<number> = []
      let cursor: string | undefined
      do {
        const page = yield* session.grep({ pattern: "Vermilion", limit: 7, ...(cursor ? { cursor } : {}) })
        expect(countTokens(page.text)).toBeLessThanOrEqual(GREP_MAX_TOKENS)
        // on a page, message hits come before file hits
        if (page.fileHits.length > 0 && cursor !== undefined) expect(messageIds.length).toBe(1)
        messageIds.push(...page.hits.map((hit) => hit.messageId))
        for (const hit of page.fileHits) {
          expect(hit).toMatchObject({ fileId, path: "shapes.py" })
          expect(hit.snippet).toContain("[vermilion]")
          expect(page.text).toContain(`${fileId} shapes.py:${hit.line}: `)
          fileLines.push(hit.line)
        }
        cursor = page.nextCursor
      } while (cursor !== undefined)
      expect(messageIds.length).toBe(1)
      expect(fileLines).toEqual(expected)
    }).pipe(Effect.provide(makeTest())))

  it.effect("a regular expression matches line by line; a word prefix and a phrase in full-text mode", () =>
    Effect.gen(function*() {
      const { session } = yield* sessionWithFile
      const regex = yield* session.grep({
        pattern: "^\\s+return \"shape-1[0-9]\"$",
        mode: "regex",
        limit: 50
      })
      expect(regex.fileHits.map((hit) => hit.line)).toEqual(
        LINES.flatMap((line, i) => /^\s+return "shape-1[0-9]"$/.test(line) ? [i + 1] : [])
      )
      expect(regex.fileHits).toHaveLength(10)
      const prefix = yield* allFileLines(session, "vermil*")
      expect(prefix).toEqual(LINES.flatMap((line, i) => line.includes("vermilion") ? [i + 1] : []))
      const phrase = yield* allFileLines(session, "\"shape number 3\"")
      expect(phrase).toEqual([LINES.indexOf("class Shape3:") + 2])
      const nothing = yield* session.grep({ pattern: "ultramarine" })
      expect(nothing.fileHits).toEqual([])
      expect(nothing.nextCursor).toBeUndefined()
    }).pipe(Effect.provide(makeTest())))
})
