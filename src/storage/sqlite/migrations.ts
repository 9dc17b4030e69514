/**
 * Versioned schema migrations for the SQLite store, run by the `@effect/sql` Migrator (its table
 * `effect_sql_migrations` records which ran). Append new migrations; never edit a released one.
 *
 * Migrations 1 and 2 (release 0.1.0) kept the store's rules in triggers and a view; migration 3
 * drops them (the rules now live in SqlStore.ts) and keeps only guards: message and part content
 * cannot be updated or deleted, a tool output, once written, cannot be replaced — and rows go only
 * with their whole session (see lifecycle.ts).
 *
 * @internal
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { looksBinary } from "../../files/Detect.js"
import * as Files from "../files.js"
import { searchBody } from "./search.js"

/** The next turn number of a session: one more than its last snapshot's (a primary-key lookup). */
const nextTurn = (sessionId: string) =>
  `(SELECT COALESCE(MAX(turn), 0) + 1 FROM turn_snapshots WHERE session_id = ${sessionId})`

const initial = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const statements = [
    `CREATE TABLE sessions (
      id TEXT PRIMARY KEY,
      parent_id TEXT REFERENCES sessions(id),
      model TEXT NOT NULL,
      agent TEXT NOT NULL,
      system_prompt TEXT NOT NULL,
      metadata TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      next_seq INTEGER NOT NULL DEFAULT 0,
      next_position INTEGER NOT NULL DEFAULT 0,
      -- bumped whenever an existing context item changes (swap, tombstone, tool result), so a
      -- reader holding the items can fetch only what was appended since
      context_version INTEGER NOT NULL DEFAULT 0,
      tokens_input INTEGER NOT NULL DEFAULT 0,
      tokens_output INTEGER NOT NULL DEFAULT 0,
      tokens_cache_read INTEGER NOT NULL DEFAULT 0,
      tokens_cache_write INTEGER NOT NULL DEFAULT 0,
      tokens_total INTEGER NOT NULL DEFAULT 0,
      cost REAL NOT NULL DEFAULT 0
    ) STRICT`,
    `CREATE INDEX sessions_parent ON sessions(parent_id) WHERE parent_id IS NOT NULL`,
    `CREATE INDEX sessions_created ON sessions(created_at)`,

    `CREATE TABLE messages (
      id TEXT PRIMARY KEY,
      session_id TEXT NOT NULL REFERENCES sessions(id),
      seq INTEGER NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
      agent TEXT NOT NULL,
      model TEXT NOT NULL,
      is_summary INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      tokens_input INTEGER NOT NULL DEFAULT 0,
      tokens_output INTEGER NOT NULL DEFAULT 0,
      tokens_cache_read INTEGER NOT NULL DEFAULT 0,
      tokens_cache_write INTEGER NOT NULL DEFAULT 0,
      tokens_total INTEGER NOT NULL DEFAULT 0,
      cost REAL NOT NULL DEFAULT 0,
      finish_reason TEXT,
      error TEXT,
      -- whether the message joins the active context, and the cost of its context item
      in_context INTEGER NOT NULL DEFAULT 1,
      context_tokens INTEGER NOT NULL DEFAULT 0,
      UNIQUE (session_id, seq)
    ) STRICT`,

    `CREATE TABLE parts (
      id TEXT PRIMARY KEY,
      message_id TEXT NOT NULL REFERENCES messages(id),
      session_id TEXT NOT NULL REFERENCES sessions(id),
      idx INTEGER NOT NULL,
      type TEXT NOT NULL,
      content TEXT NOT NULL,
      token_count INTEGER NOT NULL,
      tool_call_id TEXT,
      tool_name TEXT,
      tool_status TEXT CHECK (tool_status IN ('pending', 'running', 'completed', 'error')),
      tool_output TEXT,
      tool_error TEXT,
      started_at INTEGER,
      completed_at INTEGER,
      compacted_at INTEGER,
      UNIQUE (message_id, idx)
    ) STRICT`,
    `CREATE INDEX parts_tool_call ON parts(session_id, tool_call_id) WHERE tool_call_id IS NOT NULL`,
    // A session's parts in writing order (the rowid rides along in every index entry).
    `CREATE INDEX parts_session ON parts(session_id)`,

    `CREATE TABLE summary_nodes (
      id TEXT PRIMARY KEY,
      session_id TEXT NOT NULL REFERENCES sessions(id),
      message_id TEXT NOT NULL REFERENCES messages(id),
      kind TEXT NOT NULL CHECK (kind IN ('leaf', 'condensed')),
      depth INTEGER NOT NULL,
      level INTEGER NOT NULL CHECK (level IN (1, 2, 3)),
      content TEXT NOT NULL,
      token_count INTEGER NOT NULL,
      span_start TEXT NOT NULL,
      span_end TEXT NOT NULL,
      span_start_seq INTEGER NOT NULL,
      span_end_seq INTEGER NOT NULL,
      message_count INTEGER NOT NULL,
      file_ids TEXT NOT NULL,
      model TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      superseded_by TEXT REFERENCES summary_nodes(id)
    ) STRICT`,
    `CREATE INDEX summary_nodes_session ON summary_nodes(session_id, created_at)`,
    `CREATE UNIQUE INDEX summary_nodes_message ON summary_nodes(message_id)`,

    // Provenance: one row per item a summary stands for (messages of a leaf, parents of a condensed node).
    `CREATE TABLE summary_sources (
      summary_id TEXT NOT NULL REFERENCES summary_nodes(id),
      ord INTEGER NOT NULL,
      source_type TEXT NOT NULL CHECK (source_type IN ('message', 'summary')),
      source_id TEXT NOT NULL,
      PRIMARY KEY (summary_id, ord)
    ) STRICT, WITHOUT ROWID`,
    `CREATE UNIQUE INDEX summary_sources_source ON summary_sources(source_id)`,

    // The active context, in position order: what the next turn is assembled from.
    `CREATE TABLE context_items (
      session_id TEXT NOT NULL REFERENCES sessions(id),
      position INTEGER NOT NULL,
      item_type TEXT NOT NULL CHECK (item_type IN ('message', 'summary')),
      item_id TEXT NOT NULL,
      role TEXT CHECK (role IN ('user', 'assistant')),
      token_count INTEGER NOT NULL,
      PRIMARY KEY (session_id, position)
    ) STRICT, WITHOUT ROWID`,
    `CREATE UNIQUE INDEX context_items_item ON context_items(item_id)`,

    // One row per completed turn: what `session.history()` returns, restored by `Session.load`.
    `CREATE TABLE turn_snapshots (
      session_id TEXT NOT NULL REFERENCES sessions(id),
      turn INTEGER NOT NULL,
      message_id TEXT NOT NULL,
      context TEXT NOT NULL,
      compaction_triggered INTEGER NOT NULL,
      compaction_result TEXT,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (session_id, turn)
    ) STRICT, WITHOUT ROWID`,

    `CREATE TABLE file_references (
      id TEXT PRIMARY KEY,
      path TEXT NOT NULL,
      file_type TEXT NOT NULL,
      token_count INTEGER NOT NULL,
      summary TEXT NOT NULL,
      created_at INTEGER NOT NULL
    ) STRICT`,
    `CREATE INDEX file_references_path ON file_references(path)`,

    // Full-text index over message text, tool calls and results, and summaries. The rowid is the
    // part's rowid; session_id is indexed so a query can be confined to one session cheaply.
    `CREATE VIRTUAL TABLE search_index USING fts5(
      body, session_id, message_id UNINDEXED,
      tokenize = 'unicode61 remove_diacritics 2'
    )`,

    // The index is brought up to date in batches, just before a search (indexing one part per
    // transaction costs more than the rest of an append together). `indexed_upto` is the last
    // parts rowid indexed; a tool result set on a part already indexed is re-indexed at once.
    `CREATE TABLE search_state (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      indexed_upto INTEGER NOT NULL
    ) STRICT`,
    `INSERT INTO search_state (id, indexed_upto) VALUES (1, 0)`,
    `CREATE TRIGGER parts_search_result AFTER UPDATE OF tool_output, tool_error ON parts
      WHEN NEW.type = 'tool' AND NEW.rowid <= (SELECT indexed_upto FROM search_state WHERE id = 1)
      BEGIN
        DELETE FROM search_index WHERE rowid = NEW.rowid;
        INSERT INTO search_index (rowid, body, session_id, message_id)
        VALUES (NEW.rowid, ${searchBody("NEW")}, NEW.session_id, NEW.message_id);
      END`,

    // Appending a message moves its session's counters and usage totals and, for a message that
    // joins the context, adds its context item: in the same statement, so they can never disagree.
    `CREATE TRIGGER messages_after_insert AFTER INSERT ON messages
      BEGIN
        UPDATE sessions SET
          next_seq = NEW.seq,
          next_position = next_position + NEW.in_context,
          updated_at = max(updated_at, NEW.created_at),
          tokens_input = tokens_input + NEW.tokens_input,
          tokens_output = tokens_output + NEW.tokens_output,
          tokens_cache_read = tokens_cache_read + NEW.tokens_cache_read,
          tokens_cache_write = tokens_cache_write + NEW.tokens_cache_write,
          tokens_total = tokens_total + CASE WHEN NEW.tokens_total > 0 THEN NEW.tokens_total
            ELSE NEW.tokens_input + NEW.tokens_output + NEW.tokens_cache_read + NEW.tokens_cache_write END,
          cost = cost + NEW.cost
        WHERE id = NEW.session_id;
        INSERT INTO context_items (session_id, position, item_type, item_id, role, token_count)
          SELECT NEW.session_id, next_position, 'message', NEW.id, NEW.role, NEW.context_tokens
          FROM sessions WHERE id = NEW.session_id AND NEW.in_context = 1;
      END`,

    // Appending a message is one INSERT into this view: the trigger below writes the message (its
    // seq taken from the session row), its parts (a JSON array) and, when given, the snapshot of
    // the turn it completes. One statement is atomic on its own, so an append needs no explicit
    // transaction, and it is the cheapest way through the driver.
    `CREATE VIEW message_appends AS
      SELECT id, session_id, role, agent, model, created_at, tokens_input, tokens_output, tokens_cache_read,
        tokens_cache_write, tokens_total, cost, finish_reason, error, in_context, context_tokens,
        NULL AS parts, NULL AS snapshot
      FROM messages`,
    `CREATE TRIGGER message_appends_insert INSTEAD OF INSERT ON message_appends
      BEGIN
        SELECT RAISE(ABORT, 'mnesis: session not found')
          WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE id = NEW.session_id);
        INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at, tokens_input,
          tokens_output, tokens_cache_read, tokens_cache_write, tokens_total, cost, finish_reason, error,
          in_context, context_tokens)
        SELECT NEW.id, s.id, s.next_seq + 1, NEW.role, NEW.agent, NEW.model, 0, NEW.created_at, NEW.tokens_input,
          NEW.tokens_output, NEW.tokens_cache_read, NEW.tokens_cache_write, NEW.tokens_total, NEW.cost,
          NEW.finish_reason, NEW.error, NEW.in_context, NEW.context_tokens
        FROM sessions s WHERE s.id = NEW.session_id;
        INSERT INTO parts (id, message_id, session_id, idx, type, content, token_count, tool_call_id, tool_name,
          tool_status, tool_output, tool_error, started_at, completed_at)
        SELECT p.value ->> '$.id', NEW.id, NEW.session_id, p.key, p.value ->> '$.type', p.value -> '$.content',
          p.value ->> '$.tokenCount', p.value ->> '$.toolCallId', p.value ->> '$.toolName',
          p.value ->> '$.status', p.value ->> '$.output', p.value ->> '$.error', p.value ->> '$.startedAt',
          p.value ->> '$.completedAt'
        FROM json_each(NEW.parts) p;
        INSERT INTO turn_snapshots (session_id, turn, message_id, context, compaction_triggered, compaction_result,
          created_at)
        SELECT NEW.session_id, NEW.snapshot ->> '$.turn', NEW.id, NEW.snapshot -> '$.context',
          NEW.snapshot ->> '$.compactionTriggered', NEW.snapshot -> '$.compactionResult', NEW.snapshot ->> '$.createdAt'
        WHERE NEW.snapshot IS NOT NULL;
      END`,

    // Append-only guarantees, enforced by the database.
    `CREATE TRIGGER messages_no_delete BEFORE DELETE ON messages
      BEGIN SELECT RAISE(ABORT, 'mnesis: messages are append-only'); END`,
    `CREATE TRIGGER messages_content_immutable
      BEFORE UPDATE OF id, session_id, seq, role, agent, model, is_summary, created_at, in_context ON messages
      BEGIN SELECT RAISE(ABORT, 'mnesis: message content is append-only'); END`,
    `CREATE TRIGGER parts_no_delete BEFORE DELETE ON parts
      BEGIN SELECT RAISE(ABORT, 'mnesis: parts are append-only'); END`,
    `CREATE TRIGGER parts_content_immutable
      BEFORE UPDATE OF id, message_id, session_id, idx, type, content, tool_call_id, tool_name ON parts
      BEGIN SELECT RAISE(ABORT, 'mnesis: part content is append-only'); END`,
    `CREATE TRIGGER parts_output_write_once BEFORE UPDATE OF tool_output, tool_error ON parts
      WHEN (OLD.tool_output IS NOT NULL AND NEW.tool_output IS NOT OLD.tool_output)
        OR (OLD.tool_error IS NOT NULL AND NEW.tool_error IS NOT OLD.tool_error)
      BEGIN SELECT RAISE(ABORT, 'mnesis: a tool result is written once'); END`,
    `CREATE TRIGGER parts_tombstone_once BEFORE UPDATE OF compacted_at ON parts
      WHEN OLD.compacted_at IS NOT NULL
      BEGIN SELECT RAISE(ABORT, 'mnesis: a tombstone is written once'); END`,
    `CREATE TRIGGER summary_nodes_no_delete BEFORE DELETE ON summary_nodes
      BEGIN SELECT RAISE(ABORT, 'mnesis: summaries are append-only'); END`,
    `CREATE TRIGGER summary_nodes_content_immutable
      BEFORE UPDATE OF id, session_id, message_id, kind, depth, level, content, span_start, span_end ON summary_nodes
      BEGIN SELECT RAISE(ABORT, 'mnesis: summary content is append-only'); END`,
    `CREATE TRIGGER summary_sources_no_change BEFORE UPDATE ON summary_sources
      BEGIN SELECT RAISE(ABORT, 'mnesis: provenance is append-only'); END`,
    `CREATE TRIGGER summary_sources_no_delete BEFORE DELETE ON summary_sources
      BEGIN SELECT RAISE(ABORT, 'mnesis: provenance is append-only'); END`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})

