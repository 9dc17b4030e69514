/**
 * Crashes during compaction: a failure at any step of the commit leaves the previous state; a
 * process killed with SIGKILL in the middle of a commit leaves a database that passes its integrity
 * check and the DAG invariants, and the session carries on after reopening.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import type { SessionId } from "../../src/Domain.js"
import { StorageError } from "../../src/Errors.js"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"
import { makeTest, sharedDatabase, testStore } from "../support/backend.js"
import { checkDag } from "../support/dag.js"

const config = {
  compaction: { compactionOutputBudget: 1_000, auto: false, prune: false },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

interface WorkerRun {
  readonly sessionId: SessionId
  readonly killed: boolean
}

/** Runs the worker; kills it with SIGKILL at its first COMMITTING line when `kill` is set. */
const runWorker = (db: string, session: string, turns: number, kill: boolean) =>
  Effect.async<WorkerRun, Error>((resume) => {
    const child = spawn(process.execPath, [
      "--import",
      "tsx",
      "test/support/compactionWorker.ts",
      db,
      session,
      String(turns)
    ], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let sessionId: string | undefined
    let killed = false
    let err = ""
    let buffer = ""
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      for (const line of buffer.split("\n").slice(0, -1)) {
        if (line.startsWith("SESSION ")) sessionId = line.slice(8)
        if (line === "COMMITTING" && kill && !killed) {
          killed = true
          child.kill("SIGKILL")
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n") + 1)
    })
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()))
    child.on("exit", (code, signal) => {
      if (sessionId === undefined) return resume(Effect.fail(new Error(`worker started no session: ${err}`)))
      if (signal === "SIGKILL" || code === 0) {
        return resume(Effect.succeed({ sessionId: sessionId as SessionId, killed }))
      }
      resume(Effect.fail(new Error(`worker exited ${code}: ${err}`)))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("crashes during compaction", () => {
  it.effect.each(["message", "node", "provenance", "supersede", "swap"] as const)(
    "an error at the %s step of the commit leaves the previous state and the session goes on",
    (failAt) =>
      Effect.gen(function*() {
        const session = yield* Session.create({ model: "mock/small", config })
        const store = yield* Storage.Storage
        for (let i = 0; i < 10; i++) yield* session.send(`turn ${i} ` + "words ".repeat(80))
        const items = yield* store.contextItems(session.id)
        const result = yield* session.compact()
        expect(result.compacted).toBe(false)
        expect(yield* store.contextItems(session.id)).toEqual(items)
        expect(yield* store.sessionSummaries(session.id)).toEqual([])
        expect((yield* checkDag(session.id)).problems).toEqual([])
        expect((yield* session.send("and on")).text).toContain("and on")
      }).pipe(Effect.provide(makeTest({
        config,
        storage: testStore({
          onCompactionStep: (step) =>
            step === failAt
              ? Effect.fail(new StorageError({ operation: "test", reason: `fail at ${step}` }))
              : Effect.void
        })
      })))
  )

  it.scoped(
    "SIGKILL in the middle of a commit: the reopened database is intact and consistent",
    () =>
      Effect.gen(function*() {
        const database = yield* sharedDatabase
        let session = "new"
        for (let round = 0; round < 2; round++) {
          // Enough turns to outlast the killed worker's compaction lease (2 s in the worker): until it
          // lapses the next worker's rounds wait, and a fast machine would otherwise finish its turns
          // before any commit. The worker is killed at its first commit, so the count costs nothing.
          const run = yield* runWorker(database.location, session, 2_000, true)
          expect(run.killed).toBe(true)
          session = run.sessionId
          expect(yield* database.integrity).toBe("ok")
          const report = yield* Effect.scoped(Effect.provide(checkDag(run.sessionId), database.layer()))
          expect(report.problems).toEqual([])
          expect(report.messages).toBeGreaterThan(0)
        }
        // after the crashes the session completes normally, compacting as it goes
        const last = yield* runWorker(database.location, session, 15, false)
        expect(last.killed).toBe(false)
        const report = yield* Effect.scoped(Effect.provide(checkDag(last.sessionId), database.layer()))
        expect(report.problems).toEqual([])
        expect(report.activeSummaries).toBeGreaterThan(0)
      }),
    { timeout: 120_000 }
  )
})
