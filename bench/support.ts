/**
 * Shared bench plumbing: a provider wrapper that measures time spent inside the model (so engine
 * overhead can be reported without it), and bulk seeding of long sessions through raw SQL.
 */
import { Effect, Layer, Stream } from "effect"
import { DatabaseSync } from "node:sqlite"
import type { MnesisConfigOverrides } from "../src/Config.js"
import { Settings } from "../src/Config.js"
import * as Ids from "../src/internal/ids.js"
import { makeLayer } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import { LlmProvider } from "../src/LlmProvider.js"
import type { Storage } from "../src/Storage.js"
import * as SqliteStore from "../src/storage/sqlite/SqliteStore.js"

/** Milliseconds spent inside provider streams since the last reset. */
export const providerClock = { ms: 0 }

/** Wraps the provider in context so every stream's duration is added to `providerClock`. */
export const timedProvider = Layer.effect(
  LlmProvider,
  Effect.map(LlmProvider, (inner) =>
    LlmProvider.of({
      stream: (request) =>
        Stream.suspend(() => {
          const start = performance.now()
          return inner.stream(request).pipe(
            Stream.ensuring(Effect.sync(() => (providerClock.ms += performance.now() - start)))
          )
        })
    }))
)

/**
 * The test bundle with a zero-latency MockLlm whose time is measured: turns and compaction
 * rounds both go through it, so engine overhead can be reported without the model.
 */
export const timedTestLayer = (config: MnesisConfigOverrides, filename: string) =>
  timedLayer(config, SqliteStore.layer({ filename }))

/** The same over another store. */
export const timedLayer = <E>(config: MnesisConfigOverrides, storage: Layer.Layer<Storage, E>) =>
  makeLayer({
    settings: Settings.layer(config),
    storage,
    provider: timedProvider.pipe(Layer.provide(MockLlm.layer()))
  })

const filler = (n: number) => `message ${n}: ` + "the quick brown fox jumps over the lazy dog ".repeat(8)

/** Runs `body` in one transaction on a raw connection (bulk seeding for benchmarks). */
export const inTransaction = (db: DatabaseSync, body: () => void) => {
  db.exec("BEGIN")
  try {
    body()
    db.exec("COMMIT")
  } catch (error) {
    db.exec("ROLLBACK")
    throw error
  }
}

/**
 * Appends `count` user/assistant messages (one text part each) to a session in one transaction,
 * as the store would (seq, positions, counters); only the newest `inContext` become context
 * items, as if older ones had been compacted away.
 */
export const seedHistory = (file: string, sessionId: string, count: number, inContext: number) => {
  const db = new DatabaseSync(file)
  db.exec("PRAGMA journal_mode = WAL")
  const insertMessage = db.prepare(`INSERT INTO messages (id, session_id, seq, role, agent, model, created_at,
    in_context, context_tokens) VALUES (?, ?, ?, ?, 'bench', 'mock/bench', ?, ?, ?)`)
  const insertPart = db.prepare(
    `INSERT INTO parts (id, message_id, session_id, idx, type, content, token_count)
    VALUES (?, ?, ?, 0, 'text', ?, ?)`
  )
  const insertItem = db.prepare(`INSERT INTO context_items (session_id, position, item_type, item_id, role,
    token_count) VALUES (?, ?, 'message', ?, ?, ?)`)
  const counters = db.prepare(
    "UPDATE sessions SET next_seq = ?, next_position = ?, updated_at = ? WHERE id = ?"
  )
  const start = db.prepare("SELECT next_seq, next_position FROM sessions WHERE id = ?").get(sessionId)
  const first = Number(start?.["next_seq"] ?? 0)
  inTransaction(db, () => {
    let position = Number(start?.["next_position"] ?? 0)
    for (let n = first + 1; n <= first + count; n++) {
      const id = Effect.runSync(Ids.messageId)
      const role = n % 2 === 1 ? "user" : "assistant"
      const text = filler(n)
      const tokens = Math.ceil(text.length / 4)
      const inCtx = n > first + count - inContext
      insertMessage.run(id, sessionId, n, role, n, inCtx ? 1 : 0, tokens + 4)
      insertPart.run(Effect.runSync(Ids.partId), id, sessionId, JSON.stringify({ text }), tokens)
      if (inCtx) insertItem.run(sessionId, ++position, id, role, tokens + 4)
    }
    counters.run(first + count, position, first + count, sessionId)
  })
  db.close()
}