/**
 * The store numbers a session's turns: a snapshot's number is one more than the session's highest
 * so far, taken inside the statement that writes it. (Numbers kept by a session handle collide
 * as soon as a second handle — another process, or a `load` of an open session — ends a turn.)
 */
const turnNumbersFromStore = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const statements = [
    `DROP TRIGGER message_appends_insert`,
    `CREATE TRIGGER message_appends_insert INSTEAD OF INSERT ON message_appends
      BEGIN
        SELECT RAISE(ABORT, 'mnesis: session not found')
          WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE id = NEW.session_id);
        INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at, tokens_input,
          tokens_output, tokens_cache_read, tokens_cache_write, tokens_total, cost, finish_reason, error,
          in_context, context_tokens)
        SELECT NEW.id, s.id, s.next_seq + 1, NEW.role, NEW.agent, NEW.model, 0, NEW.created_at, NEW.tokens_input,
          NEW.tokens_output, NEW.tokens_cache_read, NEW.tokens_cache_write, NEW.tokens_total, NEW.cost,
          NEW.finish_reason, NEW.error, NEW.in_context, NEW.context_tokens
        FROM sessions s WHERE s.id = NEW.session_id;
        INSERT INTO parts (id, message_id, session_id, idx, type, content, token_count, tool_call_id, tool_name,
          tool_status, tool_output, tool_error, started_at, completed_at)
        SELECT p.value ->> '$.id', NEW.id, NEW.session_id, p.key, p.value ->> '$.type', p.value -> '$.content',
          p.value ->> '$.tokenCount', p.value ->> '$.toolCallId', p.value ->> '$.toolName',
          p.value ->> '$.status', p.value ->> '$.output', p.value ->> '$.error', p.value ->> '$.startedAt',
          p.value ->> '$.completedAt'
        FROM json_each(NEW.parts) p;
        INSERT INTO turn_snapshots (session_id, turn, message_id, context, compaction_triggered, compaction_result,
          created_at)
        SELECT NEW.session_id, ${nextTurn("NEW.session_id")}, NEW.id, NEW.snapshot -> '$.context',
          NEW.snapshot ->> '$.compactionTriggered', NEW.snapshot -> '$.compactionResult', NEW.snapshot ->> '$.createdAt'
        WHERE NEW.snapshot IS NOT NULL;
      END`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})

