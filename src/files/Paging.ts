/**
 * How the model reads a stored file back: `describe file_…` (the summary and how to read on) and
 * `expand file_…` (the content a page at a time, with line numbers, within a token cap; a cursor
 * position continues it; `symbol=Name.member` confines it to one declaration's lines). Pure
 * functions over the content: the memory tools fetch the content, check the caller may see it,
 * encode their own cursors, and call these.
 *
 * @since 0.1.0
 */
import type { FileReference } from "../Domain.js"
import * as Outline from "./code/Outline.js"
import { num, plural } from "./Digest.js"
import { splitLines } from "./Lines.js"
import { type Count, isCodeType } from "./types.js"

/** Where a page starts: a 1-based line, and inside a very long line the character to resume at. */
export interface PagePosition {
  readonly line: number
  readonly column?: number | undefined
}

/** One page of a file's lines. */
export interface FilePage {
  /** The lines, each as `  12│ text`. */
  readonly text: string
  readonly firstLine: number
  /** The last line shown (perhaps only its beginning, when `next` continues inside it). */
  readonly lastLine: number
  readonly totalLines: number
  /** Where the next page starts; absent when the file (or the requested range) is done. */
  readonly next?: PagePosition | undefined
}

export interface PageRequest {
  readonly from?: PagePosition | undefined
  /** Last line of the range to page (inclusive); the file's end by default. */
  readonly toLine?: number | undefined
  readonly maxTokens: number
  readonly count: Count
  /**
   * When `lines` is a window of a longer file: the number of its first line (default 1) and the
   * file's line count (default: the window's end). Lines past the window end the page there.
   */
  readonly firstLine?: number | undefined
  readonly totalLines?: number | undefined
}

/** Tokens a page keeps for itself even when the budget is tiny: one line always fits in part. */
const MIN_PAGE_TOKENS = 20

/** The most characters `k` of `text` whose rendering `render(k)` fits `tokens` (bisection), at least one. */
const fitPrefix = (text: string, tokens: number, count: Count, render: (k: number) => string): number => {
  let low = 0
  let high = text.length
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (count(render(mid)) <= tokens) low = mid
    else high = mid - 1
  }
  return Math.max(1, low)
}

/** Lines of `lines` from `request.from`, numbered, as many as fit `request.maxTokens`. */
export const pageLines = (lines: ReadonlyArray<string>, request: PageRequest): FilePage => {
  const offset = (request.firstLine ?? 1) - 1
  const totalLines = request.totalLines ?? offset + lines.length
  const last = Math.min(request.toLine ?? totalLines, totalLines, offset + lines.length)
  const first = Math.max(1, request.from?.line ?? 1)
  const width = String(Math.max(totalLines, 1)).length
  const number = (n: number) => `${String(n).padStart(width)}│ `
  const budget = Math.max(MIN_PAGE_TOKENS, request.maxTokens)
  const out: Array<string> = []
  let used = 0
  let next: PagePosition | undefined
  let shownLast = first - 1
  for (let n = first; n <= last; n++) {
    const column = n === first ? request.from?.column ?? 0 : 0
    const body = lines[n - 1 - offset]!.slice(column)
    const prefix = `${number(n)}${column > 0 ? "…" : ""}`
    const cost = request.count(prefix + body) + 1
    if (used + cost <= budget) {
      out.push(prefix + body)
      used += cost
      shownLast = n
      continue
    }
    if (out.length > 0) {
      next = { line: n }
      break
    }
    // A single line longer than the page: its beginning now, the rest on the next page.
    const piece = (k: number) => `${prefix}${body.slice(0, k)}…`
    const fits = fitPrefix(body, budget, request.count, piece)
    out.push(piece(fits))
    shownLast = n
    next = fits < body.length ? { line: n, column: column + fits } : n < last ? { line: n + 1 } : undefined
    break
  }
  // The window ended before the range and the budget did: the next page starts after it.
  if (next === undefined && shownLast === last && last < Math.min(request.toLine ?? totalLines, totalLines)) {
    next = { line: last + 1 }
  }
  // Counts of lines do not add up exactly to the count of their join: trim until it fits.
  while (out.length > 1 && request.count(out.join("\n")) > budget) {
    out.pop()
    shownLast--
    next = { line: shownLast + 1 }
  }
  return {
    text: out.join("\n"),
    firstLine: first,
    lastLine: shownLast,
    totalLines,
    ...(next === undefined ? {} : { next })
  }
}

// ---------------------------------------------------------------------------------------------
// expand file_…
// ---------------------------------------------------------------------------------------------

