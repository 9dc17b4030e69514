/**
 * Markdown through `marked`'s lexer (CommonMark + GFM tables; no dependencies; the fastest of the
 * maintained JS Markdown parsers): the heading outline with line numbers (headings inside code
 * fences are code, not headings), tables with their columns and row counts, code blocks by
 * language, and the keys of a YAML front matter.
 *
 * @since 0.1.0
 */
import { Lexer, type Token } from "marked"
import { parse as parseYaml } from "yaml"
import { clip, num, plural } from "./Digest.js"
import type { Digest, Item } from "./types.js"

/** Explicit options: `marked`'s global defaults can be changed by the host application. */
const OPTIONS = { gfm: true, breaks: false, pedantic: false, silent: true } as const

interface Heading {
  readonly depth: number
  readonly item: { text: string; children: Array<Item> }
}

const newlines = (text: string): number => {
  let n = 0
  for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) n++
  return n
}

/** `---\n…\n---` at the very top: its YAML keys and the number of lines it takes. */
const frontMatter = (
  text: string
): { readonly keys: ReadonlyArray<string>; readonly lines: number } | undefined => {
  if (!text.startsWith("---\n") && !text.startsWith("---\r\n")) return undefined
  const end = text.search(/\r?\n---\s*(\r?\n|$)/)
  if (end === -1) return undefined
  const body = text.slice(text.indexOf("\n") + 1, end)
  let keys: ReadonlyArray<string> = []
  try {
    const value: unknown = parseYaml(body)
    if (value !== null && typeof value === "object" && !Array.isArray(value)) keys = Object.keys(value)
  } catch {
    keys = ["(not valid YAML)"]
  }
  const close = text.slice(end).match(/^\r?\n---[^\n]*\n?/)?.[0] ?? ""
  return { keys, lines: newlines(text.slice(0, end + close.length)) }
}

export const digest = (text: string): Digest => {
  const front = frontMatter(text)
  const normalised = text.replace(/\r\n?/g, "\n")
  const body = front === undefined ? normalised : normalised.split("\n").slice(front.lines).join("\n")
  const tokens: ReadonlyArray<Token> = new Lexer(OPTIONS).lex(body)

  const outline: Array<Item> = []
  const stack: Array<Heading> = []
  const tables: Array<Item> = []
  const languages = new Map<string, number>()
  let line = 1 + (front?.lines ?? 0)
  for (const token of tokens) {
    if (token.type === "heading" && "depth" in token && typeof token.depth === "number") {
      const heading: Heading = {
        depth: token.depth,
        item: {
          text: `L${line} ${"#".repeat(token.depth)} ${clip(String(token.text ?? ""), 160)}`,
          children: []
        }
      }
      while (stack.length > 0 && stack[stack.length - 1]!.depth >= heading.depth) stack.pop()
      const parent = stack[stack.length - 1]
      if (parent === undefined) outline.push(heading.item)
      else parent.item.children.push(heading.item)
      stack.push(heading)
    } else if (
      token.type === "table" && "header" in token && Array.isArray(token.header) && Array.isArray(token.rows)
    ) {
      const header = (token.header as ReadonlyArray<{ readonly text: string }>).map((cell) =>
        clip(cell.text, 30)
      )
      const names = header.some((h) => h.trim() !== "") ? ` (${header.join(", ")})` : ""
      tables.push({
        text: `L${line} ${plural(header.length, "column")}${names}, ${plural(token.rows.length, "row")}`
      })
    } else if (token.type === "code") {
      const language = typeof token.lang === "string" && token.lang.trim() !== ""
        ? token.lang.trim().split(/\s/)[0]!
        : "plain"
      languages.set(language, (languages.get(language) ?? 0) + 1)
    }
    line += newlines(token.raw)
  }
  const words = normalised.split(/\s+/).filter((w) => w.length > 0).length
  const headings = countItems(outline)
  return {
    headline:
      `Markdown document, ${plural(newlines(normalised) + (normalised.endsWith("\n") ? 0 : 1), "line")}, ` +
      `${plural(words, "word")}, ${plural(headings, "heading")}`,
    sections: [
      ...(front === undefined
        ? []
        : [{ title: "Front matter keys", items: front.keys.map((text) => ({ text })), inline: true }]),
      { title: "Outline", items: outline },
      { title: "Tables", items: tables },
      {
        title: "Code block languages",
        items: [...languages].map(([language, n]) => ({
          text: n === 1 ? language : `${language} ×${num(n)}`
        })),
        inline: true
      }
    ]
  }
}

const countItems = (items: ReadonlyArray<Item>): number =>
  items.reduce((n, item) => n + 1 + countItems(item.children ?? []), 0)