/** A guard refusing deletes of a table's rows unless their session is being deleted. */
const deleteGuard = (table: string, sessionOf: string, what: string) =>
  `CREATE TRIGGER ${table}_no_delete BEFORE DELETE ON ${table}
    WHEN NOT EXISTS (SELECT 1 FROM session_deletions d WHERE d.session_id = ${sessionOf})
    BEGIN SELECT RAISE(ABORT, 'mnesis: ${what} are append-only (delete the whole session instead)'); END`

/**
 * The store's rules move from the database to the code (SqlStore.ts): the triggers that numbered
 * messages, kept counters, added context items and re-indexed tool results go, with the
 * `message_appends` view. Guards stay, and now let a whole session go: a delete passes only while
 * the session's id is in `session_deletions`, which a deletion fills and empties in its own
 * transaction. Data is kept as it is.
 */
const rulesInCode = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const statements = [
    `DROP TRIGGER message_appends_insert`,
    `DROP VIEW message_appends`,
    `DROP TRIGGER messages_after_insert`,
    `DROP TRIGGER parts_search_result`,

    `CREATE TABLE session_deletions (session_id TEXT PRIMARY KEY) STRICT, WITHOUT ROWID`,
    `DROP TRIGGER messages_no_delete`,
    deleteGuard("messages", "OLD.session_id", "messages"),
    `DROP TRIGGER parts_no_delete`,
    deleteGuard("parts", "OLD.session_id", "parts"),
    `DROP TRIGGER summary_nodes_no_delete`,
    deleteGuard("summary_nodes", "OLD.session_id", "summaries"),
    `DROP TRIGGER summary_sources_no_delete`,
    deleteGuard(
      "summary_sources",
      "(SELECT n.session_id FROM summary_nodes n WHERE n.id = OLD.summary_id)",
      "provenance rows"
    ),
    deleteGuard("sessions", "OLD.id", "sessions"),
    deleteGuard("turn_snapshots", "OLD.session_id", "turn snapshots"),
    `CREATE TRIGGER turn_snapshots_no_change BEFORE UPDATE ON turn_snapshots
      BEGIN SELECT RAISE(ABORT, 'mnesis: turn snapshots are append-only'); END`,
    // the file references a session's parts use, found without reading every part
    `CREATE INDEX parts_file_ref ON parts(session_id) WHERE type = 'file_ref'`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})

