/**
 * PostgreSQL benchmarks, against a server named by `MNESIS_BENCH_DATABASE_URL` or
 * `MNESIS_TEST_DATABASE_URL` (`scripts/with-postgres.sh npm run bench -- postgres` starts a
 * throwaway one). Without a server the benchmark says so and reports nothing.
 *
 * 1. Append throughput: the store's `appendMessage` (3 parts, one transaction: the session row's
 *    counters, the message, its parts, its context item) against the raw `pg` client under
 *    `@effect/sql-pg` running the same statements in the same transactions on one connection,
 *    in the same run. Target ratio ≥ 0.6.
 * 2. Per-turn engine overhead of `send` (a zero-latency MockLlm whose time is subtracted) at 1K
 *    and 100K stored messages, the active context 200 items in both, as after compaction.
 *    Target: p50 ratio 100K ÷ 1K ≤ 1.3 (a turn reads what is in context, never the history).
 *
 * Each measurement runs in a schema of its own, dropped afterwards.
 */
import { Effect, ManagedRuntime } from "effect"
import pg from "pg"
import * as Ids from "../src/internal/ids.js"
import * as Session from "../src/Session.js"
import * as Storage from "../src/Storage.js"
import * as PostgresStore from "../src/storage/postgres/PostgresStore.js"
import { libraryMessage, newSession, rawPartValues } from "./appendWorkload.js"
import type { Benchmark, Figure } from "./harness.js"
import { check, median, percentile, round } from "./harness.js"
import { providerClock, timedLayer } from "./support.js"

const serverUrl = process.env["MNESIS_BENCH_DATABASE_URL"] ?? process.env["MNESIS_TEST_DATABASE_URL"]

/** Runs `use` in a fresh schema of the server (its URL given), dropped afterwards. */
const withSchema = async <A>(server: string, use: (url: string) => Promise<A>): Promise<A> => {
  const schema = `bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = new pg.Client({ connectionString: server })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  try {
    const url = new URL(server)
    url.searchParams.set("options", `-c search_path=${schema}`)
    return await use(url.toString())
  } finally {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  }
}

/** What `appendMessage` does, on a raw `pg` connection: the same statements in the same transaction. */
const rawAppender = (client: pg.Client) => {
  const row = (k: number) => `(${Array.from({ length: 15 }, (_, i) => `$${k * 15 + i + 1}`).join(", ")})`
  const partsText =
    `INSERT INTO parts (id, message_id, session_id, idx, type, content, token_count, tool_call_id,
    tool_name, tool_status, tool_output, tool_error, started_at, completed_at, compacted_at)
    VALUES ${[0, 1, 2].map(row).join(", ")}`
  return async (
    sessionId: string,
    n: number,
    [messageId, ...partIds]: readonly [string, ...Array<string>]
  ) => {
    const role = n % 2 === 0 ? "user" : "assistant"
    await client.query("BEGIN")
    const bumped = await client.query(
      `UPDATE sessions SET next_seq = next_seq + 1, next_position = next_position + $1,
        updated_at = CASE WHEN updated_at > $2 THEN updated_at ELSE $3 END, tokens_input = tokens_input + $4,
        tokens_output = tokens_output + $5, tokens_cache_read = tokens_cache_read + $6,
        tokens_cache_write = tokens_cache_write + $7, tokens_total = tokens_total + $8, cost = cost + $9
      WHERE id = $10 RETURNING next_seq, next_position`,
      [1, n, n, 0, 0, 0, 0, 0, 0, sessionId]
    )
    const counters = bumped.rows[0] as { next_seq: number; next_position: number }
    await client.query(
      `INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at, tokens_input,
        tokens_output, tokens_cache_read, tokens_cache_write, tokens_total, cost, finish_reason, error, in_context,
        context_tokens) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
      [
        messageId,
        sessionId,
        counters.next_seq,
        role,
        "bench",
        "mock/bench",
        false,
        n,
        0,
        0,
        0,
        0,
        0,
        0,
        null,
        null,
        true,
        124
      ]
    )
    await client.query(
      partsText,
      rawPartValues(partIds, messageId, sessionId, n)
    )
    await client.query(
      `INSERT INTO context_items (session_id, position, item_type, item_id, role, token_count)
      VALUES ($1, $2, 'message', $3, $4, $5)`,
      [sessionId, counters.next_position, messageId, role, 124]
    )
    await client.query("COMMIT")
  }
}

