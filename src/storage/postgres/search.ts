/**
 * Full-text search on PostgreSQL: a GIN index over `to_tsvector` of each part's searchable text
 * (migrations.ts), which PostgreSQL keeps up to date as parts are written and tool results set —
 * no search table, no catch-up, nothing to forget on deletion. The `simple` configuration lowercases
 * words and keeps them whole (no stemming, no stop words), like SQLite's `unicode61`; PostgreSQL's
 * parser keeps paths, file names and e-mail addresses as one word, so a query for them matches
 * them whole. Snippets come from `ts_headline`, on the hits only.
 *
 * Positions are the parts' identity column `pos`, their writing order: the writes of one session
 * hold its row lock, so within a session positions also follow commit order.
 *
 * @internal
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import type { Row } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Effect, Either } from "effect"
import type { ScanQuery, SearchQuery } from "../../Storage.js"
import type { Search } from "../Dialect.js"
import type { Program } from "../Program.js"
import { decodeAll, type Rows } from "../rows.js"
import { toPostgresRegex } from "./regex.js"

/** The text search configuration of the index and of every query. */
export const SEARCH_CONFIG = "simple"

/**
 * The searchable text of a part (the body of the SQL function `mnesis_search_body`): its text, a
 * tool's name, input and result, a file's path, id and summary.
 */
export const searchBody = `CASE p_type
    WHEN 'tool' THEN coalesce(p_tool_name, '') || chr(10) || coalesce(p_content ->> 'input', '')
      || chr(10) || coalesce(p_tool_output, '') || chr(10) || coalesce(p_tool_error, '')
    WHEN 'file_ref' THEN coalesce(p_content ->> 'path', '') || chr(10) || coalesce(p_content ->> 'fileId', '')
      || chr(10) || coalesce(p_content ->> 'summary', '')
    ELSE coalesce(p_content ->> 'text', '')
  END`

/** A part row's searchable text (the row aliased `p`). */
export const BODY = "mnesis_search_body(p.type, p.content, p.tool_name, p.tool_output, p.tool_error)"

/** The indexed expression: queries repeat it exactly, so that the planner uses the index. */
export const SEARCH_VECTOR = `to_tsvector('${SEARCH_CONFIG}', mnesis_search_body(type, content, tool_name,
      tool_output, tool_error))`
const ROW_VECTOR = `to_tsvector('${SEARCH_CONFIG}', ${BODY})`

const SEARCHABLE = `('text', 'reasoning', 'tool', 'file_ref')`

/** Milliseconds a page of a regex-filtered scan may take before the scan reads the page unfiltered. */
const REGEX_TIMEOUT_MS = 2_000

/** A bad regular expression (2201B) or a cancelled statement (57014): the scan reads unfiltered. */
const filterFailed = (error: unknown): error is SqlError =>
  error instanceof SqlError && typeof error.cause === "object" && error.cause !== null &&
  "code" in error.cause && (error.cause.code === "2201B" || error.cause.code === "57014")

/** Runs a statement (see storage/Program.ts `makeRun`). */
export type Run = (statement: Statement.Statement<Row>) => Effect.Effect<ReadonlyArray<Row>, SqlError>

const WORD = /[\p{L}\p{N}\p{M}]+/gu

/** A query term: a phrase (quoted, or one unquoted word) or a word prefix (`zeb*`). */
export interface Term {
  readonly text: string
  readonly prefix: boolean
}

/**
 * The terms of free text: `"quoted phrases"` stay together, other runs split on whitespace; a
 * term without a letter or digit is left out (it could match nothing), and so is every NUL
 * (PostgreSQL's text cannot hold one). Whatever the user typed, terms reach PostgreSQL as the
 * plain-text argument of `phraseto_tsquery` (which has no syntax) or as one quoted word.
 */
export const terms = (text: string): Array<Term> => {
  const out: Array<Term> = []
  for (const match of text.replaceAll("\u0000", "").matchAll(/"([^"]*)"|(\S+)/g)) {
    const raw = match[1] ?? match[2] ?? ""
    const words = raw.match(WORD) ?? []
    if (words.length === 0) continue
    const prefix = match[1] === undefined && raw.endsWith("*") && words.length === 1
    out.push({ text: prefix ? words[0].toLowerCase() : raw, prefix })
  }
  return out
}