/**
 * Durable operator runs (LLM-Map, Agentic-Map): a run, and each item's status, attempts, usage and
 * output or failure. Inputs, outputs and errors are JSON text (scalars inside an envelope). A
 * run's `session_id` names the session that started it, without a foreign key: runs go with
 * their session when it is deleted, and a run started outside any session has none.
 */
const operatorRuns = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const usage = `tokens_input INTEGER NOT NULL DEFAULT 0,
      tokens_output INTEGER NOT NULL DEFAULT 0,
      tokens_cache_read INTEGER NOT NULL DEFAULT 0,
      tokens_cache_write INTEGER NOT NULL DEFAULT 0,
      tokens_total INTEGER NOT NULL DEFAULT 0,
      cost REAL NOT NULL DEFAULT 0`
  const statements = [
    `CREATE TABLE operator_runs (
      id TEXT PRIMARY KEY,
      operator TEXT NOT NULL CHECK (operator IN ('llm_map', 'agentic_map')),
      session_id TEXT,
      spec TEXT NOT NULL,
      -- the runner writing to the run; resume replaces it, and the old runner's writes are refused
      owner TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted')),
      total INTEGER NOT NULL,
      done INTEGER NOT NULL DEFAULT 0,
      failed INTEGER NOT NULL DEFAULT 0,
      attempts INTEGER NOT NULL DEFAULT 0,
      ${usage},
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT`,
    `CREATE INDEX operator_runs_session ON operator_runs(session_id, created_at) WHERE session_id IS NOT NULL`,
    `CREATE INDEX operator_runs_created ON operator_runs(created_at)`,
    `CREATE TABLE operator_run_items (
      run_id TEXT NOT NULL REFERENCES operator_runs(id),
      idx INTEGER NOT NULL,
      input TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      output TEXT,
      error TEXT,
      ${usage},
      session_id TEXT,
      started_at INTEGER,
      completed_at INTEGER,
      PRIMARY KEY (run_id, idx)
    ) STRICT, WITHOUT ROWID`,
    `CREATE INDEX operator_run_items_status ON operator_run_items(run_id, status, idx)`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
})

