/**
 * Reading a stored file back: pages cover every line exactly once under any token cap, a line
 * longer than a page continues inside itself, `symbol=` confines a page to one declaration, and
 * unknown symbols answer with the candidates.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as FastCheck from "effect/FastCheck"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { FileId } from "../../src/Domain.js"
import { splitLines } from "../../src/files/Lines.js"
import { describeFile, expandFile, pageLines, type PagePosition } from "../../src/files/Paging.js"
import { codeOutline } from "../../src/files/Summarize.js"
import { countTokens } from "../../src/Tokenizer.js"

const count = (text: string) => countTokens(text)
const fixture = (name: string) => NodePath.join(import.meta.dirname, "..", "fixtures", "files", name)
const reference = (path: string, fileType: string) => ({
  id: FileId.make(`file_${"a".repeat(64)}`),
  path,
  fileType,
  tokenCount: 1_234
})

/** The text of a page's lines without their numbers (a continued line keeps its `…`). */
const bodies = (text: string) => text.split("\n").map((line) => line.slice(line.indexOf("│ ") + 2))

/** Every page from the first, following `next`. */
const allPages = (lines: ReadonlyArray<string>, maxTokens: number) => {
  const pages = []
  let from: PagePosition | undefined
  for (let guard = 0; guard < 10_000; guard++) {
    const page = pageLines(lines, { from, maxTokens, count })
    pages.push(page)
    if (page.next === undefined) break
    from = page.next
  }
  return pages
}

describe("paging by lines", () => {
  it("numbers lines, stops within the cap, and continues where it stopped", () => {
    const lines = Array.from({ length: 120 }, (_, i) => `line number ${i + 1} of the file`)
    const first = pageLines(lines, { maxTokens: 100, count })
    expect(first.text.split("\n")[0]).toBe("  1│ line number 1 of the file")
    expect(count(first.text)).toBeLessThanOrEqual(100)
    expect(first.next).toEqual({ line: first.lastLine + 1 })
    const second = pageLines(lines, { from: first.next, maxTokens: 100, count })
    expect(second.firstLine).toBe(first.lastLine + 1)
    expect(second.text.split("\n")[0]).toBe(
      `${String(first.lastLine + 1).padStart(3)}│ line number ${first.lastLine + 1} of the file`
    )
  })

  it.effect("pages cover every line exactly once, in order, for any cap (long lines included)", () =>
    Effect.promise(() =>
      FastCheck.assert(
        FastCheck.asyncProperty(
          FastCheck.array(FastCheck.string({ maxLength: 400 }), { minLength: 1, maxLength: 60 }),
          FastCheck.integer({ min: 20, max: 400 }),
          async (raw, maxTokens) => {
            const lines = raw.map((l) => l.replace(/[\r\n]/g, " "))
            const pages = allPages(lines, maxTokens)
            let rebuilt = ""
            for (const page of pages) {
              expect(count(page.text)).toBeLessThanOrEqual(maxTokens)
              for (const [k, body] of bodies(page.text).entries()) {
                const n = page.firstLine + k
                const continued = body.startsWith("…") && (k === 0 && page.firstLine === n) &&
                  rebuilt !== "" &&
                  !rebuilt.endsWith("\n")
                const text = continued ? body.slice(1) : body
                const cut = text.endsWith("…") && k === page.lastLine - page.firstLine &&
                  page.next?.line === n
                rebuilt += cut ? text.slice(0, -1) : `${text}\n`
              }
            }
            expect(rebuilt).toBe(lines.map((l) => `${l}\n`).join(""))
            // Let the test runner's messages through between runs (a microtask would not).
            await new Promise((resolve) => setImmediate(resolve))
          }
        ),
        { numRuns: 60 }
      )
    ))

  it("a line longer than the page is split and resumed at the right column", () => {
    const long = "x".repeat(5_000)
    const first = pageLines(["short", long, "after"], { from: { line: 2 }, maxTokens: 60, count })
    expect(first.next?.line).toBe(2)
    const column = first.next?.column ?? 0
    expect(column).toBeGreaterThan(0)
    const second = pageLines(["short", long, "after"], { from: first.next, maxTokens: 60, count })
    expect(second.text.startsWith("2│ …x")).toBe(true)
    expect(second.next).toEqual({ line: 2, column: column + (second.text.length - "2│ …".length - 1) })
  })
})