export const make = (sql: SqlClient, rows: Rows, run: Run): Search => {
  const decodeHits = decodeAll(rows.HitRow)
  const decodeScanned = decodeAll(rows.ScanRow)

  const seqFilter = (range: readonly [number, number] | undefined) =>
    range === undefined ? sql.literal("") : sql`AND m.seq BETWEEN ${range[0]} AND ${range[1]}`

  const inSessions = (ids: ReadonlyArray<string>) =>
    ids.length === 1
      ? sql`p.session_id = ${ids[0]!}`
      : sql`p.session_id IN (SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`

  const tsquery = (found: ReadonlyArray<Term>) =>
    sql.join(" && ", false)(
      found.map((term) =>
        term.prefix
          ? sql`to_tsquery(${sql.literal(`'${SEARCH_CONFIG}'`)}, ${`'${term.text}':*`})`
          : sql`phraseto_tsquery(${sql.literal(`'${SEARCH_CONFIG}'`)}, ${term.text})`
      )
    )

  const search = (q: SearchQuery) => {
    const found = terms(q.text)
    if (found.length === 0 || q.sessionIds.length === 0) return Effect.succeed([])
    return run(sql`WITH q AS (SELECT ${tsquery(found)} AS query)
      SELECT p.pos AS position, p.session_id, p.message_id, p.id AS part_id, m.seq, m.role, m.is_summary,
        n.id AS summary_id,
        ts_headline(${sql.literal(`'${SEARCH_CONFIG}'`)}, ${sql.literal(BODY)}, q.query,
          'StartSel=[, StopSel=], MinWords=12, MaxWords=24, MaxFragments=1, FragmentDelimiter=" … "') AS snippet
      FROM q, parts p
      JOIN messages m ON m.id = p.message_id
      LEFT JOIN summary_nodes n ON n.message_id = m.id
      WHERE ${sql.literal(ROW_VECTOR)} @@ q.query AND p.type IN ${sql.literal(SEARCHABLE)}
        AND ${inSessions(q.sessionIds)} AND p.pos > ${q.after ?? 0} ${seqFilter(q.seqRange)}
      ORDER BY p.pos
      LIMIT ${q.limit}`).pipe(
      Effect.flatMap(decodeHits),
      Effect.map((hits) => hits.map(rows.toHit))
    )
  }

  const scanPage = (q: ScanQuery, regex: string | undefined) =>
    run(sql`SELECT p.pos AS position, p.session_id, p.message_id, p.id AS part_id, m.seq, m.role,
        m.is_summary, n.id AS summary_id, ${sql.literal(BODY)} AS text
      FROM parts p
      JOIN messages m ON m.id = p.message_id
      LEFT JOIN summary_nodes n ON n.message_id = m.id
      WHERE ${inSessions(q.sessionIds)} AND p.pos > ${q.after ?? 0} AND p.type IN ${sql.literal(SEARCHABLE)}
        ${seqFilter(q.seqRange)}
        ${regex === undefined ? sql.literal("") : sql`AND ${sql.literal(BODY)} ~* ${regex}`}
      ORDER BY p.pos
      LIMIT ${q.limit}`)

  /**
   * A page of texts. With a pattern PostgreSQL can run, only the texts its regex operator matches,
   * under a statement timeout of their own; a pattern it refuses, or a page that takes longer,
   * is read unfiltered (the caller matches every text anyway).
   */
  const scan = (q: ScanQuery) => {
    if (q.sessionIds.length === 0) return Effect.succeed([])
    const regex = q.pattern === undefined ? undefined : toPostgresRegex(q.pattern)
    const page = regex === undefined ? scanPage(q, undefined) : sql.withTransaction(
      Effect.zipRight(
        run(sql`SET LOCAL statement_timeout = ${sql.literal(String(REGEX_TIMEOUT_MS))}`),
        scanPage(q, regex)
      )
    ).pipe(Effect.catchIf(filterFailed, () => scanPage(q, undefined)))
    return page.pipe(
      Effect.flatMap(decodeScanned),
      Effect.map((hits) => hits.map(rows.toScanned))
    )
  }

  // The index follows the parts' rows: a changed tool result and a deleted part need nothing more.

  function* partChanged(_partId: string): Program<void, never> {
    return Either.right(undefined)
  }

  return { search, scan, partChanged, forget: () => Effect.void }
}
