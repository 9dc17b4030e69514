/**
 * Storage benchmarks.
 *
 * 1. Append throughput: the library's `appendMessage` (3 parts, one transaction per message:
 *    the session row's counters, the message, its parts, its context item) against a raw
 *    node:sqlite loop that writes the same rows with the same statements in the same
 *    transactions. Target ratio ≥ 0.6.
 * 2. Context read: reading a 200-item active context (items + messages with parts) from a session
 *    with 100K stored messages against one with 1K. Target ratio ≤ 1.3 (reads must not scan the
 *    history).
 */
import { Effect, ManagedRuntime } from "effect"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import type { MessageId, SessionId } from "../src/Domain.js"
import * as Ids from "../src/internal/ids.js"
import * as Storage from "../src/Storage.js"
import * as SqliteStore from "../src/storage/sqlite/SqliteStore.js"
import { libraryMessage, newSession, rawPartValues, text } from "./appendWorkload.js"
import type { Benchmark, Figure } from "./harness.js"
import { check, median, round } from "./harness.js"
import { inTransaction } from "./support.js"

/**
 * What `appendMessage` does, on a raw node:sqlite connection: the same statements, prepared once,
 * in the same transaction (`BEGIN IMMEDIATE` … `COMMIT`), with the same JSON encoding of the parts.
 * The floor the store is measured against.
 */
