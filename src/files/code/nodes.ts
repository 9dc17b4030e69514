/**
 * Small helpers over tree-sitter nodes shared by the language extractors: line spans, declaration
 * heads ("signatures"), and the syntax-error lines of a tree.
 *
 * @since 0.1.0
 */
import type { Node } from "web-tree-sitter"
import { clip, oneLine } from "../Digest.js"
import type { CodeSymbol } from "../types.js"

/** A signature is one line of at most this many characters. */
const SIGNATURE_CHARS = 200
/** Syntax errors reported per file. */
const ERROR_LINES = 5

/** The text of `node` up to `end` (its body, its value), on one line, without a dangling `{`, `=` or `:`. */
export const head = (source: string, node: Node, end?: Node | null | number): string => {
  const stop = typeof end === "number" ? end : end?.startIndex ?? node.endIndex
  return clip(tidy(withoutComments(source, node, stop)).replace(/\s*[{=:]$/, ""), SIGNATURE_CHARS)
}

const COMMENTS = ["comment", "line_comment", "block_comment"]

/** The number of line breaks in `source` between `from` and `to`. */
const newlinesIn = (source: string, from: number, to: number): number => {
  let n = 0
  for (let at = source.indexOf("\n", from); at !== -1 && at < to; at = source.indexOf("\n", at + 1)) n++
  return n
}

/**
 * `source` from `start` (default: `node`'s start) to `stop`, with the comments of `node` inside that
 * range (doc comments on overloads) left out.
 */
export const withoutComments = (
  source: string,
  node: Node,
  stop: number,
  start: number = node.startIndex
): string => {
  const raw = source.slice(start, stop)
  // No comment can start without `/` (`//`, `/*`) or `#` (Python): most heads need no tree walk.
  if (!raw.includes("/") && !raw.includes("#")) return raw
  // Only the rows up to `stop` are searched, not the whole body (a class's head, not its methods).
  const comments = node.descendantsOfType(COMMENTS, node.startPosition, {
    row: node.startPosition.row + newlinesIn(source, node.startIndex, stop) + 1,
    column: 0
  }).filter((c) => c.startIndex >= start && c.endIndex <= stop)
  if (comments.length === 0) return raw
  let text = ""
  let at = start
  for (const comment of comments) {
    if (comment.startIndex < at) continue
    text += `${source.slice(at, comment.startIndex)} `
    at = comment.endIndex
  }
  return text + source.slice(at, stop)
}

/** One line, without the padding that parameter lists spread over lines leave: `( a, b, )` → `(a, b)`. */
export const tidy = (text: string): string =>
  oneLine(text).replace(/([([<]) /g, "$1").replace(/,? ([)\]>])/g, "$1")

/** The text of `node`'s first line (for declarations with no body field). */
export const firstLine = (source: string, node: Node): string => {
  const text = source.slice(node.startIndex, node.endIndex)
  const newline = text.indexOf("\n")
  return clip(
    oneLine(newline === -1 ? text : text.slice(0, newline)).replace(/\s*[{=:]$/, ""),
    SIGNATURE_CHARS
  )
}

/** Text of a field, or `undefined`. */
export const fieldText = (node: Node, field: string): string | undefined =>
  node.childForFieldName(field)?.text

/** Strips the quotes of a string literal's text. */
export const unquote = (text: string): string => text.replace(/^[`'"]+|[`'"]+$/g, "")

export const symbol = (
  fields: {
    readonly kind: string
    readonly name: string
    readonly signature: string
    readonly exported: boolean
    readonly children?: ReadonlyArray<CodeSymbol>
  },
  span: Node
): CodeSymbol => ({
  kind: fields.kind,
  name: fields.name,
  signature: fields.signature,
  exported: fields.exported,
  children: fields.children ?? [],
  startLine: span.startPosition.row + 1,
  endLine: span.endPosition.row +
    (span.endPosition.column === 0 && span.endPosition.row > span.startPosition.row
      ? 0
      : 1)
})

/** Named children of a node that may be absent. */
export const namedChildrenOf = (node: Node | null | undefined): ReadonlyArray<Node> =>
  node === null || node === undefined ? [] : node.namedChildren

/** The first lines where the parser had to recover (ERROR or MISSING nodes), in file order. */
export const errorLines = (root: Node): ReadonlyArray<number> => {
  if (!root.hasError) return []
  const lines: Array<number> = []
  // Depth-first over the subtrees that contain an error only; explicit stack (deep trees).
  const stack: Array<Node> = [root]
  while (stack.length > 0 && lines.length < ERROR_LINES) {
    const node = stack.pop()!
    if (node.isError || node.isMissing) {
      const line = node.startPosition.row + 1
      if (!lines.includes(line)) lines.push(line)
      continue
    }
    const children = node.children
    for (let i = children.length - 1; i >= 0; i--) {
      const child = children[i]!
      if (child.hasError || child.isMissing) stack.push(child)
    }
  }
  return lines
}

/** Unique values in first-seen order. */
export const unique = (values: Iterable<string>): Array<string> => [...new Set(values)]
