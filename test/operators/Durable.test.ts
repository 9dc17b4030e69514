/**
 * Durable runs: each run and each item's status live in the store. A run stopped part way (or a
 * process killed with SIGKILL in the middle of a 200-item run) resumes with `resume(runId)`: only
 * unfinished items run again, a finished item is never paid for twice (provider calls counted
 * across both processes), and the results come out complete.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Schema, Stream } from "effect"
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import type { RunId } from "../../src/Operators.js"
import { AgenticMap, LlmMap } from "../../src/Operators.js"
import * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import { tempDir } from "../support/storage.js"
import { layer, requests, textsOf } from "./support.js"

const Answer = Schema.Struct({ id: Schema.String, words: Schema.Int })

describe("durable runs, in one process", () => {
  it.scoped("a run stopped part way resumes: only unfinished items are called, results come out complete", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const output = NodePath.join(dir, "out.jsonl")
      const items = Array.from({ length: 12 }, (_, i) => ({ id: `item-${i}` }))
      const options = {
        items,
        template: "Count {{ item.id }}",
        schema: Answer,
        model: "mock/map",
        concurrency: 2,
        output: { jsonl: output }
      }
      const first = yield* LlmMap.run(options).pipe(Stream.take(5), Stream.runCollect)
      const runId = Chunk.unsafeHead(first).runId
      const store = yield* Storage.Storage
      const stopped = yield* store.getRun(runId)
      expect(stopped.status).toBe("interrupted")
      expect(stopped.done).toBeGreaterThanOrEqual(5)
      const doneBefore = (yield* store.runItems(runId, { statuses: ["done"], limit: 100 })).map((i) =>
        i.index
      )
      const callsBefore = (yield* requests).length

      const batch = yield* LlmMap.resumeAll(runId, { schema: Answer })
      expect(batch.total).toBe(12)
      expect(batch.successes.map((s) => s.index)).toEqual(Array.from({ length: 12 }, (_, i) => i))
      expect(batch.successes.map((s) => s.input)).toEqual(items)
      // the second start called exactly the items the first had not finished
      const resumed = (yield* requests).slice(callsBefore).map((r) => textsOf(r)[0])
      expect([...resumed].sort()).toEqual(
        items.filter((_, i) => !doneBefore.includes(i)).map((item) => `Count ${item.id}`).sort()
      )
      expect(yield* store.getRun(runId)).toMatchObject({ status: "completed", done: 12, failed: 0 })
      // the results file was written again, whole
      const lines = NodeFs.readFileSync(output, "utf8").trim().split("\n")
      expect(lines).toHaveLength(12)
      // a finished run resumes to its results without a call
      const calls = (yield* requests).length
      const again = yield* LlmMap.resumeAll(runId, { schema: Answer })
      expect(again.successes).toHaveLength(12)
      expect((yield* requests).length).toBe(calls)
    }).pipe(Effect.provide(layer())))

  it.effect("resume refuses a run of the other operator and an unknown id", () =>
    Effect.gen(function*() {
      const batch = yield* LlmMap.runAll({
        items: ["a"],
        template: "{{ item }}",
        schema: Schema.String,
        model: "mock/m"
      })
      const wrong = yield* Effect.flip(AgenticMap.resumeAll(batch.runId))
      expect(wrong).toMatchObject({ _tag: "InvalidInput", field: "runId" })
      const unknown = yield* Effect.flip(
        LlmMap.resumeAll("run_01J00000000000000000000000", { schema: Schema.String })
      )
      expect(unknown._tag).toBe("RunNotFound")
    }).pipe(Effect.provide(layer())))
})

interface WorkerRun {
  readonly runId: string | undefined
  readonly done: ReadonlyArray<number>
  readonly killed: boolean
}

/** Runs the worker; with `killAfter`, SIGKILLs it once that many results were handed on. */
const runWorker = (args: ReadonlyArray<string>, killAfter?: number) =>
  Effect.async<WorkerRun, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/operators/mapWorker.ts", ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let runId: string | undefined
    const done: Array<number> = []
    let killed = false
    let buffer = ""
    let err = ""
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split("\n")
      buffer = lines.pop() ?? ""
      for (const line of lines) {
        if (line.startsWith("RUN ")) runId = line.slice(4)
        if (line.startsWith("DONE ")) done.push(Number(line.slice(5)))
        if (killAfter !== undefined && !killed && done.length >= killAfter) {
          killed = true
          child.kill("SIGKILL")
        }
      }
    })
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()))
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL" || code === 0) return resume(Effect.succeed({ runId, done, killed }))
      resume(Effect.fail(new Error(`worker exited ${code}: ${err}`)))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("durable runs, across processes", () => {
  it.scoped(
    "SIGKILL in the middle of a 200-item run, then resume: every item done once, no finished item paid twice",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const db = NodePath.join(dir, "runs.db")
        const calls = NodePath.join(dir, "calls.log")
        const first = yield* runWorker([db, calls, "start", "200"], 100)
        expect(first.killed).toBe(true)
        const runId = first.runId as RunId
        expect(runId).toMatch(/^run_/)

        // what the store knows after the kill: the finished items, and nothing finished twice
        const store = SqliteStore.layer({ filename: db })
        const before = yield* Effect.scoped(Effect.provide(
          Effect.flatMap(Storage.Storage, (s) =>
            Effect.all([s.getRun(runId), s.runItems(runId, { limit: 1_000 })])),
          store
        ))
        const finishedBefore = new Set(
          before[1].filter((i) =>
            i.status === "done"
          ).map((i) => i.index)
        )
        expect(finishedBefore.size).toBeGreaterThanOrEqual(100)
        expect(finishedBefore.size).toBeLessThan(200)
        expect(before[0].done).toBe(finishedBefore.size)
        const callsBefore = NodeFs.readFileSync(calls, "utf8").trim().split("\n")

        const second = yield* runWorker([db, calls, "resume", runId])
        expect(second.killed).toBe(false)
        // the resumed process hands on every result: the earlier ones first, then the rest
        expect([...second.done].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i))

        const after = yield* Effect.scoped(Effect.provide(
          Effect.flatMap(
            Storage.Storage,
            (s) => Effect.all([s.getRun(runId), s.runItems(runId, { limit: 1_000 })])
          ),
          store
        ))
        expect(after[0]).toMatchObject({ status: "completed", total: 200, done: 200, failed: 0 })
        expect(after[1].every((i) => i.status === "done" && i.attempts === 1 && i.output !== undefined)).toBe(
          true
        )

        // provider calls across both processes: each finished item once; the second process called
        // only what the first had not finished, each exactly once
        const allCalls = NodeFs.readFileSync(calls, "utf8").trim().split("\n")
        const secondCalls = allCalls.slice(callsBefore.length)
        const itemOf = (line: string) => Number(line.replace("Count the words of item-", ""))
        const countBy = (lines: ReadonlyArray<string>) => {
          const counts = new Map<number, number>()
          for (const line of lines) counts.set(itemOf(line), (counts.get(itemOf(line)) ?? 0) + 1)
          return counts
        }
        const secondCounts = countBy(secondCalls)
        for (const index of finishedBefore) {
          expect(secondCounts.has(index), `item ${index} paid twice`).toBe(false)
        }
        expect([...secondCounts.keys()].sort((a, b) => a - b)).toEqual(
          Array.from({ length: 200 }, (_, i) => i).filter((i) => !finishedBefore.has(i))
        )
        expect([...secondCounts.values()].every((n) => n === 1)).toBe(true)
        const firstCounts = countBy(callsBefore)
        for (const index of finishedBefore) expect(firstCounts.get(index)).toBe(1)
      }),
    { timeout: 120_000 }
  )
})
