/**
 * TOML through `smol-toml` (TOML 1.0, no dependencies, among the fastest JS TOML parsers): the
 * tables and keys with their shapes. The parser gives no positions, so the line of each top-level
 * key or table header is found in a second pass over the lines.
 *
 * @since 0.1.0
 */
import { parse, TomlError } from "smol-toml"
import { clip, plural } from "../Digest.js"
import { splitLines } from "../Lines.js"
import { type Digest, Unparseable } from "../types.js"
import { entryItem, fromPlain } from "./Shape.js"

/** The first segment of a dotted TOML key, unquoted: `"a.b".c` → `a.b`. */
const firstSegment = (key: string): string => {
  const text = key.trim()
  if (text.startsWith("\"") || text.startsWith("'")) {
    const end = text.indexOf(text[0]!, 1)
    return end === -1 ? text : text.slice(1, end)
  }
  const dot = text.indexOf(".")
  return (dot === -1 ? text : text.slice(0, dot)).trim()
}

/** Line of each top-level name: where its table header or its `key =` first appears. */
const topLevelLines = (text: string): ReadonlyMap<string, number> => {
  const found = new Map<string, number>()
  let inTable = false
  for (const [i, raw] of splitLines(text).entries()) {
    const line = raw.trim()
    if (line.startsWith("[")) {
      inTable = true
      const name = firstSegment(line.replace(/^\[+/, "").replace(/\]+.*$/, ""))
      if (!found.has(name)) found.set(name, i + 1)
    } else if (!inTable && !line.startsWith("#")) {
      const eq = line.indexOf("=")
      if (eq > 0) {
        const name = firstSegment(line.slice(0, eq))
        if (!found.has(name)) found.set(name, i + 1)
      }
    }
  }
  return found
}

export const digest = (text: string): Digest => {
  let parsed: Record<string, unknown>
  try {
    parsed = parse(text)
  } catch (error) {
    if (error instanceof TomlError) {
      throw new Unparseable(
        `TOML error at line ${error.line}: ${clip(error.message.split("\n")[0] ?? "", 160)}`
      )
    }
    throw error
  }
  const lines = topLevelLines(text)
  const value = fromPlain(parsed)
  const entries = value.kind === "object" ? value.entries : []
  const tables = entries.filter((e) => e.value.kind === "object").length
  return {
    headline: `TOML document: ${plural(entries.length, "top-level key")} (${plural(tables, "table")})`,
    sections: [{ title: "Keys", items: entries.map((e) => entryItem({ ...e, line: lines.get(e.key) })) }]
  }
}
