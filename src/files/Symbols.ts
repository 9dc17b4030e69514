/**
 * The symbols of a source file with their line spans, as the store keeps them beside the content:
 * `expand file_… symbol=Class.method` then reads one declaration's lines without parsing the file
 * again. Only what a lookup needs is kept (kind, name, span, members); signatures live in the
 * summary.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { CodeSymbol } from "./types.js"

/** A declaration and its 1-based inclusive line span, with the declarations inside it. */
export interface FileSymbol {
  readonly kind: string
  readonly name: string
  readonly startLine: number
  readonly endLine: number
  readonly children: ReadonlyArray<FileSymbol>
}

/** The stored shape (a JSON column). */
export const FileSymbol: Schema.Schema<FileSymbol> = Schema.Struct({
  kind: Schema.String,
  name: Schema.String,
  startLine: Schema.Int,
  endLine: Schema.Int,
  children: Schema.Array(Schema.suspend((): Schema.Schema<FileSymbol> => FileSymbol))
})

export const FileSymbols = Schema.Array(FileSymbol)

/** The stored form of a parser's symbols. */
export const fromCode = (symbols: ReadonlyArray<CodeSymbol>): Array<FileSymbol> =>
  symbols.map((s) => ({
    kind: s.kind,
    name: s.name,
    startLine: s.startLine,
    endLine: s.endLine,
    children: fromCode(s.children)
  }))