const appendThroughput = (server: string, messages: number, quick: boolean) =>
  withSchema(server, (libraryUrl) =>
    withSchema(server, async (rawUrl): Promise<ReadonlyArray<Figure>> => {
      const runtime = ManagedRuntime.make(PostgresStore.layer({ url: libraryUrl }))
      const store = await runtime.runPromise(Storage.Storage)
      // the raw baseline writes into a schema the store made: the same tables, indexes and guards
      const rawRuntime = ManagedRuntime.make(PostgresStore.layer({ url: rawUrl }))
      const rawSession = await rawRuntime.runPromise(Effect.flatMap(Storage.Storage, newSession))
      await rawRuntime.dispose()
      const client = new pg.Client({ connectionString: rawUrl })
      await client.connect()
      const rawAppend = rawAppender(client)

      const libraryRates: Array<number> = []
      const rawRates: Array<number> = []
      // Library and raw alternate and the median of five rounds is kept (a burst of load elsewhere
      // spoils one round, not the ratio).
      for (let r = 0; r < 5; r++) {
        const sessionId = await runtime.runPromise(newSession(store))
        const batch = await runtime.runPromise(
          Effect.forEach(Array.from({ length: messages }, (_, n) => n), (n) => libraryMessage(sessionId, n))
        )
        const libStart = performance.now()
        await runtime.runPromise(
          Effect.forEach(batch, (message) => store.appendMessage(message), { discard: true })
        )
        libraryRates.push(messages / ((performance.now() - libStart) / 1000))

        const ids = Array.from({ length: messages }, (): readonly [string, ...Array<string>] => [
          Effect.runSync(Ids.messageId),
          ...Array.from({ length: 3 }, () => Effect.runSync(Ids.partId))
        ])
        const rawStart = performance.now()
        for (let n = 0; n < messages; n++) await rawAppend(rawSession, n, ids[n]!)
        rawRates.push(messages / ((performance.now() - rawStart) / 1000))
      }
      await client.end()
      await runtime.dispose()
      const library = median(libraryRates)
      const raw = median(rawRates)
      return [{
        metric: "append throughput (3 parts, 1 tx/message)",
        value: round(library, 0),
        unit: "msg/s",
        baseline: { label: "raw pg client, same statements", value: round(raw, 0) },
        ratio: round(library / raw),
        ...check({ value: library / raw, op: "≥", limit: 0.6, kind: "ratio", label: "ratio", quick })
      }]
    }))

/**
 * Adds `count` stored messages (one text part each) to a session in one statement per table, as
 * the store would number them; only the newest `inContext` are context items (the rest as if
 * compacted away).
 */
