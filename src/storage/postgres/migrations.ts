/**
 * Versioned schema migrations for the PostgreSQL store, run by the `@effect/sql` Migrator (its table
 * `effect_sql_migrations` records which ran). Append new migrations; never edit a released one.
 *
 * Numbered as SQLite's, so that a schema version means the same features on both: version 3 is
 * the schema SQLite reaches through its migrations 1–3 (its first two kept rules in triggers that
 * migration 3 removed; PostgreSQL starts where SQLite arrived); then operator runs (4), file
 * contents (5) and compaction leases (6).
 *
 * PostgreSQL types where they say more than SQLite's: `jsonb` for JSON, `boolean`, `bigint` for
 * times and usage totals, an identity column giving parts their writing order (`pos`, SQLite's
 * rowid). Triggers only guard: content cannot be updated or deleted, a tool output is written
 * once, and rows go only with their whole session (see lifecycle.ts) — never logic.
 *
 * @internal
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { SEARCH_VECTOR, searchBody } from "./search.js"

const run = (statements: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of statements) yield* sql.unsafe(statement)
  })

/** A guard refusing a change of `columns` (all of them when empty) with `message`. */
const refuseUpdate = (table: string, name: string, columns: string, message: string, when?: string) =>
  `CREATE TRIGGER ${name} BEFORE UPDATE${columns === "" ? "" : ` OF ${columns}`} ON ${table}
    FOR EACH ROW ${when === undefined ? "" : `WHEN (${when})`}
    EXECUTE FUNCTION mnesis_refuse('${message}')`

/** A guard refusing deletes of a table's rows unless their session is being deleted. */
const deleteGuard = (table: string, what: string) =>
  `CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
    FOR EACH ROW EXECUTE FUNCTION mnesis_guard_delete('${what}')`

const usage = `tokens_input bigint NOT NULL DEFAULT 0,
      tokens_output bigint NOT NULL DEFAULT 0,
      tokens_cache_read bigint NOT NULL DEFAULT 0,
      tokens_cache_write bigint NOT NULL DEFAULT 0,
      tokens_total bigint NOT NULL DEFAULT 0,
      cost double precision NOT NULL DEFAULT 0`

