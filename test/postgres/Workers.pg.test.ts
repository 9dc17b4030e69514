/**
 * Many workers on one PostgreSQL database: worker processes (test/postgres/worker.ts) run sessions
 * with background compaction at once — each on sessions of its own, and two of them on one shared
 * session — and the database alone keeps them apart (row locks, database-assigned numbers, the
 * compaction lease). Then a worker killed with SIGKILL inside a round's commit: the round is in the
 * database whole or not at all, and another worker compacts the session once the lease runs out.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import type { SessionId } from "../../src/Domain.js"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"
import { adminQuery, makeTest, postgresUrl, sharedDatabase } from "../support/backend.js"
import { checkDag } from "../support/dag.js"
import { exec } from "../support/process.js"
import { createSession } from "../support/storage.js"

const WORKERS = 4
const SESSIONS = 50
const TURNS = 40
const SHARED_TURNS = 40

const worker = (args: ReadonlyArray<string>) =>
  Effect.promise(() =>
    exec(process.execPath, ["--import", "tsx", "test/postgres/worker.ts", ...args], {
      cwd: process.cwd(),
      timeoutMs: 900_000
    })
  )

interface Round {
  readonly sessionId: string
  readonly start: number
  readonly end: number
  readonly worker: number
}

const roundsOf = (stdout: string, worker: number): Array<Round> =>
  stdout.split("\n").filter((line) => line.startsWith("ROUND ")).map((line) => {
    const [, sessionId, start, end] = line.split(" ")
    return { sessionId: sessionId!, start: Number(start), end: Number(end), worker }
  })

/** Rounds of one session that ran at the same time in two processes. */
const overlapping = (rounds: ReadonlyArray<Round>) => {
  const bySession = new Map<string, Array<Round>>()
  for (const round of rounds) {
    bySession.set(round.sessionId, [...(bySession.get(round.sessionId) ?? []), round])
  }
  const out: Array<string> = []
  for (const [sessionId, list] of bySession) {
    const sorted = [...list].sort((a, b) => a.start - b.start)
    for (let i = 1; i < sorted.length; i++) {
      const [before, after] = [sorted[i - 1]!, sorted[i]!]
      if (after.start < before.end) {
        out.push(
          `${sessionId}: worker ${before.worker} until ${before.end}, worker ${after.worker} from ${after.start}`
        )
      }
    }
  }
  return out
}

/** A session's messages (summaries aside): gap-free seqs overall, and what each holds. */
const stored = (sessionId: SessionId) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const all = yield* store.history(sessionId, { limit: 100_000 })
    const seqs = all.map((m) => m.seq)
    expect(seqs, `seq of ${sessionId}`).toEqual(Array.from({ length: all.length }, (_, i) => i + 1))
    return all.filter((m) => !m.isSummary)
  })