const seedHistory = async (url: string, sessionId: string, count: number, inContext: number) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query("BEGIN")
    // ids shaped as the store's (a prefix and 26 characters of the ULID alphabet)
    const id = (prefix: string) => `'${prefix}_' || upper(substr(md5($1 || '${prefix}' || n), 1, 26))`
    const body = `'message ' || n || ': ' || repeat('the quick brown fox jumps over the lazy dog ', 8)`
    await client.query(
      `INSERT INTO messages (id, session_id, seq, role, agent, model, created_at, in_context, context_tokens)
      SELECT ${
        id("msg")
      }, $1, n, CASE WHEN n % 2 = 1 THEN 'user' ELSE 'assistant' END, 'bench', 'mock/bench', n,
        n > $2::int - $3::int, 100
      FROM generate_series(1, $2::int) n`,
      [sessionId, count, inContext]
    )
    await client.query(
      `INSERT INTO parts (id, message_id, session_id, idx, type, content, token_count)
      SELECT ${id("part")}, ${id("msg")}, $1, 0, 'text', jsonb_build_object('text', ${body}), 96
      FROM generate_series(1, $2::int) n`,
      [sessionId, count]
    )
    await client.query(
      `INSERT INTO context_items (session_id, position, item_type, item_id, role, token_count)
      SELECT $1, n - ($2::int - $3::int), 'message', ${
        id("msg")
      }, CASE WHEN n % 2 = 1 THEN 'user' ELSE 'assistant' END, 100
      FROM generate_series($2::int - $3::int + 1, $2::int) n`,
      [sessionId, count, inContext]
    )
    await client.query(
      "UPDATE sessions SET next_seq = $2::int, next_position = $3::int, updated_at = $2::int WHERE id = $1",
      [
        sessionId,
        count,
        inContext
      ]
    )
    await client.query("COMMIT")
    await client.query("ANALYZE")
  } finally {
    await client.end()
  }
}

const config = {
  compaction: { auto: false },
  modelOverrides: { contextLimit: 400_000, maxOutputTokens: 8_000 }
} as const

/** Engine time per `send` (model time subtracted) on a session of `stored` messages. */
const turnOverhead = (server: string, stored: number, turns: number) =>
  withSchema(server, async (url) => {
    const runtime = ManagedRuntime.make(timedLayer(config, PostgresStore.layer({ url })))
    const session = await runtime.runPromise(Session.create({ model: "mock/bench", config }))
    await runtime.runPromise(session.close)
    await seedHistory(url, session.id, stored, 200)
    const loaded = await runtime.runPromise(Session.load(session.id, { config }))
    for (let i = 0; i < 50; i++) await runtime.runPromise(loaded.send(`warm-up ${i}`))
    const samples: Array<number> = []
    for (let i = 0; i < turns; i++) {
      providerClock.ms = 0
      const start = performance.now()
      await runtime.runPromise(loaded.send(`turn ${i}: what next?`))
      samples.push(performance.now() - start - providerClock.ms)
    }
    await runtime.runPromise(loaded.close)
    await runtime.dispose()
    return { p50: percentile(samples, 50), p95: percentile(samples, 95) }
  })

const benchmark: Benchmark = {
  name: "postgres",
  description: "PostgreSQL store: append vs the raw pg client; per-turn overhead at 1K vs 100K messages",
  run: async ({ quick }) => {
    if (serverUrl === undefined || serverUrl.trim() === "") {
      console.log(
        "  skipped: no PostgreSQL server (set MNESIS_BENCH_DATABASE_URL, or run " +
          "`scripts/with-postgres.sh npm run bench -- postgres`)"
      )
      return []
    }
    const server = serverUrl.trim()
    const figures: Array<Figure> = [...(await appendThroughput(server, quick ? 500 : 2_000, quick))]
    const turns = quick ? 100 : 300
    const large = quick ? 20_000 : 100_000
    const small = await turnOverhead(server, 1_000, turns)
    const big = await turnOverhead(server, large, turns)
    figures.push(
      {
        metric: "send engine overhead p50, 1,000 stored messages",
        value: round(small.p50),
        unit: "ms",
        baseline: { label: "p95", value: round(small.p95) }
      },
      {
        metric: `send engine overhead p50, ${large.toLocaleString("en")} stored messages`,
        value: round(big.p50),
        unit: "ms",
        baseline: { label: "1,000 stored messages", value: round(small.p50) },
        ratio: round(big.p50 / small.p50),
        ...check({ value: big.p50 / small.p50, op: "≤", limit: 1.3, kind: "ratio", label: "ratio", quick })
      }
    )
    return figures
  }
}

export default benchmark
