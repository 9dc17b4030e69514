/**
 * What differs between the databases the store runs on, and nothing else: how column values come
 * back from the driver, how a list of ids becomes a table, and full-text search. The store's rules
 * (SqlStore.ts) are written once over `SqlClient` and ask a dialect for these pieces; each backend
 * module (`sqlite/`, later `postgres/`) builds its own.
 *
 * @internal
 */
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import type { Effect, ParseResult, Schema } from "effect"
import type { SessionId } from "../Domain.js"
import type { ScannedText, ScanQuery, SearchHit, SearchQuery } from "../Storage.js"
import type { Program } from "./Program.js"

/** Decoders of column values as the driver returns them. */
export interface Columns {
  /** A boolean column (SQLite stores 0/1). */
  readonly Bool: Schema.Schema<boolean, unknown>
  /** A JSON column holding an object or an array (SQLite stores it as text), decoded by `schema`. */
  readonly Json: <A, I>(schema: Schema.Schema<A, I>) => Schema.Schema<A, unknown>
}

/** Failures a dialect's statements may report (driver errors and rows that do not decode). */
export type DialectError = SqlError | ParseResult.ParseError

/** Full-text search over the searchable text of parts. */
export interface Search {
  /** Hits in writing order, after `query.after`; brings the index up to date first if it lags. */
  readonly search: (query: SearchQuery) => Effect.Effect<ReadonlyArray<SearchHit>, DialectError>
  /** The searchable text of parts in writing order (for regular expressions). */
  readonly scan: (query: ScanQuery) => Effect.Effect<ReadonlyArray<ScannedText>, DialectError>
  /** Part of the program that wrote a tool part's result: re-indexes the part if needed. */
  readonly partChanged: (partId: string) => Program<void, never>
  /** Called in a deletion's transaction before the parts go: drops the sessions' search rows. */
  readonly forget: (sessionIds: ReadonlyArray<SessionId>) => Effect.Effect<void, SqlError>
}

export interface Dialect {
  readonly columns: Columns
  /** The statement that opens a write transaction, taking the write lock first where that matters. */
  readonly beginWrite: string
  /** A JSON value (object or array) as a statement parameter. */
  readonly json: (value: unknown) => string
  /**
   * The ids as a table expression aliased `j`, with columns `value` (the id) and `key` (its
   * position in `ids`): one statement and one parameter, whatever the number of ids.
   */
  readonly idList: (ids: ReadonlyArray<string>) => Fragment
  /** A SQL expression reading the text field `field` of the JSON column `column`. */
  readonly jsonField: (column: string, field: string) => string
  /** A SQL expression for the database's clock, in epoch milliseconds (leases expire by it). */
  readonly nowMillis: string
  readonly search: Search
}
