/**
 * One exchange, one transaction: `record`'s user message and reply are written together, so no
 * other writer's message lands between them and no failure leaves a question without its answer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { spawn } from "node:child_process"
import type { Message } from "../../src/Domain.js"
import * as Ids from "../../src/internal/ids.js"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"
import { MnesisTest, sharedDatabase } from "../support/backend.js"
import { createSession, withIds } from "../support/storage.js"

const MODEL = "mock/exchange"

/** Runs the record worker to its end. */
const runWorker = (db: string, sessionId: string, name: string, count: number) =>
  Effect.async<void, Error>((resume) => {
    const child = spawn(process.execPath, [
      "--import",
      "tsx",
      "test/session/recordWorker.ts",
      db,
      sessionId,
      name,
      String(count)
    ], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()))
    child.on("exit", (code) =>
      resume(
        code === 0 && out.includes("DONE")
          ? Effect.void
          : Effect.fail(new Error(`worker ${name} exited ${code}: ${err}`))
      ))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** The exchanges that are not a question directly followed by its own answer. */
const brokenPairs = (messages: ReadonlyArray<Message>) => {
  const broken: Array<string> = []
  messages.forEach((message, index) => {
    if (message.role !== "user") return
    const expected = message.text.replace(/^question/, "answer")
    const next = messages[index + 1]
    if (next?.role !== "assistant" || next.text !== expected) {
      broken.push(`${message.text} → ${next?.text ?? "nothing"}`)
    }
  })
  return broken
}

describe("record writes an exchange in one transaction", () => {
  it.scoped(
    "two processes recording 100 exchanges each into one session keep every question next to its answer",
    () =>
      Effect.gen(function*() {
        const database = yield* sharedDatabase
        const session = yield* Session.create({
          model: MODEL,
          storage: database.layer()
        })
        yield* Effect.all([
          runWorker(database.location, session.id, "a", 100),
          runWorker(database.location, session.id, "b", 100)
        ], { concurrency: "unbounded" })
        const messages = yield* session.messages()
        expect(messages).toHaveLength(400)
        expect(brokenPairs(messages)).toEqual([])
        expect(yield* session.history()).toHaveLength(200)
        yield* session.close
      }).pipe(Effect.provide(MnesisTest)),
    120_000
  )

  it.effect("appendMessages writes every message or none", () =>
    Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const message = (sessionId: typeof session.id, role: "user" | "assistant", text: string) =>
        Effect.gen(function*() {
          return {
            id: yield* Ids.messageId,
            sessionId,
            role,
            agent: "default",
            model: MODEL,
            createdAt: yield* Clock.currentTimeMillis,
            parts: yield* withIds([{ type: "text", text }])
          } satisfies Storage.NewMessage
        })
      const missing = yield* Ids.sessionId
      const failed = yield* Effect.flip(store.appendMessages([
        yield* message(session.id, "user", "the question"),
        yield* message(missing, "assistant", "an answer for a session that does not exist")
      ]))
      expect(failed).toMatchObject({ _tag: "SessionNotFound" })
      expect(yield* store.history(session.id, { limit: 10 })).toEqual([])
      expect(yield* store.contextItems(session.id)).toEqual([])

      const written = yield* store.appendMessages([
        yield* message(session.id, "user", "the question"),
        yield* message(session.id, "assistant", "the answer")
      ])
      expect(written.map((m) => m.seq)).toEqual([1, 2])
      const stored = yield* store.history(session.id, { limit: 10 })
      expect(stored.map((m) => m.text)).toEqual(["the question", "the answer"])
      expect((yield* store.contextItems(session.id)).map((item) => item.id)).toEqual(written.map((m) => m.id))
    }).pipe(Effect.provide(MnesisTest)))
})
