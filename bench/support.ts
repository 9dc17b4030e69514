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
import * as Storage from "../src/Storage.js"

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
  makeLayer({
    settings: Settings.layer(config),
    storage: Storage.layerSqlite({ filename }),
    provider: timedProvider.pipe(Layer.provide(MockLlm.layer()))
  })

const filler = (n: number) => `message ${n}: ` + "the quick brown fox jumps over the lazy dog ".repeat(8)

/**
 * Appends `count` user/assistant messages (one text part each) to a session in one transaction;
 * only the newest `inContext` become context items, as if older ones had been compacted away.
 */
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

export const seedHistory = (file: string, sessionId: string, count: number, inContext: number) => {
  const db = new DatabaseSync(file)
  db.exec("PRAGMA journal_mode = WAL")
  // The messages trigger keeps the session's counters and adds the context items.
  const insertMessage = db.prepare(`INSERT INTO messages (id, session_id, seq, role, agent, model, created_at,
    in_context, context_tokens) VALUES (?, ?, ?, ?, 'bench', 'mock/bench', ?, ?, ?)`)
  const insertPart = db.prepare(
    `INSERT INTO parts (id, message_id, session_id, idx, type, content, token_count)
    VALUES (?, ?, ?, 0, 'text', ?, ?)`
  )
  inTransaction(db, () => {
    for (let n = 1; n <= count; n++) {
      const id = Effect.runSync(Ids.messageId)
      const role = n % 2 === 1 ? "user" : "assistant"
      const text = filler(n)
      const tokens = Math.ceil(text.length / 4)
      insertMessage.run(id, sessionId, n, role, n, n > count - inContext ? 1 : 0, tokens + 4)
      insertPart.run(Effect.runSync(Ids.partId), id, sessionId, JSON.stringify({ text }), tokens)
    }
  })
  db.close()
}
