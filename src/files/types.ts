/**
 * The shapes shared by the file modules: detected types, the structured digest every summariser
 * produces (rendered under a token budget by `Digest.ts`), and the code outline whose line spans
 * let `expand file_… symbol=…` read one symbol.
 *
 * @since 0.1.0
 */

/** Every type a file can be detected as. */
export const FILE_TYPES = [
  "typescript",
  "tsx",
  "javascript",
  "python",
  "go",
  "rust",
  "java",
  "json",
  "jsonl",
  "yaml",
  "toml",
  "csv",
  "tsv",
  "markdown",
  "sql",
  "sqlite",
  "text",
  "binary"
] as const
export type FileType = (typeof FILE_TYPES)[number]

/** Types whose summary comes from a tree-sitter grammar. */
export type CodeType = Extract<
  FileType,
  "typescript" | "tsx" | "javascript" | "python" | "go" | "rust" | "java"
>

export const isCodeType = (type: string): type is CodeType =>
  type === "typescript" || type === "tsx" || type === "javascript" || type === "python" || type === "go" ||
  type === "rust" || type === "java"

/** Human names, for headlines. */
export const TYPE_LABELS: Readonly<Record<FileType, string>> = {
  typescript: "TypeScript",
  tsx: "TSX",
  javascript: "JavaScript",
  python: "Python",
  go: "Go",
  rust: "Rust",
  java: "Java",
  json: "JSON",
  jsonl: "JSON Lines",
  yaml: "YAML",
  toml: "TOML",
  csv: "CSV",
  tsv: "TSV",
  markdown: "Markdown",
  sql: "SQL",
  sqlite: "SQLite database",
  text: "Text",
  binary: "Binary"
}

/** Counts the tokens of a text (the Tokenizer service's `count`, or any consistent counter). */
export type Count = (text: string) => number

// ---------------------------------------------------------------------------------------------
// Digest: what a summariser found, before it is fitted to the budget
// ---------------------------------------------------------------------------------------------

/** One line of a section, optionally with nested lines (a class and its methods). */
export interface Item {
  readonly text: string
  readonly children?: ReadonlyArray<Item> | undefined
  /** The line shown instead of `text` when the children are cut (default: `text [n members]`). */
  readonly collapsed?: string | undefined
}

export interface Section {
  readonly title: string
  readonly items: ReadonlyArray<Item>
  /** Items joined on one line (imports, column names) instead of one per line. */
  readonly inline?: boolean | undefined
}

/**
 * A summariser's findings. The headline and notes are always shown; sections are cut to fit the
 * budget, each cut saying how many items it left out.
 */
export interface Digest {
  readonly headline: string
  readonly sections: ReadonlyArray<Section>
  readonly notes?: ReadonlyArray<string> | undefined
}

// ---------------------------------------------------------------------------------------------
// Code outline
// ---------------------------------------------------------------------------------------------

/** A declaration found by the parser, with its 1-based inclusive line span. */
export interface CodeSymbol {
  /** `class`, `function`, `method`, `interface`, `type`, `enum`, `const`, `struct`, `trait`, … */
  readonly kind: string
  readonly name: string
  /** The declaration's head (up to its body), whitespace collapsed. */
  readonly signature: string
  readonly startLine: number
  readonly endLine: number
  readonly exported: boolean
  readonly children: ReadonlyArray<CodeSymbol>
}

export interface CodeOutline {
  readonly imports: ReadonlyArray<string>
  readonly exports: ReadonlyArray<string>
  readonly symbols: ReadonlyArray<CodeSymbol>
  /** Lines where the parser recovered from a syntax error (first few). */
  readonly errorLines: ReadonlyArray<number>
  /** A package, module or namespace declaration, when the language has one. */
  readonly packageName?: string | undefined
  /** Set when the symbols come from inside a module wrapper (UMD, IIFE) starting on this line. */
  readonly wrapperLine?: number | undefined
}

/** What summarising a file produced. */
export interface FileSummary {
  readonly fileType: FileType
  /** The rendered summary, within the budget. */
  readonly text: string
  /** Set when the type's parser failed and the generic text summary stands in, with the reason. */
  readonly degraded?: string | undefined
  /** A source file's outline, when its parser gave one. */
  readonly outline?: CodeOutline | undefined
}

/**
 * Thrown by a summariser when its parser rejects the file; the dispatcher then falls back to the
 * generic summary and reports `reason`.
 */
export class Unparseable extends Error {
  constructor(readonly reason: string) {
    super(reason)
  }
}