describe.runIf(postgresUrl !== undefined)("many workers on one PostgreSQL database", () => {
  it.scopedLive(
    `${WORKERS} processes × ${SESSIONS} sessions × ${TURNS} turns with background rounds, and two processes sharing one session`,
    () =>
      Effect.gen(function*() {
        const database = yield* sharedDatabase
        const shared = yield* Effect.provide(createSession({ model: "mock/small" }), database.layer())
        const runs = yield* Effect.all(
          [
            ...Array.from(
              { length: WORKERS },
              () => worker([database.location, "many", String(SESSIONS), String(TURNS), "10"])
            ),
            worker([database.location, "shared", shared.id, String(SHARED_TURNS), "left"]),
            worker([database.location, "shared", shared.id, String(SHARED_TURNS), "right"])
          ],
          { concurrency: "unbounded" }
        )
        for (const run of runs) {
          expect(run.stderr.includes("worker failed"), run.stderr).toBe(false)
          expect(run.code, run.stderr).toBe(0)
          expect(run.stdout).toContain("DONE")
        }
        const sessions = runs.flatMap((run) =>
          run.stdout.split("\n").filter((line) => line.startsWith("SESSION ")).map((line) =>
            line.slice(8) as SessionId
          )
        )
        expect(new Set(sessions).size).toBe(WORKERS * SESSIONS)
        const rounds = runs.flatMap((run, i) => roundsOf(run.stdout, i))
        expect(rounds.length).toBeGreaterThan(WORKERS * SESSIONS)
        // no two rounds of one session at once, across every process
        expect(overlapping(rounds)).toEqual([])
        expect(new Set(rounds.filter((r) => r.sessionId === shared.id).map((r) => r.worker)).size)
          .toBeGreaterThan(0)

        yield* Effect.gen(function*() {
          const store = yield* Storage.Storage
          // nothing lost, nothing duplicated or overlapping: each session holds its turns in order,
          // and every original is reachable exactly once (in the context or under one summary)
          for (const [i, sessionId] of sessions.entries()) {
            const messages = yield* stored(sessionId)
            expect(messages.length, sessionId).toBe(TURNS * 2)
            const questions = messages.filter((m) => m.role === "user").map((m) => m.text)
            expect(questions.filter((text, turn) => !text.startsWith(`Turn ${turn} from`)), sessionId)
              .toEqual([])
            const dag = yield* checkDag(sessionId)
            expect(dag.problems, sessionId).toEqual([])
            expect((yield* store.sessionSummaries(sessionId)).length).toBeGreaterThan(0)
            expect((yield* store.snapshots(sessionId)).map((s) => s.turn)).toEqual(
              Array.from({ length: TURNS }, (_, turn) => turn + 1)
            )
            if (i % 20 === 0) yield* Effect.yieldNow()
          }
          // the shared session: both processes' turns, each once, numbered by the database
          const messages = yield* stored(shared.id)
          expect(messages.length).toBe(2 * SHARED_TURNS * 2)
          for (const who of ["left", "right"]) {
            expect(messages.filter((m) => m.role === "user" && m.text.includes(` from ${who}:`)).length).toBe(
              SHARED_TURNS
            )
          }
          expect((yield* store.snapshots(shared.id)).map((s) => s.turn)).toEqual(
            Array.from({ length: 2 * SHARED_TURNS }, (_, turn) => turn + 1)
          )
          expect((yield* checkDag(shared.id)).problems).toEqual([])
        }).pipe(Effect.provide(database.layer()))

        // every session loads and gives a context for its next turn
        yield* Effect.gen(function*() {
          for (const sessionId of [...sessions, shared.id]) {
            const session = yield* Session.load(sessionId)
            expect((yield* session.contextForNextTurn()).messages.length).toBeGreaterThan(0)
            yield* session.close
          }
        }).pipe(Effect.scoped, Effect.provide(makeTest({ storage: database.layer() })))
      }),
    900_000
  )

  it.scopedLive(
    "kill -9 of a worker inside a round's commit: the round is whole or absent, and another worker compacts after",
    () =>
      Effect.gen(function*() {
        const database = yield* sharedDatabase
        // the victim pauses inside every commit; the parent kills it at the first
        const victim = yield* Effect.async<{ readonly sessionId: SessionId }, Error>((resume) => {
          const child = spawn(process.execPath, [
            "--import",
            "tsx",
            "test/postgres/worker.ts",
            database.location,
            "victim",
            "new",
            "200"
          ], { stdio: ["ignore", "pipe", "pipe"] })
          let sessionId: string | undefined
          let buffer = ""
          let stderr = ""
          child.stdout.on("data", (chunk: Buffer) => {
            buffer += chunk.toString()
            for (const line of buffer.split("\n").slice(0, -1)) {
              if (line.startsWith("SESSION ")) sessionId = line.slice(8)
              if (line === "COMMITTING") child.kill("SIGKILL")
            }
            buffer = buffer.slice(buffer.lastIndexOf("\n") + 1)
          })
          child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
          child.on("exit", (_, signal) => {
            if (signal === "SIGKILL" && sessionId !== undefined) {
              resume(Effect.succeed({ sessionId: sessionId as SessionId }))
            } else {resume(
                Effect.fail(new Error(`the victim ended without being killed in a commit: ${stderr}`))
              )}
          })
          return Effect.sync(() => child.kill("SIGKILL"))
        })
        const before = yield* Effect.gen(function*() {
          const store = yield* Storage.Storage
          const dag = yield* checkDag(victim.sessionId)
          // whole or absent: every original reachable exactly once, no half-written summary
          expect(dag.problems).toEqual([])
          return (yield* store.sessionSummaries(victim.sessionId)).length
        }).pipe(Effect.provide(database.layer()))
        // the dead worker's lease is still there: it died holding the session's compaction
        const leases = yield* adminQuery(database.location, "SELECT session_id FROM compaction_leases")
        expect(leases.map((row) => row["session_id"])).toEqual([victim.sessionId])

        const survivor = yield* worker([database.location, "shared", victim.sessionId, "30", "survivor"])
        expect(survivor.code, survivor.stderr).toBe(0)
        expect(
          survivor.stdout.split("\n").filter((line) => line.startsWith(`ROUND ${victim.sessionId}`)).length
        )
          .toBeGreaterThan(0)
        yield* Effect.gen(function*() {
          const store = yield* Storage.Storage
          expect((yield* store.sessionSummaries(victim.sessionId)).length).toBeGreaterThan(before)
          const dag = yield* checkDag(victim.sessionId)
          expect(dag.problems).toEqual([])
          expect(dag.activeSummaries).toBeGreaterThan(0)
        }).pipe(Effect.provide(database.layer()))
      }),
    300_000
  )
})