/** What a `symbol=` lookup searches: declarations with their line spans (a parser's outline, or the stored one). */
export interface SymbolOutline {
  readonly symbols: ReadonlyArray<Outline.SymbolSpan>
}

type ExpandReference = Pick<FileReference, "id" | "path" | "fileType" | "tokenCount">

/** The part of a file one `expand` reads: a line range (a whole file, or one symbol). */
export type ExpandPlan =
  | {
    readonly _tag: "Range"
    readonly reference: ExpandReference
    /** Where the page starts. */
    readonly from: PagePosition
    /** Whether the request continued an earlier page (a cursor). */
    readonly continued: boolean
    /** Last line of the range (inclusive), when it is a symbol's. */
    readonly toLine?: number | undefined
    /** `Class.method`, when the range is a symbol's. */
    readonly symbol?: string | undefined
    /** Said in the page's header: `, method Class.method (lines 12–40)`. */
    readonly label: string
  }
  | { readonly _tag: "UnknownSymbol"; readonly candidates: ReadonlyArray<string>; readonly text: string }
  | { readonly _tag: "NotText"; readonly text: string }

export type ExpandFileResult =
  | {
    readonly _tag: "Page"
    readonly page: FilePage
    readonly text: string
    readonly symbol?: string | undefined
  }
  | Exclude<ExpandPlan, { readonly _tag: "Range" }>

const defaultContinue = (next: PagePosition): string =>
  `expand again from line ${next.line}${next.column === undefined ? "" : `, column ${next.column}`}`

const CANDIDATES_SHOWN = 30

/**
 * Which lines an `expand` reads: the file from `from` (line 1 by default), or — with `symbol` —
 * that declaration's lines (a cursor inside them continues it). Decided before any line is read,
 * so only the lines of one page need to be fetched.
 */
export const planExpand = (request: {
  readonly reference: ExpandReference
  /** The symbols, needed for `symbol` (absent: the file has no outline). */
  readonly outline?: SymbolOutline | undefined
  /** `Name`, `Outer.inner`, or a member name only one symbol has. */
  readonly symbol?: string | undefined
  readonly from?: PagePosition | undefined
  /** Whether `from` continues an earlier page (default: whenever `from` is given). */
  readonly continued?: boolean | undefined
}): ExpandPlan => {
  const { reference } = request
  if (reference.fileType === "binary" || reference.fileType === "sqlite") {
    return {
      _tag: "NotText",
      text:
        `${reference.id} (${reference.path}) is a ${
          reference.fileType === "sqlite" ? "SQLite database" : "binary file"
        }: ` +
        `its bytes are not shown; describe("${reference.id}") gives its summary`
    }
  }
  const continued = request.continued ?? request.from !== undefined
  if (request.symbol === undefined || request.symbol.trim() === "") {
    return { _tag: "Range", reference, from: request.from ?? { line: 1 }, continued, label: "" }
  }
  const match = request.outline === undefined
    ? { _tag: "NotFound" as const, suggestions: [] }
    : Outline.findSymbol(request.outline.symbols, request.symbol)
  if (match._tag !== "Found") {
    const candidates = match._tag === "Ambiguous" ? match.candidates : match.suggestions
    const why = request.outline === undefined
      ? `${reference.path} has no symbol outline (type ${reference.fileType}); page it by lines instead`
      : match._tag === "Ambiguous"
      ? `"${request.symbol}" names several symbols; pick one`
      : `no symbol "${request.symbol}" in ${reference.path}`
    const list = candidates.length === 0
      ? ""
      : `\nsymbols: ${candidates.slice(0, CANDIDATES_SHOWN).join(", ")}${
        candidates.length > CANDIDATES_SHOWN ? `, … ${num(candidates.length - CANDIDATES_SHOWN)} more` : ""
      }`
    return { _tag: "UnknownSymbol", candidates, text: `${why}${list}` }
  }
  const { startLine, endLine } = match.symbol
  // A cursor inside the symbol continues it; otherwise start at its first line.
  const from = request.from === undefined || request.from.line < startLine || request.from.line > endLine
    ? { line: startLine }
    : request.from
  return {
    _tag: "Range",
    reference,
    from,
    continued,
    toLine: endLine,
    symbol: match.path,
    label: `, ${match.symbol.kind} ${match.path} (lines ${startLine}–${endLine})`
  }
}

/**
 * The lines a page of `plan` can show at most: every numbered line costs at least a token, so a
 * page of `maxTokens` never needs more (fetch these, not the file).
 */
export const pageWindow = (
  plan: Extract<ExpandPlan, { readonly _tag: "Range" }>,
  maxTokens: number,
  totalLines: number
): { readonly first: number; readonly last: number } => {
  const first = plan.from.line
  const last = Math.min(plan.toLine ?? totalLines, totalLines, first + Math.max(MIN_PAGE_TOKENS, maxTokens))
  return { first, last }
}

