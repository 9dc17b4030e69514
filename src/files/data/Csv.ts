/**
 * CSV and TSV through Papa Parse (RFC 4180 quoting: quoted delimiters, quotes and newlines inside
 * fields; no dependencies; the fastest of the maintained JS CSV parsers): the columns with the
 * kind of their values, the row count, and the first rows.
 *
 * @since 0.1.0
 */
import Papa from "papaparse"
import { clip, num, oneLine, plural } from "../Digest.js"
import { countLines } from "../Lines.js"
import { type Digest, type Item, Unparseable } from "../types.js"

type Kind = "empty" | "integer" | "number" | "boolean" | "date" | "text"

const INTEGER = /^[-+]?\d+$/
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/
const DATE = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[-+]\d{2}:?\d{2})?)?$/
/** Distinct values tracked per column (beyond it the count reads "over N"). */
const DISTINCT_CAP = 1_000

const kindOf = (cell: string): Kind => {
  const value = cell.trim()
  if (value === "") return "empty"
  if (INTEGER.test(value)) return "integer"
  if (NUMBER.test(value)) return "number"
  if (/^(true|false)$/i.test(value)) return "boolean"
  if (DATE.test(value)) return "date"
  return "text"
}

interface Column {
  readonly kinds: Set<Kind>
  readonly distinct: Set<string>
  empty: number
  min: number
  max: number
  example: string | undefined
}

const newColumn = (): Column => ({
  kinds: new Set(),
  distinct: new Set(),
  empty: 0,
  min: Infinity,
  max: -Infinity,
  example: undefined
})

const describeColumn = (name: string, column: Column, rows: number): Item => {
  const kinds = [...column.kinds].filter((k) => k !== "empty")
  const kind = kinds.length === 0
    ? "empty"
    : kinds.every((k) => k === "integer" || k === "number")
    ? (kinds.includes("number") ? "number" : "integer")
    : kinds.length === 1
    ? kinds[0]!
    : `mixed (${kinds.join(", ")})`
  const parts = [kind]
  if ((kind === "integer" || kind === "number") && column.min <= column.max) {
    parts.push(`${num(column.min)}..${num(column.max)}`)
  } else if (kind !== "empty") {
    const distinct = column.distinct.size >= DISTINCT_CAP
      ? `over ${num(DISTINCT_CAP)}`
      : num(column.distinct.size)
    parts.push(`${distinct} distinct`)
    if (column.example !== undefined) parts.push(`e.g. ${JSON.stringify(clip(column.example, 40))}`)
  }
  if (column.empty > 0 && column.empty < rows) parts.push(`${num(column.empty)} empty`)
  return { text: `${name}: ${parts.join(", ")}` }
}

/** A header row holds distinct names: no empty cell, no number, date or boolean, no repeat. */
const looksLikeHeader = (first: ReadonlyArray<string>): boolean =>
  first.every((cell) => kindOf(cell) === "text") && new Set(first).size === first.length

export const digest = (text: string, delimiter: "," | "\t"): Digest => {
  const label = delimiter === "," ? "CSV" : "TSV"
  const parsed = Papa.parse<Array<string>>(text, { delimiter, skipEmptyLines: "greedy" })
  const quoteError = parsed.errors.find((e) => e.type === "Quotes")
  if (quoteError !== undefined) {
    throw new Unparseable(`${label} quoting error at row ${(quoteError.row ?? 0) + 1}: ${quoteError.message}`)
  }
  const data = parsed.data
  if (data.length === 0) return { headline: `${label}, empty`, sections: [] }
  const hasHeader = looksLikeHeader(data[0]!)
  const width = Math.max(...data.slice(0, 1_000).map((row) => row.length))
  const header = hasHeader ? data[0]! : Array.from({ length: width }, (_, i) => `column ${i + 1}`)
  const rows = hasHeader ? data.slice(1) : data
  const columns = header.map(newColumn)
  let ragged = 0
  let firstRagged: number | undefined
  for (const [r, row] of rows.entries()) {
    if (row.length !== header.length) {
      ragged++
      firstRagged ??= r + (hasHeader ? 2 : 1)
    }
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!
      const cell = row[c] ?? ""
      const kind = kindOf(cell)
      column.kinds.add(kind)
      if (kind === "empty") {
        column.empty++
        continue
      }
      if (kind === "integer" || kind === "number") {
        const value = Number(cell)
        if (value < column.min) column.min = value
        if (value > column.max) column.max = value
      }
      if (column.distinct.size < DISTINCT_CAP) column.distinct.add(cell)
      column.example ??= cell
    }
  }
  const lines = countLines(text)
  const notes = [
    ...(hasHeader ? [] : ["no header row detected: columns are numbered"]),
    ...(ragged === 0
      ? []
      : [
        `${
          plural(ragged, "row")
        } have a different number of fields than the header (first: row ${firstRagged})`
      ]),
    ...(lines !== data.length
      ? [
        `${plural(lines, "line")} hold ${
          plural(data.length, "row")
        } (quoted fields span lines, or blank lines were skipped)`
      ]
      : [])
  ]
  return {
    headline: `${label}, ${plural(rows.length, "data row")} × ${plural(header.length, "column")}`,
    notes,
    sections: [
      {
        title: "Columns",
        items: header.map((name, i) => describeColumn(clip(name, 60), columns[i]!, rows.length))
      },
      {
        title: "First rows",
        items: rows.slice(0, 3).map((row) => ({
          text: clip(row.map((cell) => clip(oneLine(cell), 40)).join(" | "))
        }))
      }
    ]
  }
}
