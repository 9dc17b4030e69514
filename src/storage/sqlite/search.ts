/**
 * Full-text search on SQLite: an FTS5 table whose rowid is the part's rowid. The index is brought
 * up to date in batches just before a search (indexing every part as it is written costs more than
 * the rest of an append); `search_state.indexed_upto` is the last part rowid indexed. A tool result
 * written to a part already indexed is re-indexed in the same transaction (`partChanged`).
 *
 * @internal
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import type { Row } from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Effect, Either, Schema } from "effect"
import type { SessionId } from "../../Domain.js"
import type { ScanQuery, SearchQuery } from "../../Storage.js"
import type { Search } from "../Dialect.js"
import { makeTag, type Program, Raw } from "../Program.js"
import { decodeAll, type Rows } from "../rows.js"
import { buildMatchQuery } from "./searchQuery.js"

/** The searchable text of a part row: its text, a tool's name, input and result, a file's path and summary. */
export const searchBody = (row: string) =>
  `CASE ${row}.type
    WHEN 'tool' THEN ${row}.tool_name || char(10) || coalesce(json_extract(${row}.content, '$.input'), '')
      || char(10) || coalesce(${row}.tool_output, '') || char(10) || coalesce(${row}.tool_error, '')
    WHEN 'file_ref' THEN json_extract(${row}.content, '$.path') || char(10) || json_extract(${row}.content, '$.fileId')
      || char(10) || json_extract(${row}.content, '$.summary')
    ELSE coalesce(json_extract(${row}.content, '$.text'), '')
  END`

const SEARCHABLE = `('text', 'reasoning', 'tool', 'file_ref')`

/** Runs a statement (see storage/Program.ts `makeRun`). */
export type Run = (statement: Statement.Statement<Row>) => Effect.Effect<ReadonlyArray<Row>, SqlError>

const StateRow = Schema.Struct({ upto: Schema.Int, last: Schema.NullOr(Schema.Int) })
const decodeState = decodeAll(StateRow)

export const make = (sql: SqlClient, rows: Rows, run: Run): Search => {
  /** Indexes the parts written since the last search, in one transaction. */
  const catchUp = Effect.gen(function*() {
    const [state] = yield* Effect.flatMap(
      run(
        sql`SELECT indexed_upto AS upto, (SELECT max(rowid) FROM parts) AS last FROM search_state WHERE id = 1`
      ),
      decodeState
    )
    if (state === undefined || state.last === null || state.last <= state.upto) return
    yield* sql.withTransaction(Effect.gen(function*() {
      // read again under the write lock: another connection may have indexed meanwhile
      const [locked] = yield* Effect.flatMap(
        run(sql`SELECT indexed_upto AS upto, NULL AS last FROM search_state WHERE id = 1`),
        decodeState
      )
      const from = locked?.upto ?? state.upto
      yield* run(sql`INSERT INTO search_index (rowid, body, session_id, message_id)
        SELECT p.rowid, ${sql.literal(searchBody("p"))}, p.session_id, p.message_id FROM parts p
        WHERE p.rowid > ${from} AND p.type IN ${sql.literal(SEARCHABLE)}`)
      yield* run(sql`UPDATE search_state SET indexed_upto = (SELECT coalesce(max(rowid), ${from}) FROM parts)
        WHERE id = 1`)
    }))
  })

  const seqFilter = (range: readonly [number, number] | undefined) =>
    range === undefined ? sql.literal("") : sql`AND m.seq BETWEEN ${range[0]} AND ${range[1]}`

  const decodeHits = decodeAll(rows.HitRow)
  const decodeScanned = decodeAll(rows.ScanRow)

  const search = (q: SearchQuery) => {
    const match = buildMatchQuery(q.text, q.sessionIds)
    if (match === undefined || q.sessionIds.length === 0) return Effect.succeed([])
    return catchUp.pipe(
      Effect.zipRight(run(sql`SELECT s.rowid AS position, s.session_id, s.message_id,
          p.id AS part_id, m.seq, m.role, m.is_summary, n.id AS summary_id,
          snippet(search_index, 0, '[', ']', '…', 24) AS snippet
        FROM search_index s
        JOIN parts p ON p.rowid = s.rowid
        JOIN messages m ON m.id = s.message_id
        LEFT JOIN summary_nodes n ON n.message_id = m.id
        WHERE search_index MATCH ${match} AND s.rowid > ${q.after ?? 0} ${seqFilter(q.seqRange)}
        ORDER BY s.rowid
        LIMIT ${q.limit}`)),
      Effect.flatMap(decodeHits),
      Effect.map((hits) => hits.map(rows.toHit))
    )
  }

  const scan = (q: ScanQuery) =>
    q.sessionIds.length === 0 ?
      Effect.succeed([]) :
      run(sql`SELECT p.rowid AS position, p.session_id, p.message_id,
        p.id AS part_id, m.seq, m.role, m.is_summary, n.id AS summary_id, ${
        sql.literal(searchBody("p"))
      } AS text
      FROM parts p
      JOIN messages m ON m.id = p.message_id
      LEFT JOIN summary_nodes n ON n.message_id = m.id
      WHERE ${
        q.sessionIds.length === 1
          ? sql`p.session_id = ${q.sessionIds[0]!}`
          : sql`p.session_id IN (SELECT value FROM json_each(${JSON.stringify(q.sessionIds)}))`
      }
        AND p.rowid > ${q.after ?? 0} AND p.type IN ${sql.literal(SEARCHABLE)}
        ${seqFilter(q.seqRange)}
      ORDER BY p.rowid
      LIMIT ${q.limit}`).pipe(
        Effect.flatMap(decodeScanned),
        Effect.map((hits) => hits.map(rows.toScanned))
      )

  const stmt = makeTag(sql)
  const SEARCH_BODY = new Raw(searchBody("p"))
  // Only a part the catch-up already passed needs its row replaced; later ones are indexed as they are.
  function* partChanged(partId: string): Program<void, never> {
    yield stmt`DELETE FROM search_index WHERE rowid = (SELECT p.rowid FROM parts p, search_state s
      WHERE p.id = ${partId} AND s.id = 1 AND p.rowid <= s.indexed_upto)`
    yield stmt`INSERT INTO search_index (rowid, body, session_id, message_id)
      SELECT p.rowid, ${SEARCH_BODY}, p.session_id, p.message_id FROM parts p, search_state s
      WHERE p.id = ${partId} AND s.id = 1 AND p.rowid <= s.indexed_upto`
    return Either.right(undefined)
  }

  const forget = (sessionIds: ReadonlyArray<SessionId>) =>
    run(sql`DELETE FROM search_index WHERE rowid IN (
      SELECT rowid FROM parts WHERE session_id IN (SELECT value FROM json_each(${
      JSON.stringify(sessionIds)
    })))`)
      .pipe(Effect.asVoid)

  return { search, scan, partChanged, forget }
}