/** One page of a planned range as the model reads it: header, numbered lines, how to continue. */
export const renderPage = (
  plan: Extract<ExpandPlan, { readonly _tag: "Range" }>,
  window: {
    /** Lines from `firstLine` on (at least those of {@link pageWindow}, or the whole file). */
    readonly lines: ReadonlyArray<string>
    readonly firstLine: number
    readonly totalLines: number
  },
  options: {
    readonly maxTokens: number
    readonly count: Count
    /** How the answer tells the model to continue (the tool encodes its own cursor). */
    readonly continueWith?: ((next: PagePosition) => string) | undefined
  }
): Extract<ExpandFileResult, { readonly _tag: "Page" }> => {
  const { reference } = plan
  const { count, maxTokens } = options
  const { totalLines } = window
  const continueWith = options.continueWith ?? defaultContinue
  const header = (page: FilePage) =>
    `expand ${reference.id}: ${reference.path} (${reference.fileType}, ${
      plural(page.totalLines, "line")
    })${plan.label}; ` +
    (page.lastLine < page.firstLine
      ? "nothing left"
      : `lines ${page.firstLine}–${page.lastLine}${plan.continued ? " (continued)" : ""}`)
  const footer = (page: FilePage) =>
    page.next === undefined
      ? (plan.symbol === undefined ? "(end of file)" : "(end of symbol)")
      : `more: ${continueWith(page.next)}`
  // The frame is costed with a sample page, then the lines get the rest.
  const sample = {
    firstLine: 1,
    lastLine: totalLines,
    totalLines,
    text: "",
    next: { line: totalLines, column: 99_999 }
  }
  const frame = count(`${header(sample)}\n\n\n\n${footer(sample)}`) + 4
  let budget = Math.max(MIN_PAGE_TOKENS, maxTokens - frame)
  for (;;) {
    const page = pageLines(window.lines, {
      from: plan.from,
      toLine: plan.toLine,
      maxTokens: budget,
      count,
      firstLine: window.firstLine,
      totalLines
    })
    const text = `${header(page)}\n\n${page.text}\n\n${footer(page)}`
    if (count(text) <= maxTokens || budget <= MIN_PAGE_TOKENS) {
      return { _tag: "Page", page, text, ...(plan.symbol === undefined ? {} : { symbol: plan.symbol }) }
    }
    budget = Math.max(MIN_PAGE_TOKENS, Math.floor(budget * 0.9))
  }
}

export interface ExpandFileRequest {
  readonly reference: ExpandReference
  /** The file's full text. */
  readonly content: string
  /** The symbols, needed for `symbol` (a parser's outline: see `Summarize.codeOutline`). */
  readonly outline?: SymbolOutline | undefined
  readonly symbol?: string | undefined
  readonly from?: PagePosition | undefined
  readonly maxTokens: number
  readonly count: Count
  readonly continueWith?: ((next: PagePosition) => string) | undefined
}

/** One page of a file whose whole text is at hand ({@link planExpand} then {@link renderPage}). */
export const expandFile = (request: ExpandFileRequest): ExpandFileResult => {
  const plan = planExpand(request)
  if (plan._tag !== "Range") return plan
  const lines = splitLines(request.content)
  return renderPage(plan, { lines, firstLine: 1, totalLines: lines.length }, request)
}

// ---------------------------------------------------------------------------------------------
// describe file_…
// ---------------------------------------------------------------------------------------------

/** What `describe file_…` answers: the file's facts, its summary, and how to read it. */
export const describeFile = (
  reference: Pick<FileReference, "id" | "path" | "fileType" | "tokenCount" | "summary">,
  facts: { readonly lines?: number | undefined; readonly bytes?: number | undefined } = {}
): string => {
  const sizes = [
    ...(facts.lines === undefined ? [] : [plural(facts.lines, "line")]),
    ...(facts.bytes === undefined ? [] : [`${num(facts.bytes)} bytes`]),
    `${num(reference.tokenCount)} tokens`
  ].join(", ")
  const readable = reference.fileType !== "binary" && reference.fileType !== "sqlite"
  const how = !readable
    ? "Its bytes are not shown in the context."
    : `Read it: expand("${reference.id}") pages the content with line numbers` +
      (isCodeType(reference.fileType)
        ? `; expand("${reference.id}", symbol="Name" or "Class.method") reads one declaration.`
        : ".")
  return [
    `${reference.id}: file ${reference.path} (${reference.fileType}), ${sizes}`,
    "summary:",
    reference.summary,
    how
  ]
    .join("\n")
}