/**
 * Large files' contents (file.ts): one row per content id with its facts and the symbols of a
 * source file, and the bytes in pieces that end on line breaks, so a page of lines reads only the
 * pieces holding it. Contents are shared by every session (deduplicated by id) and never change;
 * they go with the last session using them. A `file_contents` table left by the pre-store content
 * seam (one BLOB per id) is carried over.
 */
const fileContents = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const legacy = yield* sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'file_contents'`
  if (legacy.length > 0) yield* sql.unsafe(`ALTER TABLE file_contents RENAME TO file_contents_seam`)
  const statements = [
    `CREATE TABLE file_contents (
      id TEXT PRIMARY KEY,
      byte_length INTEGER NOT NULL,
      -- lines of a text file; 0 for binary content, which is never read by lines
      line_count INTEGER NOT NULL,
      is_text INTEGER NOT NULL,
      -- a source file's symbols with their line spans (JSON), for expand … symbol=
      symbols TEXT,
      created_at INTEGER NOT NULL
    ) STRICT`,
    `CREATE INDEX file_contents_created ON file_contents(created_at)`,
    `CREATE TABLE file_chunks (
      file_id TEXT NOT NULL REFERENCES file_contents(id),
      ord INTEGER NOT NULL,
      -- the piece holds lines first_line .. first_line + line_count - 1, whole (0, 0 when binary)
      first_line INTEGER NOT NULL,
      line_count INTEGER NOT NULL,
      content BLOB NOT NULL,
      PRIMARY KEY (file_id, ord)
    ) STRICT`,
    `CREATE INDEX file_chunks_line ON file_chunks(file_id, first_line)`,
    `CREATE TRIGGER file_chunks_no_change BEFORE UPDATE ON file_chunks
      BEGIN SELECT RAISE(ABORT, 'mnesis: file contents never change'); END`,
    `CREATE TRIGGER file_contents_no_change
      BEFORE UPDATE OF id, byte_length, line_count, is_text ON file_contents
      BEGIN SELECT RAISE(ABORT, 'mnesis: file contents never change'); END`
  ]
  for (const statement of statements) yield* sql.unsafe(statement)
  if (legacy.length > 0) {
    const rows = yield* sql`SELECT id, content, rowid FROM file_contents_seam ORDER BY rowid`
    for (const row of rows) {
      const { content, id } = row
      if (typeof id !== "string" || !(content instanceof Uint8Array)) continue
      yield* Files.insertContent(sql, { id, content, text: !looksBinary(content), createdAt: 0 })
    }
    yield* sql.unsafe(`DROP TABLE file_contents_seam`)
  }
})

/** Every migration, by id. The highest id is the schema version this code writes. */
export const migrations = [
  [1, "initial", initial],
  [2, "turn_numbers_from_store", turnNumbersFromStore],
  [3, "rules_in_code", rulesInCode],
  [4, "operator_runs", operatorRuns],
  [5, "file_contents", fileContents]
] as const

export const LATEST_SCHEMA_VERSION = 5
