/**
 * SQL scripts. A small lexer splits the script into statements (quotes, quoted identifiers,
 * comments, Postgres dollar quotes and trigger bodies respected) and classifies each by its
 * leading keywords; the CREATE TABLE / VIEW / INDEX statements are then parsed by `sql-parser-cst`
 * (a real SQL grammar for SQLite, PostgreSQL, MySQL/MariaDB and BigQuery, no dependencies), one at
 * a time, so one statement in a dialect it does not know costs that statement only.
 *
 * @since 0.1.0
 */
import { type DialectName, parse, type Program } from "sql-parser-cst"
import { clip, num, plural } from "../Digest.js"
import { lineIndex } from "../Lines.js"
import type { Digest, Item } from "../types.js"

/** One statement of the script: where it starts and its text (comments included). */
export interface Statement {
  readonly start: number
  readonly text: string
}

const isWordChar = (c: string): boolean => /[A-Za-z0-9_$]/.test(c)

/** Splits `sql` at the semicolons that end statements. */
export const splitStatements = (sql: string): Array<Statement> => {
  const out: Array<Statement> = []
  let start = 0
  let depth = 0 // BEGIN … END of a trigger body
  let i = 0
  const push = (end: number) => {
    const text = sql.slice(start, end)
    if (stripComments(text).trim() !== "") out.push({ start, text })
    start = end + 1
    depth = 0
  }
  while (i < sql.length) {
    const c = sql[i]!
    const next = sql[i + 1]
    if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i)
      i = end === -1 ? sql.length : end + 1
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2)
      i = end === -1 ? sql.length : end + 2
    } else if (c === "'" || c === "\"" || c === "`") {
      // A doubled quote inside is an escaped quote: the scan simply continues past it.
      let j = i + 1
      while (j < sql.length && sql[j] !== c) j += sql[j] === "\\" && c === "'" ? 2 : 1
      i = j + 1
    } else if (c === "[" && (i === 0 || !isWordChar(sql[i - 1]!))) {
      const end = sql.indexOf("]", i)
      i = end === -1 ? sql.length : end + 1
    } else if (c === "$" && (i === 0 || !isWordChar(sql[i - 1]!))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64))?.[0]
      if (tag === undefined) {
        i++
      } else {
        const end = sql.indexOf(tag, i + tag.length)
        i = end === -1 ? sql.length : end + tag.length
      }
    } else if (isWordChar(c) && (i === 0 || !isWordChar(sql[i - 1]!))) {
      let j = i
      while (j < sql.length && isWordChar(sql[j]!)) j++
      const word = sql.slice(i, j).toUpperCase()
      if (word === "BEGIN" && /^\s*CREATE\b[\s\S]*\bTRIGGER\b/i.test(stripComments(sql.slice(start, i)))) {
        depth++
      } else if (word === "CASE" && depth > 0) depth++
      else if (word === "END" && depth > 0) depth--
      i = j
    } else if (c === ";" && depth === 0) {
      push(i)
      i++
    } else {
      i++
    }
  }
  if (start < sql.length) push(sql.length)
  return out
}

const stripComments = (text: string): string => text.replace(/--[^\n]*|\/\*[\s\S]*?(\*\/|$)/g, " ")

const SKIPPED = new Set([
  "OR",
  "REPLACE",
  "TEMP",
  "TEMPORARY",
  "UNIQUE",
  "IF",
  "NOT",
  "EXISTS",
  "VIRTUAL",
  "MATERIALIZED",
  "UNLOGGED",
  "GLOBAL",
  "LOCAL",
  "RECURSIVE",
  "DEFINER"
])