const initial = run([
  `CREATE TABLE sessions (
      id text PRIMARY KEY,
      parent_id text REFERENCES sessions(id),
      model text NOT NULL,
      agent text NOT NULL,
      system_prompt text NOT NULL,
      metadata jsonb,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      next_seq integer NOT NULL DEFAULT 0,
      next_position integer NOT NULL DEFAULT 0,
      -- bumped whenever an existing context item changes (swap, tombstone, tool result), so a
      -- reader holding the items can fetch only what was appended since
      context_version bigint NOT NULL DEFAULT 0,
      ${usage}
    )`,
  `CREATE INDEX sessions_parent ON sessions(parent_id) WHERE parent_id IS NOT NULL`,
  `CREATE INDEX sessions_created ON sessions(created_at)`,

  `CREATE TABLE messages (
      id text PRIMARY KEY,
      session_id text NOT NULL REFERENCES sessions(id),
      seq integer NOT NULL,
      role text NOT NULL CHECK (role IN ('user', 'assistant')),
      agent text NOT NULL,
      model text NOT NULL,
      is_summary boolean NOT NULL DEFAULT false,
      created_at bigint NOT NULL,
      ${usage},
      finish_reason text,
      error jsonb,
      -- whether the message joins the active context, and the cost of its context item
      in_context boolean NOT NULL DEFAULT true,
      context_tokens integer NOT NULL DEFAULT 0,
      UNIQUE (session_id, seq)
    )`,

  `CREATE TABLE parts (
      -- writing order (SQLite's rowid): search and scan positions
      pos bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      id text PRIMARY KEY,
      message_id text NOT NULL REFERENCES messages(id),
      session_id text NOT NULL REFERENCES sessions(id),
      idx integer NOT NULL,
      type text NOT NULL,
      content jsonb NOT NULL,
      token_count integer NOT NULL,
      tool_call_id text,
      tool_name text,
      tool_status text CHECK (tool_status IN ('pending', 'running', 'completed', 'error')),
      tool_output text,
      tool_error text,
      started_at bigint,
      completed_at bigint,
      compacted_at bigint,
      UNIQUE (message_id, idx)
    )`,
  `CREATE INDEX parts_tool_call ON parts(session_id, tool_call_id) WHERE tool_call_id IS NOT NULL`,
  `CREATE INDEX parts_session ON parts(session_id, pos)`,
  `CREATE INDEX parts_file_ref ON parts(session_id) WHERE type = 'file_ref'`,

  `CREATE TABLE summary_nodes (
      id text PRIMARY KEY,
      session_id text NOT NULL REFERENCES sessions(id),
      message_id text NOT NULL REFERENCES messages(id),
      kind text NOT NULL CHECK (kind IN ('leaf', 'condensed')),
      depth integer NOT NULL,
      level integer NOT NULL CHECK (level IN (1, 2, 3)),
      content text NOT NULL,
      token_count integer NOT NULL,
      span_start text NOT NULL,
      span_end text NOT NULL,
      span_start_seq integer NOT NULL,
      span_end_seq integer NOT NULL,
      message_count integer NOT NULL,
      file_ids jsonb NOT NULL,
      model text NOT NULL,
      created_at bigint NOT NULL,
      superseded_by text REFERENCES summary_nodes(id)
    )`,
  `CREATE INDEX summary_nodes_session ON summary_nodes(session_id, created_at)`,
  `CREATE UNIQUE INDEX summary_nodes_message ON summary_nodes(message_id)`,

  // Provenance: one row per item a summary stands for (messages of a leaf, parents of a condensed node).
  `CREATE TABLE summary_sources (
      summary_id text NOT NULL REFERENCES summary_nodes(id),
      ord integer NOT NULL,
      source_type text NOT NULL CHECK (source_type IN ('message', 'summary')),
      source_id text NOT NULL,
      PRIMARY KEY (summary_id, ord)
    )`,
  `CREATE UNIQUE INDEX summary_sources_source ON summary_sources(source_id)`,

  // The active context, in position order: what the next turn is assembled from.
  `CREATE TABLE context_items (
      session_id text NOT NULL REFERENCES sessions(id),
      position integer NOT NULL,
      item_type text NOT NULL CHECK (item_type IN ('message', 'summary')),
      item_id text NOT NULL,
      role text CHECK (role IN ('user', 'assistant')),
      token_count integer NOT NULL,
      PRIMARY KEY (session_id, position)
    )`,
  `CREATE UNIQUE INDEX context_items_item ON context_items(item_id)`,

  // One row per completed turn: what `session.history()` returns, restored by `Session.load`.
  `CREATE TABLE turn_snapshots (
      session_id text NOT NULL REFERENCES sessions(id),
      turn integer NOT NULL,
      message_id text NOT NULL,
      context jsonb NOT NULL,
      compaction_triggered boolean NOT NULL,
      compaction_result jsonb,
      created_at bigint NOT NULL,
      PRIMARY KEY (session_id, turn)
    )`,

  `CREATE TABLE file_references (
      id text PRIMARY KEY,
      path text NOT NULL,
      file_type text NOT NULL,
      token_count integer NOT NULL,
      summary text NOT NULL,
      created_at bigint NOT NULL
    )`,
  `CREATE INDEX file_references_path ON file_references(path)`,

  // Full-text search: an index over an expression of each part, kept by PostgreSQL as parts are
  // written and tool results set (no catch-up, no search table). See search.ts.
  `CREATE FUNCTION mnesis_search_body(p_type text, p_content jsonb, p_tool_name text, p_tool_output text,
      p_tool_error text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ${searchBody} $$`,
  `CREATE INDEX parts_search ON parts USING gin (
      ${SEARCH_VECTOR})
    WHERE type IN ('text', 'reasoning', 'tool', 'file_ref')`,

  // Guards.
  `CREATE FUNCTION mnesis_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'mnesis: %', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
    END $$`,
  // a session's rows may go only while its id sits in session_deletions (lifecycle.ts)
  `CREATE TABLE session_deletions (session_id text PRIMARY KEY)`,
  `CREATE FUNCTION mnesis_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      owner text;
    BEGIN
      IF TG_TABLE_NAME = 'sessions' THEN
        owner := OLD.id;
      ELSIF TG_TABLE_NAME = 'summary_sources' THEN
        SELECT n.session_id INTO owner FROM summary_nodes n WHERE n.id = OLD.summary_id;
      ELSE
        owner := OLD.session_id;
      END IF;
      IF NOT EXISTS (SELECT 1 FROM session_deletions d WHERE d.session_id = owner) THEN
        RAISE EXCEPTION 'mnesis: % are append-only (delete the whole session instead)', TG_ARGV[0]
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN OLD;
    END $$`,
  refuseUpdate(
    "messages",
    "messages_content_immutable",
    "id, session_id, seq, role, agent, model, is_summary, created_at, in_context",
    "message content is append-only"
  ),
  refuseUpdate(
    "parts",
    "parts_content_immutable",
    "id, message_id, session_id, idx, type, content, tool_call_id, tool_name",
    "part content is append-only"
  ),
  refuseUpdate(
    "parts",
    "parts_output_write_once",
    "tool_output, tool_error",
    "a tool result is written once",
    "(OLD.tool_output IS NOT NULL AND NEW.tool_output IS DISTINCT FROM OLD.tool_output) OR " +
      "(OLD.tool_error IS NOT NULL AND NEW.tool_error IS DISTINCT FROM OLD.tool_error)"
  ),
  refuseUpdate(
    "parts",
    "parts_tombstone_once",
    "compacted_at",
    "a tombstone is written once",
    "OLD.compacted_at IS NOT NULL"
  ),
  refuseUpdate(
    "summary_nodes",
    "summary_nodes_content_immutable",
    "id, session_id, message_id, kind, depth, level, content, span_start, span_end",
    "summary content is append-only"
  ),
  refuseUpdate("summary_sources", "summary_sources_no_change", "", "provenance is append-only"),
  refuseUpdate("turn_snapshots", "turn_snapshots_no_change", "", "turn snapshots are append-only"),
  deleteGuard("messages", "messages"),
  deleteGuard("parts", "parts"),
  deleteGuard("summary_nodes", "summaries"),
  deleteGuard("summary_sources", "provenance rows"),
  deleteGuard("sessions", "sessions"),
  deleteGuard("turn_snapshots", "turn snapshots")
])

