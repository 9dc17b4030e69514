/**
 * JSON (comments and trailing commas tolerated, as in tsconfig files) through `jsonc-parser`, which
 * gives offsets, so top-level keys carry line numbers; and JSON Lines, one record per line.
 *
 * @since 0.1.0
 */
import { type Node, type ParseError, parseTree, printParseErrorCode } from "jsonc-parser"
import { num, plural } from "../Digest.js"
import { lineIndex, splitLines } from "../Lines.js"
import { type Digest, Unparseable } from "../types.js"
import {
  describe,
  fromPlain,
  MAX_DEPTH,
  recordItems,
  rootHeadline,
  rootItems,
  SAMPLE_ITEMS,
  type Value
} from "./Shape.js"

const scalar = (node: Node): Value => {
  const value: unknown = node.value
  switch (node.type) {
    case "string":
      return { kind: "scalar", type: "string", text: String(value) }
    case "number":
      return { kind: "scalar", type: "number", text: String(value) }
    case "boolean":
      return { kind: "scalar", type: "boolean", text: String(value) }
    default:
      return { kind: "scalar", type: "null", text: "null" }
  }
}

const convert = (node: Node, line: (offset: number) => number, depth: number): Value => {
  const children = node.children ?? []
  if (node.type === "object") {
    return {
      kind: "object",
      size: children.length,
      entries: depth >= MAX_DEPTH ? [] : children.flatMap((property) => {
        const [key, value] = property.children ?? []
        if (key === undefined || value === undefined) return []
        return [{
          key: String(key.value),
          line: depth === 0 ? line(key.offset) : undefined,
          value: convert(value, line, depth + 1)
        }]
      })
    }
  }
  if (node.type === "array") {
    return {
      kind: "array",
      length: children.length,
      items: depth >= MAX_DEPTH ? [] : children.slice(0, SAMPLE_ITEMS).map((c) => convert(c, line, depth + 1))
    }
  }
  return scalar(node)
}

export const digest = (text: string): Digest => {
  const errors: Array<ParseError> = []
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false })
  const line = lineIndex(text)
  if (errors.length > 0 || root === undefined) {
    const first = errors[0]
    throw new Unparseable(
      first === undefined
        ? "the file holds no JSON value"
        : `JSON syntax error at line ${line(first.offset)}: ${printParseErrorCode(first.error)}`
    )
  }
  const value = convert(root, line, 0)
  const { items, title } = rootItems(value)
  return { headline: `JSON ${rootHeadline(value)}`, sections: [{ title, items }] }
}

export const digestLines = (text: string): Digest => {
  const lines = splitLines(text)
  const records: Array<Value> = []
  const bad: Array<number> = []
  let count = 0
  for (const [i, raw] of lines.entries()) {
    if (raw.trim() === "") continue
    count++
    if (records.length >= SAMPLE_ITEMS) continue
    try {
      records.push(fromPlain(JSON.parse(raw)))
    } catch {
      bad.push(i + 1)
    }
  }
  if (count > 0 && records.length === 0) {
    throw new Unparseable(`no line is valid JSON (first at line ${bad[0]})`)
  }
  const objects = records.filter((r): r is Extract<Value, { kind: "object" }> => r.kind === "object")
  const notes = bad.length === 0
    ? []
    : [`${plural(bad.length, "line")} in the sample are not valid JSON (first: line ${bad[0]})`]
  return {
    headline: `JSON Lines, ${plural(count, "record")}`,
    notes,
    sections: objects.length === records.length && objects.length > 0
      ? [{ title: `Record keys (over the first ${num(objects.length)})`, items: recordItems(objects) }]
      : [{
        title: "First records",
        items: records.slice(0, 20).map((r, i) => ({ text: `[${i}] ${describe(r)}` }))
      }]
  }
}