/** `CREATE TABLE`, `CREATE INDEX`, `INSERT`, `SELECT`, … from the statement's first words. */
export const statementKind = (text: string): string => {
  const words = stripComments(text).trim().split(/[\s(;]+/).slice(0, 8).map((w) => w.toUpperCase())
  const first = words[0] ?? ""
  if (first === "CREATE" || first === "ALTER" || first === "DROP") {
    const object = words.slice(1).find((w) => !SKIPPED.has(w) && !w.startsWith("DEFINER="))
    return object === undefined ? first : `${first} ${object}`
  }
  return first === "WITH" ? "WITH … (query)" : first
}

const DIALECTS: ReadonlyArray<DialectName> = ["sqlite", "postgresql", "mysql", "bigquery"]
/** CREATE statements parsed per file: beyond it, only counted. */
const MAX_PARSED = 2_000

/** The statement parsed by the first dialect that accepts it, or the first dialect's error. */
const parseStatement = (text: string): Program | { readonly error: string } => {
  let firstError: string | undefined
  for (const dialect of DIALECTS) {
    try {
      return parse(text, { dialect, includeRange: true })
    } catch (error) {
      firstError ??= error instanceof Error ? error.message.split("\n")[0] ?? "syntax error" : String(error)
    }
  }
  return { error: firstError ?? "syntax error" }
}

const slice = (text: string, range: [number, number] | undefined): string =>
  range === undefined ? "?" : clip(text.slice(range[0], range[1]).replace(/\s+/g, " ").trim(), 160)

interface Found {
  readonly tables: Array<Item>
  readonly views: Array<Item>
  readonly indexes: Array<Item>
}

const collect = (program: Program, text: string, line: number, found: Found): void => {
  for (const statement of program.statements) {
    switch (statement.type) {
      case "create_table_stmt": {
        const columns: Array<Item> = []
        let constraints = 0
        for (const item of statement.columns?.expr.items ?? []) {
          if (item.type === "column_definition") columns.push({ text: slice(text, item.range) })
          else constraints++
        }
        const extra = constraints === 0 ? "" : `, ${plural(constraints, "table constraint")}`
        const shape = statement.columns === undefined
          ? "(created from a query)"
          : `(${plural(columns.length, "column")}${extra})`
        found.tables.push({
          text: `L${line} ${slice(text, statement.name.range)} ${shape}`,
          children: columns
        })
        break
      }
      case "create_view_stmt":
        found.views.push({ text: `L${line} ${slice(text, statement.name.range)}` })
        break
      case "create_index_stmt":
        found.indexes.push({
          text:
            `L${line} ${statement.name === undefined ? "(unnamed)" : slice(text, statement.name.range)} ON ` +
            `${slice(text, statement.table.range)} ${slice(text, statement.columns.range)}`
        })
        break
    }
  }
}

export const digest = (sql: string): Digest => {
  const statements = splitStatements(sql)
  const line = lineIndex(sql)
  const kinds = new Map<string, number>()
  const found: Found = { tables: [], views: [], indexes: [] }
  const failed: Array<string> = []
  let parsed = 0
  for (const statement of statements) {
    const kind = statementKind(statement.text)
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
    if (kind !== "CREATE TABLE" && kind !== "CREATE VIEW" && kind !== "CREATE INDEX") continue
    if (parsed++ >= MAX_PARSED) continue
    // The statement's line is where its first keyword is, past leading blank lines and comments.
    const lead = statement.text.length - statement.text.replace(/^(\s|--[^\n]*|\/\*[\s\S]*?\*\/)*/, "").length
    const at = line(statement.start + lead)
    const result = parseStatement(statement.text)
    if ("error" in result) failed.push(`L${at}: ${clip(result.error, 120)}`)
    else collect(result, statement.text, at, found)
  }
  const counts = [...kinds].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([kind, n]) => n === 1 ? kind : `${kind} ×${num(n)}`)
  const notes = [
    ...(failed.length === 0
      ? []
      : [
        `${plural(failed.length, "CREATE statement")} could not be parsed (${failed.slice(0, 3).join("; ")})`
      ]),
    ...(parsed > MAX_PARSED ? [`only the first ${num(MAX_PARSED)} CREATE statements were parsed`] : [])
  ]
  return {
    headline: `SQL script, ${plural(statements.length, "statement")}${
      counts.length === 0 ? "" : `: ${counts.slice(0, 8).join(", ")}`
    }`,
    notes,
    sections: [
      { title: "Tables", items: found.tables },
      { title: "Views", items: found.views },
      { title: "Indexes", items: found.indexes }
    ]
  }
}