/**
 * Durable operator runs (LLM-Map, Agentic-Map), as SQLite's migration 4: a run and each item's
 * status, attempts, usage and output or failure. A run's `session_id` names the session that
 * started it, without a foreign key (runs go with their session when it is deleted).
 */
const operatorRuns = run([
  `CREATE TABLE operator_runs (
      id text PRIMARY KEY,
      operator text NOT NULL CHECK (operator IN ('llm_map', 'agentic_map')),
      session_id text,
      spec jsonb NOT NULL,
      -- the runner writing to the run; resume replaces it, and the old runner's writes are refused
      owner text NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'completed', 'interrupted')),
      total integer NOT NULL,
      done integer NOT NULL DEFAULT 0,
      failed integer NOT NULL DEFAULT 0,
      attempts integer NOT NULL DEFAULT 0,
      ${usage},
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL
    )`,
  `CREATE INDEX operator_runs_session ON operator_runs(session_id, created_at) WHERE session_id IS NOT NULL`,
  `CREATE INDEX operator_runs_created ON operator_runs(created_at)`,
  `CREATE TABLE operator_run_items (
      run_id text NOT NULL REFERENCES operator_runs(id),
      idx integer NOT NULL,
      input jsonb NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
      attempts integer NOT NULL DEFAULT 0,
      output jsonb,
      error jsonb,
      ${usage},
      session_id text,
      started_at bigint,
      completed_at bigint,
      PRIMARY KEY (run_id, idx)
    )`,
  `CREATE INDEX operator_run_items_status ON operator_run_items(run_id, status, idx)`
])

/**
 * Large files' contents, as SQLite's migration 5: one row per content id with its facts and a
 * source file's symbols, and the bytes in pieces that end on line breaks. Contents never change.
 */
const fileContents = run([
  `CREATE TABLE file_contents (
      id text PRIMARY KEY,
      byte_length bigint NOT NULL,
      -- lines of a text file; 0 for binary content, which is never read by lines
      line_count integer NOT NULL,
      is_text boolean NOT NULL,
      -- a source file's symbols with their line spans, for expand … symbol=
      symbols jsonb,
      created_at bigint NOT NULL
    )`,
  `CREATE INDEX file_contents_created ON file_contents(created_at)`,
  `CREATE TABLE file_chunks (
      file_id text NOT NULL REFERENCES file_contents(id),
      ord integer NOT NULL,
      -- the piece holds lines first_line .. first_line + line_count - 1, whole (0, 0 when binary)
      first_line integer NOT NULL,
      line_count integer NOT NULL,
      content bytea NOT NULL,
      PRIMARY KEY (file_id, ord)
    )`,
  `CREATE INDEX file_chunks_line ON file_chunks(file_id, first_line)`,
  refuseUpdate("file_chunks", "file_chunks_no_change", "", "file contents never change"),
  refuseUpdate(
    "file_contents",
    "file_contents_no_change",
    "id, byte_length, line_count, is_text",
    "file contents never change"
  )
])

/** Compaction leases, as SQLite's migration 6. */
const compactionLeases = run([
  `CREATE TABLE compaction_leases (
      session_id text PRIMARY KEY REFERENCES sessions(id),
      holder text NOT NULL,
      expires_at bigint NOT NULL
    )`
])

/** Every migration, by id. The highest id is the schema version this code writes. */
export const migrations = [
  [3, "initial", initial],
  [4, "operator_runs", operatorRuns],
  [5, "file_contents", fileContents],
  [6, "compaction_leases", compactionLeases]
] as const

export const LATEST_SCHEMA_VERSION = 6