describe("expand file_… and describe file_…", () => {
  it.effect("symbol=Class.method pages exactly that method's lines", () =>
    Effect.gen(function*() {
      const content = NodeFs.readFileSync(fixture("greeter.py"), "utf8")
      const outline = yield* codeOutline("python", content)
      const result = expandFile({
        reference: reference("greeter.py", "python"),
        content,
        outline,
        symbol: "Greeter.greeting",
        maxTokens: 500,
        count
      })
      expect(result._tag).toBe("Page")
      if (result._tag !== "Page") return
      expect(result.symbol).toBe("Greeter.greeting")
      expect(result.text).toContain("method Greeter.greeting (lines 18–20)")
      expect(result.text).toContain(
        "18│     @property\n19│     def greeting(self) -> str:\n20│         return f\"hello, {self.name}\""
      )
      expect(result.text).not.toContain("21│")
      expect(result.text.endsWith("(end of symbol)")).toBe(true)
    }))

  it.effect("a bare member name finds its symbol when only one has it; a Go method lives under its type", () =>
    Effect.gen(function*() {
      const content = NodeFs.readFileSync(fixture("store.go"), "utf8")
      const outline = yield* codeOutline("go", content)
      const result = expandFile({
        reference: reference("store.go", "go"),
        content,
        outline,
        symbol: "Put",
        maxTokens: 500,
        count
      })
      expect(result._tag === "Page" && result.symbol).toBe("Store.Put")
      const both = expandFile({
        reference: reference("store.go", "go"),
        content,
        outline,
        symbol: "Get",
        maxTokens: 500,
        count
      })
      expect(both._tag).toBe("UnknownSymbol")
      expect(both.text).toContain("\"Get\" names several symbols; pick one\nsymbols: Store.Get, Reader.Get")
    }))

  it.effect("an unknown symbol answers with the file's symbols instead of failing", () =>
    Effect.gen(function*() {
      const content = NodeFs.readFileSync(fixture("shapes.rs"), "utf8")
      const outline = yield* codeOutline("rust", content)
      const result = expandFile({
        reference: reference("shapes.rs", "rust"),
        content,
        outline,
        symbol: "Square",
        maxTokens: 500,
        count
      })
      expect(result._tag).toBe("UnknownSymbol")
      expect(result.text).toContain("no symbol \"Square\" in shapes.rs")
      expect(result.text).toContain("Shape, Circle, Kind")
    }))

  it("a long symbol pages within the cap and its cursor stays inside it", () => {
    const body = Array.from({ length: 300 }, (_, i) => `    total += ${i}  # step ${i}`)
    const content = [
      "def big():",
      "    total = 0",
      ...body,
      "    return total",
      "",
      "def after():",
      "    pass",
      ""
    ].join("\n")
    const lines = splitLines(content)
    const outline = {
      imports: [],
      exports: [],
      errorLines: [],
      symbols: [{
        kind: "function",
        name: "big",
        signature: "def big()",
        startLine: 1,
        endLine: 303,
        exported: true,
        children: []
      }]
    }
    let from: PagePosition | undefined
    const seen: Array<number> = []
    for (let i = 0; i < 100; i++) {
      const result = expandFile({
        reference: reference("big.py", "python"),
        content,
        outline,
        symbol: "big",
        from,
        maxTokens: 400,
        count,
        continueWith: (next) => `cursor ${next.line}`
      })
      if (result._tag !== "Page") throw new Error(result.text)
      expect(count(result.text)).toBeLessThanOrEqual(400)
      for (let n = result.page.firstLine; n <= result.page.lastLine; n++) seen.push(n)
      if (result.page.next === undefined) {
        expect(result.text.endsWith("(end of symbol)")).toBe(true)
        break
      }
      expect(result.text.endsWith(`more: cursor ${result.page.next.line}`)).toBe(true)
      from = result.page.next
    }
    expect(seen).toEqual(Array.from({ length: 303 }, (_, i) => i + 1))
    expect(lines.length).toBe(306)
  })

  it("binary files are not paged; describe says how to read text files", () => {
    const binary = expandFile({
      reference: reference("logo.png", "binary"),
      content: "",
      maxTokens: 500,
      count
    })
    expect(binary._tag).toBe("NotText")
    const text = describeFile({
      ...reference("src/a.ts", "typescript"),
      summary: "TypeScript module, 3 lines"
    }, { lines: 3 })
    expect(text).toContain(
      `file_${
        "a".repeat(64)
      }: file src/a.ts (typescript), 3 lines, 1,234 tokens\nsummary:\nTypeScript module, 3 lines`
    )
    expect(text).toContain("symbol=\"Name\" or \"Class.method\"")
  })
})
