/**
 * The store's conformance suite, run against SQLite in memory and in a temporary file. Any future
 * backend layer (PostgreSQL) is meant to pass the same suite.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Layer } from "effect"
import { Effect, Either, FastCheck } from "effect"
import type { MessageId, PartId, SessionId, SummaryId } from "../../src/Domain.js"
import { FileReference, TokenUsage } from "../../src/Domain.js"
import { StorageError } from "../../src/Errors.js"
import * as Ids from "../../src/internal/ids.js"
import * as Storage from "../../src/Storage.js"
import { nextMacrotask } from "../support/eventLoop.js"
import { append, createSession, layerTempFile, summaryCommit } from "../support/storage.js"

const backends: ReadonlyArray<readonly [string, Layer.Layer<Storage.Storage, unknown>]> = [
  ["memory", Storage.layerMemory],
  ["file", layerTempFile()]
]

describe.each(backends)("Storage (%s)", (_name, backend) => {
  const run = <A, E>(effect: Effect.Effect<A, E, Storage.Storage>) => Effect.provide(effect, backend)

  it.effect("creates, reads and lists sessions", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const parent = yield* createSession()
      const child = yield* createSession({ parentId: parent.id })
      expect((yield* store.getSession(parent.id)).id).toBe(parent.id)
      const children = yield* store.listSessions({ parentId: parent.id })
      expect(children.map((s) => s.id)).toEqual([child.id])
      const unknown = yield* Effect.flip(store.getSession("sess_01J00000000000000000000000" as SessionId))
      expect(unknown._tag).toBe("SessionNotFound")
    })))

  it.effect("refuses a session whose parent does not exist, naming the parent", () =>
    run(Effect.gen(function*() {
      const missing = "sess_01J00000000000000000000001" as SessionId
      const error = yield* Effect.flip(createSession({ parentId: missing }))
      expect(error).toMatchObject({ _tag: "SessionNotFound", sessionId: missing })
    })))

  it.effect("appends messages with gap-free seq, context items and session usage", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const user = yield* append(session.id, "user", "hello there")
      const reply = yield* append(session.id, "assistant", "general kenobi", {
        tokens: TokenUsage.of({ input: 10, output: 5 }),
        cost: 0.5,
        finishReason: "stop"
      })
      expect([user.seq, reply.seq]).toEqual([1, 2])
      expect(reply.text).toBe("general kenobi")
      const items = yield* store.contextItems(session.id)
      expect(items.map((i) => i.id)).toEqual([user.id, reply.id])
      expect(items[0]!.tokenCount).toBe(user.parts[0]!.tokenCount + 4)
      const reloaded = yield* store.getSession(session.id)
      expect(reloaded.messageCount).toBe(2)
      expect(reloaded.tokens).toMatchObject({ input: 10, output: 5, total: 15 })
      expect(reloaded.cost).toBe(0.5)
    })))

  it.effect("appending to an unknown session fails with SessionNotFound and writes nothing", () =>
    run(Effect.gen(function*() {
      const error = yield* Effect.flip(append("sess_01J00000000000000000000002" as SessionId, "user", "x"))
      expect(error._tag).toBe("SessionNotFound")
    })))

  it.effect("a failed turn stays in the history but out of the context", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      yield* append(session.id, "user", "question")
      const failed = yield* append(session.id, "assistant", [], { inContext: false, finishReason: "error" })
      const items = yield* store.contextItems(session.id)
      expect(items.map((i) => i.id)).not.toContain(failed.id)
      const history = yield* store.history(session.id, { limit: 10 })
      expect(history.map((m) => m.finishReason)).toEqual([undefined, "error"])
    })))

  it.effect("50 concurrent appends to one session get unique, gap-free seq values", () =>
    run(Effect.gen(function*() {
      const session = yield* createSession()
      const messages = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => append(session.id, i % 2 === 0 ? "user" : "assistant", `message ${i}`),
        { concurrency: "unbounded" }
      )
      const seqs = messages.map((m) => m.seq).sort((a, b) => a - b)
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
      const store = yield* Storage.Storage
      const items = yield* store.contextItems(session.id)
      expect(new Set(items.map((i) => i.position)).size).toBe(50)
    })))

  it.effect("reads messages by ids in the caller's order with their parts, skipping unknown ids", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const a = yield* append(session.id, "user", [{ type: "text", text: "a1" }, {
        type: "text",
        text: "a2"
      }])
      const b = yield* append(session.id, "assistant", "b")
      const read = yield* store.messages([b.id, "msg_01J00000000000000000000000" as MessageId, a.id])
      expect(read.map((m) => m.id)).toEqual([b.id, a.id])
      expect(read[1]!.parts.map((p) => p.type === "text" ? p.text : "")).toEqual(["a1", "a2"])
    })))

  it.effect("pages through the full history by seq", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      for (let i = 0; i < 25; i++) yield* append(session.id, i % 2 === 0 ? "user" : "assistant", `m${i}`)
      const seen: Array<number> = []
      let after = 0
      for (;;) {
        const page = yield* store.history(session.id, { afterSeq: after, limit: 10 })
        if (page.length === 0) break
        seen.push(...page.map((m) => m.seq))
        after = page[page.length - 1]!.seq
      }
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1))
    })))

  it.effect("tool parts move through their lifecycle; the result is written once", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      yield* append(session.id, "user", "run it")
      const message = yield* append(session.id, "assistant", [
        { type: "tool", toolName: "shell", toolCallId: "call_1", input: { cmd: "ls" }, status: "pending" }
      ])
      const part = message.parts[0]!
      yield* store.updateToolPart(part.id, { status: "running", startedAt: 5, tokenCount: part.tokenCount })
      yield* store.updateToolPart(part.id, {
        status: "completed",
        output: "file-a\nfile-b",
        completedAt: 9,
        tokenCount: part.tokenCount + 20
      })
      const [reread] = yield* store.messages([message.id])
      expect(reread!.parts[0]).toMatchObject({
        type: "tool",
        status: "completed",
        output: "file-a\nfile-b",
        startedAt: 5,
        completedAt: 9,
        input: { cmd: "ls" }
      })
      const item = (yield* store.contextItems(session.id)).find((i) => i.id === message.id)!
      expect(item.tokenCount).toBe(part.tokenCount + 20 + 4)
      const rewrite = yield* Effect.flip(
        store.updateToolPart(part.id, { status: "completed", output: "something else", tokenCount: 1 })
      )
      expect(rewrite._tag).toBe("StorageError")
      const hits = yield* store.search({ sessionIds: [session.id], text: "file-b", limit: 5 })
      expect(hits.map((h) => h.partId)).toEqual([part.id])
    })))

  it.effect("several tool results are written together or not at all", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      yield* append(session.id, "user", "run both")
      const message = yield* append(session.id, "assistant", [
        { type: "tool", toolName: "shell", toolCallId: "call_a", input: { cmd: "ls" }, status: "pending" },
        { type: "tool", toolName: "shell", toolCallId: "call_b", input: { cmd: "pwd" }, status: "pending" }
      ])
      const [a, b] = message.parts
      const before = (yield* store.contextItems(session.id)).find((i) => i.id === message.id)!.tokenCount
      const done = (id: PartId, output: string) => ({
        id,
        update: { status: "completed" as const, output, completedAt: 7, tokenCount: 30 }
      })
      // the second update names a part that does not exist: the first must not be written either
      const failed = yield* Effect.flip(
        store.updateToolParts([done(a!.id, "file-a"), done("part_missing" as PartId, "x")])
      )
      expect(failed._tag).toBe("StorageError")
      const [untouched] = yield* store.messages([message.id])
      expect(untouched!.parts.map((p) => p.type === "tool" && p.status)).toEqual(["pending", "pending"])
      expect((yield* store.contextItems(session.id)).find((i) => i.id === message.id)!.tokenCount).toBe(
        before
      )
      yield* store.updateToolParts([done(a!.id, "file-a"), done(b!.id, "/home")])
      const [written] = yield* store.messages([message.id])
      expect(written!.parts).toMatchObject([
        { status: "completed", output: "file-a" },
        { status: "completed", output: "/home" }
      ])
    })))

  it.effect("a tool result set after its call was indexed becomes searchable too", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const message = yield* append(session.id, "assistant", [
        {
          type: "tool",
          toolName: "fetch",
          toolCallId: "c9",
          input: { url: "https://example.com" },
          status: "pending"
        }
      ])
      // the search indexes the call as it is now: no result yet
      expect((yield* store.search({ sessionIds: [session.id], text: "example", limit: 5 })).length).toBe(1)
      expect((yield* store.search({ sessionIds: [session.id], text: "marmalade", limit: 5 })).length).toBe(0)
      yield* store.updateToolPart(message.parts[0]!.id, {
        status: "completed",
        output: "marmalade recipe",
        tokenCount: 30
      })
      const hits = yield* store.search({ sessionIds: [session.id], text: "marmalade", limit: 5 })
      expect(hits.map((h) => h.partId)).toEqual([message.parts[0]!.id])
      expect((yield* store.search({ sessionIds: [session.id], text: "example", limit: 5 })).length).toBe(1)
    })))

  it.effect("tombstones completed tool outputs once and lowers the context cost", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const message = yield* append(session.id, "assistant", [
        { type: "tool", toolName: "read", toolCallId: "c1", input: {}, output: "x".repeat(400) },
        { type: "tool", toolName: "read", toolCallId: "c2", input: {}, status: "pending" }
      ])
      const [done, pending] = message.parts
      const before = (yield* store.contextItems(session.id))[0]!.tokenCount
      const changed = yield* store.tombstone(session.id, [
        { partId: done!.id, tokenCount: 3 },
        { partId: pending!.id, tokenCount: 3 }
      ], 1234)
      expect(changed).toBe(1)
      const after = (yield* store.contextItems(session.id))[0]!.tokenCount
      expect(after).toBe(before - done!.tokenCount + 3)
      expect(yield* store.tombstone(session.id, [{ partId: done!.id, tokenCount: 3 }], 99)).toBe(0)
      const [reread] = yield* store.messages([message.id])
      expect(reread!.parts[0]).toMatchObject({ compactedAt: 1234, output: "x".repeat(400) })
    })))

  it.effect("commits a compaction round atomically: node, provenance, swap and history", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      for (let i = 0; i < 6; i++) yield* append(session.id, i % 2 === 0 ? "user" : "assistant", `turn ${i}`)
      const items = yield* store.contextItems(session.id)
      const commit = yield* summaryCommit(session.id, items.slice(0, 4), {
        content: "early turns were greetings"
      })
      const summaryMessage = yield* store.commitCompaction(commit)
      expect(summaryMessage.isSummary).toBe(true)
      expect(summaryMessage.seq).toBe(7)

      const after = yield* store.contextItems(session.id)
      expect(after.map((i) => i.kind)).toEqual(["summary", "message", "message"])
      expect(after[0]!.id).toBe(commit.summary.id)
      const sources = yield* store.summarySources(commit.summary.id)
      expect(sources.map((s) => s.id)).toEqual(items.slice(0, 4).map((i) => i.id))
      const covers = yield* store.activeCovers(items.map((i) => i.id))
      expect([...covers.keys()].sort()).toEqual(items.slice(0, 4).map((i) => i.id).sort())

      // condense: a second leaf, then both leaves into one depth-1 node
      const second = yield* summaryCommit(session.id, after.slice(1, 3), { content: "later turns" })
      yield* store.commitCompaction(second)
      const leaves = yield* store.contextItems(session.id)
      const condensed = yield* summaryCommit(session.id, leaves, { content: "everything so far", depth: 1 })
      yield* store.commitCompaction(condensed)
      const [node] = yield* store.summaries([condensed.summary.id])
      expect(node).toMatchObject({
        kind: "condensed",
        depth: 1,
        parents: [commit.summary.id, second.summary.id]
      })
      const [oldLeaf] = yield* store.summaries([commit.summary.id])
      expect(oldLeaf!.supersededBy).toBe(condensed.summary.id)
      const activeNow = yield* store.activeCovers(items.map((i) => i.id))
      expect(new Set(activeNow.values())).toEqual(new Set([condensed.summary.id]))
      const hits = yield* store.search({ sessionIds: [session.id], text: "greetings", limit: 5 })
      expect(hits.map((h) => h.isSummary)).toEqual([true])
    })))

  it.effect("a compaction commit that fails at any step leaves the previous state intact", () =>
    Effect.gen(function*() {
      const steps: ReadonlyArray<Storage.CompactionStep> = [
        "message",
        "node",
        "provenance",
        "supersede",
        "swap"
      ]
      for (const failAt of steps) {
        const onCompactionStep = (step: Storage.CompactionStep) =>
          step === failAt
            ? Effect.fail(new StorageError({ operation: "test", reason: `boom at ${step}` }))
            : Effect.void
        const layer = _name === "memory"
          ? Storage.layerSqlite({ filename: ":memory:", onCompactionStep })
          : layerTempFile({ onCompactionStep })
        yield* Effect.provide(
          Effect.gen(function*() {
            const store = yield* Storage.Storage
            const session = yield* createSession()
            for (let i = 0; i < 4; i++) {
              yield* append(session.id, i % 2 === 0 ? "user" : "assistant", `turn ${i}`)
            }
            const before = yield* store.contextItems(session.id)
            const beforeSession = yield* store.getSession(session.id)
            const commit = yield* summaryCommit(session.id, before.slice(0, 2))
            const error = yield* Effect.flip(store.commitCompaction(commit))
            expect(error).toMatchObject({ _tag: "StorageError", reason: `boom at ${failAt}` })
            expect(yield* store.contextItems(session.id)).toEqual(before)
            expect(yield* store.summaries([commit.summary.id])).toEqual([])
            expect(yield* store.sessionSummaries(session.id)).toEqual([])
            expect(yield* store.messages([commit.message.id])).toEqual([])
            expect((yield* store.getSession(session.id)).messageCount).toBe(beforeSession.messageCount)
            expect(yield* store.activeCovers(before.map((i) => i.id))).toEqual(new Map())
          }),
          layer
        )
      }
    }))

  it.effect("refuses a compaction whose items left the context meanwhile", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      for (let i = 0; i < 4; i++) yield* append(session.id, "user", `turn ${i}`)
      const items = yield* store.contextItems(session.id)
      yield* store.commitCompaction(yield* summaryCommit(session.id, items.slice(0, 2)))
      const stale = yield* Effect.flip(
        store.commitCompaction(yield* summaryCommit(session.id, items.slice(1, 3)))
      )
      expect(stale._tag).toBe("StorageError")
      expect(stale.message).toContain("changed under the round")
    })))

  it.effect("full-text search finds message text, tool input and output, and summaries", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const other = yield* createSession()
      yield* append(session.id, "user", "the zebra crossing")
      yield* append(session.id, "assistant", [
        {
          type: "tool",
          toolName: "grep",
          toolCallId: "c",
          input: { pattern: "flamingo" },
          output: "found pelican"
        }
      ])
      yield* append(other.id, "user", "zebra in another session")
      const search = (text: string) =>
        Effect.map(store.search({ sessionIds: [session.id], text, limit: 10 }), (hits) => hits.length)
      expect(yield* search("zebra")).toBe(1)
      expect(yield* search("flamingo")).toBe(1)
      expect(yield* search("pelican")).toBe(1)
      expect(yield* search("zeb*")).toBe(1)
      expect(yield* search("\"zebra crossing\"")).toBe(1)
      expect(yield* search("crossing zebra")).toBe(1)
      expect(yield* search("absent")).toBe(0)
      const both = yield* store.search({ sessionIds: [session.id, other.id], text: "zebra", limit: 10 })
      expect(both.length).toBe(2)
      expect(both[0]!.snippet).toContain("[zebra]")
    })))

  it.effect("queries full of FTS syntax return results or nothing, never an error", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      yield* append(session.id, "user", "alpha beta NEAR gamma: (delta) -epsilon \"zeta\" * OR AND NOT")
      const nasty = [
        "\"",
        "\"\"\"",
        "*",
        "NEAR(alpha beta)",
        "alpha NEAR/2 beta",
        "-epsilon",
        "body:alpha",
        "session_id:x",
        "(alpha",
        "alpha)",
        "((",
        "alpha AND",
        "OR",
        "NOT alpha",
        "^alpha",
        "alpha + beta",
        "{alpha}",
        "'; DROP TABLE messages; --",
        "\u0000",
        "💥 alpha"
      ]
      for (const text of nasty) {
        const result = yield* Effect.either(store.search({ sessionIds: [session.id], text, limit: 5 }))
        expect(Either.isRight(result), `query ${JSON.stringify(text)}`).toBe(true)
      }
      const hits = yield* store.search({ sessionIds: [session.id], text: "(alpha", limit: 5 })
      expect(hits.length).toBe(1)
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(
            FastCheck.string({ unit: FastCheck.constantFrom(..."\"*():-^+{}[]NEARORANDNOT alpha_\\'") }),
            async (text) => {
              await nextMacrotask()
              const result = await Effect.runPromise(
                Effect.either(store.search({ sessionIds: [session.id], text, limit: 5 }))
              )
              return Either.isRight(result)
            }
          ),
          { numRuns: 300 }
        )
      )
    })))

  it.effect("stores and reads file references by content id", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      const id = Ids.fileId("export const x = 1\n")
      const ref = new FileReference({
        id,
        path: "src/x.ts",
        fileType: "typescript",
        tokenCount: 7,
        summary: "exports x",
        createdAt: 1
      })
      yield* store.putFileReference(ref)
      yield* store.putFileReference(new FileReference({ ...ref, path: "src/moved.ts" }))
      const read = yield* store.getFileReference(id)
      expect(read).toMatchObject({ id, path: "src/moved.ts", summary: "exports x" })
      expect(yield* store.getFileReference(Ids.fileId("other"))).toBeUndefined()
    })))

  it.effect("summarySources and activeCovers are empty for ids nothing covers", () =>
    run(Effect.gen(function*() {
      const store = yield* Storage.Storage
      expect(yield* store.summarySources("sum_01J00000000000000000000000" as SummaryId)).toEqual([])
      expect((yield* store.activeCovers(["msg_01J00000000000000000000000" as MessageId])).size).toBe(0)
    })))
})
