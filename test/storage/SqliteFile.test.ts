/**
 * What only a file-backed SQLite store can show: reopening, migrations, version and corruption
 * checks, permissions, database-level append-only guarantees and several processes at once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import type { SessionId } from "../../src/Domain.js"
import * as Storage from "../../src/Storage.js"
import { LATEST_SCHEMA_VERSION, migrations } from "../../src/storage/sqlite/migrations.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import { append, createSession, firstColumn, tempDbPath, tempDir } from "../support/storage.js"

const open = <A, E>(filename: string, effect: Effect.Effect<A, E, Storage.Storage>) =>
  Effect.scoped(Effect.provide(effect, SqliteStore.layer({ filename })))

const openError = (filename: string) => Effect.flip(Effect.scoped(buildStore(filename)))

// Building the layer alone is enough to run every open-time check.
const buildStore = (filename: string) => Effect.provide(Storage.Storage, SqliteStore.layer({ filename }))

/** Runs the append worker in a child process; resolves with its JSON report. */
const runWorker = (args: ReadonlyArray<string>) =>
  Effect.async<{ wrote: number; sessions: Array<SessionId> }, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/support/appendWorker.ts", ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()))
    child.on("exit", (code) => {
      if (code === 0) resume(Effect.succeed(JSON.parse(out) as { wrote: number; sessions: Array<SessionId> }))
      else resume(Effect.fail(new Error(`worker exited ${code}: ${err}`)))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Checks every session has `expected` messages with seq 1..expected and one context item each. */
const checkSessions = (filename: string, sessions: ReadonlyArray<SessionId>, expected: number) => {
  const db = new DatabaseSync(filename, { readOnly: true })
  try {
    for (const id of sessions) {
      const seqs = firstColumn(
        db.prepare("SELECT seq FROM messages WHERE session_id = ? ORDER BY seq").all(id)
      )
      expect(seqs).toEqual(Array.from({ length: expected }, (_, i) => i + 1))
      const items =
        firstColumn(db.prepare("SELECT count(*) FROM context_items WHERE session_id = ?").all(id))[0]
      expect(items).toBe(expected)
      const parts = firstColumn(db.prepare("SELECT count(*) FROM parts WHERE session_id = ?").all(id))[0]
      expect(parts).toBe(expected * 2)
    }
    expect(firstColumn(db.prepare("PRAGMA integrity_check").all())).toEqual(["ok"])
  } finally {
    db.close()
  }
}

describe("SQLite file store", () => {
  it.scoped("keeps everything across close and reopen", () =>
    Effect.gen(function*() {
      const filename = yield* tempDbPath
      const { session, ids } = yield* open(
        filename,
        Effect.gen(function*() {
          const session = yield* createSession()
          const a = yield* append(session.id, "user", "remember the number 42")
          const b = yield* append(session.id, "assistant", "noted")
          return { session, ids: [a.id, b.id] }
        })
      )
      const reread = yield* open(
        filename,
        Effect.gen(function*() {
          const store = yield* Storage.Storage
          return {
            session: yield* store.getSession(session.id),
            messages: yield* store.messages(ids),
            hits: yield* store.search({ sessionIds: [session.id], text: "42", limit: 5 })
          }
        })
      )
      expect(reread.session.messageCount).toBe(2)
      expect(reread.messages.map((m) => m.text)).toEqual(["remember the number 42", "noted"])
      expect(reread.hits.length).toBe(1)
    }))

  it.scoped("applies migrations once: opening again is a no-op", () =>
    Effect.gen(function*() {
      const filename = yield* tempDbPath
      yield* open(filename, createSession())
      yield* open(filename, createSession())
      const db = new DatabaseSync(filename, { readOnly: true })
      const rows = firstColumn(db.prepare("SELECT migration_id FROM effect_sql_migrations").all())
      const sessions = firstColumn(db.prepare("SELECT count(*) FROM sessions").all())[0]
      db.close()
      // each migration recorded once, the last one being the version this code writes
      expect(rows).toEqual(migrations.map(([id]) => id))
      expect(rows.at(-1)).toBe(LATEST_SCHEMA_VERSION)
      expect(sessions).toBe(2)
    }))

  it.scoped("refuses a database written by a newer mnesis with SchemaTooNew", () =>
    Effect.gen(function*() {
      const filename = yield* tempDbPath
      yield* open(filename, createSession())
      const db = new DatabaseSync(filename)
      db.prepare("INSERT INTO effect_sql_migrations (migration_id, name) VALUES (?, ?)").run(999, "future")
      db.close()
      const error = yield* openError(filename)
      expect(error).toMatchObject({ _tag: "SchemaTooNew", found: 999, supported: LATEST_SCHEMA_VERSION })
      expect(error.message).toContain("upgrade mnesis")
    }))

  it.scoped("a file that is not SQLite gives DatabaseCorrupt", () =>
    Effect.gen(function*() {
      const filename = yield* tempDbPath
      NodeFs.writeFileSync(filename, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 256)))
      const error = yield* openError(filename)
      expect(error._tag).toBe("DatabaseCorrupt")
      expect(error.message).toContain(filename)
    }))

  it.scoped("a SQLite file with damaged pages gives DatabaseCorrupt, not a raw driver error", () =>
    Effect.gen(function*() {
      const filename = yield* tempDbPath
      yield* open(filename, createSession())
      const db = new DatabaseSync(filename)
      db.exec("PRAGMA journal_mode = DELETE")
      db.close()
      const bytes = NodeFs.readFileSync(filename)
      // keep the 100-byte header, scribble over the schema page and everything after it
      for (let i = 100; i < bytes.length; i++) bytes[i] = (i * 31) % 251
      NodeFs.writeFileSync(filename, bytes)
      const error = yield* openError(filename)
      expect(error._tag).toBe("DatabaseCorrupt")
    }))

  it.scoped("a read-only location gives a StorageError that says so", () =>
    Effect.gen(function*() {
      if (process.getuid?.() === 0) {
        // root ignores permission bits; a path under a regular file is unwritable for everyone
        const dir = yield* tempDir
        const file = NodePath.join(dir, "not-a-dir")
        NodeFs.writeFileSync(file, "")
        const error = yield* openError(NodePath.join(file, "store.db"))
        expect(error._tag).toBe("StorageError")
        expect(error.message).toContain("cannot create the directory")
        return
      }
      const dir = yield* tempDir
      NodeFs.chmodSync(dir, 0o500)
      const error = yield* openError(NodePath.join(dir, "store.db"))
      NodeFs.chmodSync(dir, 0o700)
      expect(error._tag).toBe("StorageError")
      expect(error.message).toContain("read-only")
    }))

  it.scoped("a directory in place of the database file gives a StorageError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* openError(dir)
      expect(error._tag).toBe("StorageError")
      expect(error.message).toContain("not a regular file")
    }))

  it.scoped("the database itself refuses to rewrite or delete content", () =>
    Effect.gen(function*() {
      const filename = yield* tempDbPath
      const message = yield* open(
        filename,
        Effect.gen(function*() {
          const session = yield* createSession()
          return yield* append(session.id, "assistant", [
            { type: "text", text: "original" },
            { type: "tool", toolName: "t", toolCallId: "c", input: {}, output: "result" }
          ])
        })
      )
      const db = new DatabaseSync(filename)
      const attempts = [
        () =>
          db.prepare("UPDATE parts SET content = '{\"text\":\"forged\"}' WHERE message_id = ?").run(
            message.id
          ),
        () =>
          db.prepare("UPDATE parts SET tool_output = 'forged' WHERE message_id = ? AND type = 'tool'").run(
            message.id
          ),
        () => db.prepare("UPDATE messages SET role = 'user' WHERE id = ?").run(message.id),
        () => db.prepare("DELETE FROM parts WHERE message_id = ?").run(message.id),
        () => db.prepare("DELETE FROM messages WHERE id = ?").run(message.id)
      ]
      for (const attempt of attempts) expect(attempt).toThrow(/mnesis: .* (append-only|written once)/)
      db.close()
      const [reread] = yield* open(
        filename,
        Effect.flatMap(Storage.Storage, (store) => store.messages([message.id]))
      )
      expect(reread!.text).toBe("original")
    }))

  it.scoped(
    "two processes appending to the same 8 sessions at once lose nothing",
    () =>
      Effect.gen(function*() {
        const filename = yield* tempDbPath
        const sessions = yield* open(
          filename,
          Effect.forEach(Array.from({ length: 8 }), () => createSession())
        )
        const ids = sessions.map((s) => s.id).join(",")
        const [a, b] = yield* Effect.all([
          runWorker([filename, "append", "40", ids]),
          runWorker([filename, "append", "40", ids])
        ], { concurrency: 2 })
        expect(a.wrote + b.wrote).toBe(640)
        checkSessions(filename, sessions.map((s) => s.id), 80)
      }),
    { timeout: 60_000 }
  )

  it.scoped(
    "two processes racing to create and migrate a new database both succeed",
    () =>
      Effect.gen(function*() {
        const filename = yield* tempDbPath
        const [a, b] = yield* Effect.all([
          runWorker([filename, "create", "4", "30"]),
          runWorker([filename, "create", "4", "30"])
        ], { concurrency: 2 })
        checkSessions(filename, [...a.sessions, ...b.sessions], 30)
      }),
    { timeout: 60_000 }
  )
})
