/**
 * Source code through tree-sitter: parse with the language's grammar, extract the outline, and turn
 * it into a digest (imports, exports, symbols with line spans and signatures, classes with their
 * methods). The outline also serves `expand file_… symbol=Name.method`.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { plural } from "../Digest.js"
import type { CodeOutline, CodeSymbol, CodeType, Digest, Item } from "../types.js"
import { TYPE_LABELS } from "../types.js"
import * as Ecmascript from "./ecmascript.js"
import * as Go from "./go.js"
import type { GrammarUnavailable } from "./Grammars.js"
import { parserFor } from "./Grammars.js"
import * as Java from "./java.js"
import * as Python from "./python.js"
import * as Rust from "./rust.js"

/** The parser gave no tree or the extractor failed: the summary degrades. */
export class ParseFailed extends Data.TaggedError("ParseFailed")<{ readonly reason: string }> {}

const EXTRACTORS: Readonly<Record<CodeType, typeof Ecmascript.outline>> = {
  typescript: Ecmascript.outline,
  tsx: Ecmascript.outline,
  javascript: Ecmascript.outline,
  python: Python.outline,
  go: Go.outline,
  rust: Rust.outline,
  java: Java.outline
}

/** Parses `source` and extracts its outline. The tree is freed before returning. */
export const outline = (
  language: CodeType,
  source: string
): Effect.Effect<CodeOutline, GrammarUnavailable | ParseFailed> =>
  Effect.flatMap(parserFor(language), (parser) =>
    Effect.try({
      try: () => {
        const tree = parser.parse(source)
        if (tree === null) {
          throw new ParseFailed({ reason: `the ${TYPE_LABELS[language]} parser returned no tree` })
        }
        try {
          return EXTRACTORS[language](tree.rootNode, source)
        } finally {
          tree.delete()
        }
      },
      catch: (error) =>
        error instanceof ParseFailed
          ? error
          : new ParseFailed({ reason: error instanceof Error ? error.message : String(error) })
    }))

const span = (s: CodeSymbol): string =>
  s.startLine === s.endLine ? `L${s.startLine}` : `L${s.startLine}-${s.endLine}`

const item = (s: CodeSymbol): Item => ({ text: `${span(s)} ${s.signature}`, children: s.children.map(item) })

/** "3 classes, 12 functions, 2 interfaces" over the top-level symbols, in first-seen order. */
const kindCounts = (symbols: ReadonlyArray<CodeSymbol>): string => {
  const counts = new Map<string, number>()
  for (const s of symbols) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1)
  return [...counts].map(([kind, n]) => plural(n, kind, kind.endsWith("s") ? `${kind}es` : `${kind}s`)).join(
    ", "
  )
}

/** Average characters per line above which a file reads as minified. */
const MINIFIED_LINE_CHARS = 300

export const digest = (language: CodeType, found: CodeOutline, lineCount: number, chars: number): Digest => {
  const label = `${TYPE_LABELS[language]} ${language === "go" || language === "java" ? "source" : "module"}`
  const where = found.packageName === undefined ? "" : ` (package ${found.packageName})`
  const counts = found.symbols.length === 0 ? "no top-level declarations" : kindCounts(found.symbols)
  const lines = found.errorLines
  const notes = [
    ...(lines.length === 0 ? [] : [
      `the parser recovered from syntax errors near line${lines.length === 1 ? "" : "s"} ${
        lines.join(", ")
      }; ` +
      "spans nearby may be off"
    ]),
    ...(found.wrapperLine === undefined ? [] : [
      `the declarations are inside a module wrapper (UMD/IIFE) starting on line ${found.wrapperLine}`
    ]),
    ...(lineCount > 0 && chars / lineCount > MINIFIED_LINE_CHARS
      ? ["the code looks minified (very long lines)"]
      : [])
  ]
  return {
    headline: `${label}${where}, ${plural(lineCount, "line")}: ${counts}`,
    notes,
    sections: [
      { title: "Imports", items: found.imports.map((text) => ({ text })), inline: true },
      { title: "Exports", items: found.exports.map((text) => ({ text })), inline: true },
      { title: "Symbols", items: found.symbols.map(item) }
    ]
  }
}

/** What a symbol lookup needs of a declaration: its kind, name, line span and members. */
export interface SymbolSpan {
  readonly kind: string
  readonly name: string
  readonly startLine: number
  readonly endLine: number
  readonly children: ReadonlyArray<SymbolSpan>
}

/** Every `Name` / `Outer.inner` path of the symbols, in file order. */
export const symbolPaths = (
  symbols: ReadonlyArray<SymbolSpan>,
  prefix = ""
): Array<{ readonly path: string; readonly symbol: SymbolSpan }> =>
  symbols.flatMap((s) => {
    const path = `${prefix}${s.name}`
    return [{ path, symbol: s }, ...symbolPaths(s.children, `${path}.`)]
  })

/** What a `symbol=` lookup found. */
export type SymbolMatch =
  | { readonly _tag: "Found"; readonly path: string; readonly symbol: SymbolSpan }
  | { readonly _tag: "Ambiguous"; readonly candidates: ReadonlyArray<string> }
  | { readonly _tag: "NotFound"; readonly suggestions: ReadonlyArray<string> }

/**
 * Finds `query` (`Name`, `Outer.inner`, or a bare member name when only one symbol has it). An
 * exact path wins; then a unique path ending in `.query`.
 */
export const findSymbol = (symbols: ReadonlyArray<SymbolSpan>, query: string): SymbolMatch => {
  const wanted = query.trim()
  const paths = symbolPaths(symbols)
  const exact = paths.find((p) => p.path === wanted)
  if (exact !== undefined) return { _tag: "Found", ...exact }
  const suffix = paths.filter((p) => p.path.endsWith(`.${wanted}`))
  if (suffix.length === 1) return { _tag: "Found", ...suffix[0]! }
  if (suffix.length > 1) return { _tag: "Ambiguous", candidates: suffix.map((p) => p.path) }
  const lower = wanted.toLowerCase()
  const last = lower.slice(lower.lastIndexOf(".") + 1)
  const suggestions = paths.filter((p) => p.path.toLowerCase().includes(last)).map((p) => p.path)
  return {
    _tag: "NotFound",
    suggestions: suggestions.length > 0
      ? suggestions
      : paths.filter((p) => !p.path.includes(".")).map((p) => p.path)
  }
}