const rawAppender = (db: DatabaseSync) => {
  const begin = db.prepare("BEGIN IMMEDIATE")
  const commit = db.prepare("COMMIT")
  const bump = db.prepare(`UPDATE sessions SET next_seq = next_seq + 1, next_position = next_position + ?,
    updated_at = CASE WHEN updated_at > ? THEN updated_at ELSE ? END, tokens_input = tokens_input + ?,
    tokens_output = tokens_output + ?, tokens_cache_read = tokens_cache_read + ?,
    tokens_cache_write = tokens_cache_write + ?, tokens_total = tokens_total + ?, cost = cost + ?
    WHERE id = ? RETURNING next_seq, next_position`)
  const message = db.prepare(
    `INSERT INTO messages (id, session_id, seq, role, agent, model, is_summary, created_at,
    tokens_input, tokens_output, tokens_cache_read, tokens_cache_write, tokens_total, cost, finish_reason, error,
    in_context, context_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
  const parts = db.prepare(`INSERT INTO parts (id, message_id, session_id, idx, type, content, token_count,
    tool_call_id, tool_name, tool_status, tool_output, tool_error, started_at, completed_at, compacted_at)
    VALUES ${[row, row, row].join(", ")}`)
  const item = db.prepare(
    `INSERT INTO context_items (session_id, position, item_type, item_id, role, token_count)
    VALUES (?, ?, 'message', ?, ?, ?)`
  )
  return (sessionId: string, n: number, [messageId, ...partIds]: readonly [string, ...Array<string>]) => {
    const role = n % 2 === 0 ? "user" : "assistant"
    begin.run()
    const counters = bump.get(1, n, n, 0, 0, 0, 0, 0, 0, sessionId)!
    message.run(
      messageId,
      sessionId,
      counters["next_seq"]!,
      role,
      "bench",
      "mock/bench",
      0,
      n,
      0,
      0,
      0,
      0,
      0,
      0,
      null,
      null,
      1,
      124
    )
    parts.run(...rawPartValues(partIds, messageId, sessionId, n))
    item.run(sessionId, counters["next_position"]!, messageId, role, 124)
    commit.run()
  }
}

/** Fills a fresh session with `count` messages in bulk; only the newest `inContext` are context items. */
const fillSession = (db: DatabaseSync, sessionId: string, count: number, inContext: number) => {
  const insertMessage = db.prepare(`INSERT INTO messages (id, session_id, seq, role, agent, model, created_at,
    in_context, context_tokens) VALUES (?, ?, ?, ?, 'bench', 'mock/bench', ?, ?, 124)`)
  const insertPart = db.prepare(
    `INSERT INTO parts (id, message_id, session_id, idx, type, content, token_count)
    VALUES (?, ?, ?, ?, 'text', ?, 40)`
  )
  const insertItem = db.prepare(`INSERT INTO context_items (session_id, position, item_type, item_id, role,
    token_count) VALUES (?, ?, 'message', ?, ?, 124)`)
  inTransaction(db, () => {
    let position = 0
    for (let n = 1; n <= count; n++) {
      const messageId = Effect.runSync(Ids.messageId)
      const role = n % 2 === 0 ? "assistant" : "user"
      const inCtx = n > count - inContext
      insertMessage.run(messageId, sessionId, n, role, n, inCtx ? 1 : 0)
      for (let i = 0; i < 3; i++) {
        insertPart.run(
          Effect.runSync(Ids.partId),
          messageId,
          sessionId,
          i,
          JSON.stringify({ text: text(n, i) })
        )
      }
      if (inCtx) insertItem.run(sessionId, ++position, messageId, role)
    }
    db.prepare("UPDATE sessions SET next_seq = ?, next_position = ? WHERE id = ?").run(
      count,
      position,
      sessionId
    )
  })
}

const appendThroughput = async (
  dir: string,
  messages: number,
  quick: boolean
): Promise<ReadonlyArray<Figure>> => {
  const libraryFile = NodePath.join(dir, "library.db")
  const runtime = ManagedRuntime.make(SqliteStore.layer({ filename: libraryFile }))
  const store = await runtime.runPromise(Storage.Storage)
  const rawFile = NodePath.join(dir, "raw.db")
  // the raw baseline writes into a database with exactly our schema and pragmas
  const schemaRuntime = ManagedRuntime.make(SqliteStore.layer({ filename: rawFile }))
  const rawStore = await schemaRuntime.runPromise(Storage.Storage)
  const rawSession = await schemaRuntime.runPromise(newSession(rawStore))
  await schemaRuntime.dispose()
  const db = new DatabaseSync(rawFile)
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
  const rawAppend = rawAppender(db)

  const libraryRates: Array<number> = []
  const rawRates: Array<number> = []
  const libraryCpu: Array<number> = []
  const rawCpu: Array<number> = []
  // Library and raw alternate, and the median of five rounds is kept: a burst of load from elsewhere
  // on the machine then spoils one round, not the ratio.
  for (let round = 0; round < 5; round++) {
    const sessionId = await runtime.runPromise(newSession(store))
    const batch = await runtime.runPromise(
      Effect.forEach(Array.from({ length: messages }, (_, n) => n), (n) => libraryMessage(sessionId, n))
    )
    const libStart = performance.now()
    const libCpu = cpuMicros()
    await runtime.runPromise(
      Effect.forEach(batch, (message) => store.appendMessage(message), { discard: true })
    )
    libraryCpu.push((cpuMicros() - libCpu) / messages)
    libraryRates.push(messages / ((performance.now() - libStart) / 1000))

    const ids = Array.from({ length: messages }, (): readonly [string, ...Array<string>] => [
      Effect.runSync(Ids.messageId),
      ...Array.from({ length: 3 }, () => Effect.runSync(Ids.partId))
    ])
    const rawStart = performance.now()
    const rawCpuStart = cpuMicros()
    for (let n = 0; n < messages; n++) rawAppend(rawSession, n, ids[n]!)
    rawCpu.push((cpuMicros() - rawCpuStart) / messages)
    rawRates.push(messages / ((performance.now() - rawStart) / 1000))
  }
  db.close()
  await runtime.dispose()
  const library = median(libraryRates)
  const raw = median(rawRates)
  return [{
    metric: "append throughput (3 parts, 1 tx/message)",
    value: round(library, 0),
    unit: "msg/s",
    baseline: { label: "raw node:sqlite, same statements", value: round(raw, 0) },
    ratio: round(library / raw),
    ...check({ value: library / raw, op: "≥", limit: 0.6, kind: "ratio", label: "ratio", quick })
  }, {
    // CPU time is what the library adds; it moves less than wall time when the machine is shared
    metric: "append CPU time per message (same rounds)",
    value: round(median(libraryCpu), 1),
    unit: "µs",
    baseline: { label: "raw node:sqlite", value: round(median(rawCpu), 1) },
    ratio: round(median(rawCpu) / median(libraryCpu))
  }]
}

/** CPU time of the process (user + system), in microseconds. */
const cpuMicros = () => {
  const usage = process.cpuUsage()
  return usage.user + usage.system
}

const contextRead = async (dir: string, large: number, quick: boolean): Promise<ReadonlyArray<Figure>> => {
  const filename = NodePath.join(dir, "context.db")
  const runtime = ManagedRuntime.make(SqliteStore.layer({ filename }))
  const store = await runtime.runPromise(Storage.Storage)
  const small = await runtime.runPromise(newSession(store))
  const big = await runtime.runPromise(newSession(store))
  const db = new DatabaseSync(filename)
  fillSession(db, small, 1_000, 200)
  fillSession(db, big, large, 200)
  db.close()

  const readContext = (sessionId: SessionId) =>
    Effect.gen(function*() {
      const items = yield* store.contextItems(sessionId)
      const messages = yield* store.messages(items.map((item) => item.id as MessageId))
      if (messages.length !== 200) throw new Error(`expected 200 messages, read ${messages.length}`)
    })
  const timeReads = async (sessionId: SessionId) => {
    const samples: Array<number> = []
    for (let rep = 0; rep < 5; rep++) {
      const start = performance.now()
      await runtime.runPromise(Effect.repeatN(readContext(sessionId), 49))
      samples.push((performance.now() - start) / 50)
    }
    return median(samples)
  }
  await timeReads(small) // warm-up
  await timeReads(big)
  const smallMs = await timeReads(small)
  const bigMs = await timeReads(big)
  await runtime.dispose()
  return [{
    metric: `read a 200-item context, ${large.toLocaleString("en")}-message session`,
    value: round(bigMs),
    unit: "ms",
    baseline: { label: "1,000-message session", value: round(smallMs) },
    ratio: round(bigMs / smallMs),
    ...check({ value: bigMs / smallMs, op: "≤", limit: 1.3, kind: "ratio", label: "ratio", quick })
  }]
}

const benchmark: Benchmark = {
  name: "storage",
  description: "append throughput vs raw node:sqlite; context read time vs history size",
  run: async ({ quick, tmpDir }) => [
    ...(await appendThroughput(tmpDir, quick ? 1_000 : 3_000, quick)),
    ...(await contextRead(tmpDir, quick ? 20_000 : 100_000, quick))
  ]
}

export default benchmark
