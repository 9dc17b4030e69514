/**
 * A child process for the multi-process store tests. Usage:
 *   node --import tsx test/support/appendWorker.ts <db> append <count> <sessionId,...>
 *   node --import tsx test/support/appendWorker.ts <db> create <sessions> <count>
 * `append` writes `count` messages to each listed session, round-robin; `create` opens the
 * database (racing the other process to migrate it), creates sessions and fills them.
 * Prints one JSON line with what it wrote; exits non-zero on any error.
 */
import { Clock, Effect } from "effect"
import type { SessionId } from "../../src/Domain.js"
import * as Ids from "../../src/internal/ids.js"
import * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"

const [dbPath, mode, arg1, arg2] = process.argv.slice(2)

const appendOne = (store: Storage.Service, sessionId: SessionId, n: number) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* store.appendMessage({
      id: yield* Ids.messageId,
      sessionId,
      role: n % 2 === 0 ? "user" : "assistant",
      agent: `pid-${process.pid}`,
      model: "mock/test",
      createdAt: now,
      parts: [
        { type: "text", id: yield* Ids.partId, tokenCount: 3, text: `message ${n} from ${process.pid}` },
        { type: "text", id: yield* Ids.partId, tokenCount: 3, text: "second part" }
      ]
    })
  })

const program = Effect.gen(function*() {
  const store = yield* Storage.Storage
  if (mode === "append") {
    const sessions = (arg2 ?? "").split(",") as Array<SessionId>
    const count = Number(arg1)
    for (let n = 0; n < count; n++) {
      for (const sessionId of sessions) yield* appendOne(store, sessionId, n)
    }
    return { wrote: count * sessions.length, sessions }
  }
  const sessions: Array<SessionId> = []
  for (let i = 0; i < Number(arg1); i++) {
    const id = yield* Ids.sessionId
    yield* store.createSession({ id, model: "mock/test", agent: "worker", systemPrompt: "", createdAt: 0 })
    sessions.push(id)
  }
  const count = Number(arg2)
  for (let n = 0; n < count; n++) {
    for (const sessionId of sessions) yield* appendOne(store, sessionId, n)
  }
  return { wrote: count * sessions.length, sessions }
})

Effect.runPromise(program.pipe(Effect.provide(SqliteStore.layer({ filename: dbPath! }))))
  .then((result) => {
    process.stdout.write(JSON.stringify(result) + "\n")
  })
  .catch((error: unknown) => {
    process.stderr.write(`worker failed: ${String(error)}\n`)
    process.exit(1)
  })
