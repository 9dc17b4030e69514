/**
 * The store's contract, as a suite any backend runs: `conformance(name, backend)` registers it for
 * one backend (see test/storage/conformance.test.ts). It exercises every method of
 * `Storage.Service`, the version rule the context cache depends on, store-assigned seq and turn
 * numbers, two handles on one database writing at once, fault injection at every statement of
 * every write, and whole-session deletion, retention, export and import. Nothing here knows which
 * database it runs on: what differs comes through `Backend`.
 */
import type { Connection } from "@effect/sql/SqlConnection"
import { describe, expect, it } from "@effect/vitest"
import type { Scope } from "effect"
import { Effect, Either, Exit, FastCheck, Stream, TestClock } from "effect"
import type { ArchiveRecord } from "../../src/Archive.js"
import * as Archive from "../../src/Archive.js"
import type { MessageId, PartId, SessionId, SummaryId } from "../../src/Domain.js"
import { FileReference, TokenUsage } from "../../src/Domain.js"
import * as Ids from "../../src/internal/ids.js"
import * as MemoryTools from "../../src/MemoryTools.js"
import * as Storage from "../../src/Storage.js"
import { append, createSession, summaryCommit, withIds } from "../support/storage.js"
import { INJECTED, makeFaults } from "./faults.js"

export interface OpenOptions {
  /** Wraps the handle's database connection (fault injection). */
  readonly wrapConnection?: ((connection: Connection) => Connection) | undefined
}

/** One database of a backend. */
export interface Database {
  /** A new handle on this database: its own store service (and connection, where it has several). */
  readonly open: (
    options?: OpenOptions
  ) => Effect.Effect<Storage.Service, Storage.StoreOpenFailure, Scope.Scope>
  /** Every row of every table, for checks that no trace of something is left anywhere. */
  readonly rows: Effect.Effect<
    ReadonlyArray<{ readonly table: string; readonly rows: ReadonlyArray<unknown> }>
  >
}

export interface Backend {
  /** A fresh, empty database, removed when the scope closes. */
  readonly database: Effect.Effect<Database, unknown, Scope.Scope>
}

const count = (text: string) => Math.ceil(text.length / 4)

/** Everything a session shows through the store's reads, for before/after comparisons. */
const observe = (sessionIds: ReadonlyArray<SessionId>) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const out: Array<unknown> = []
    for (const id of sessionIds) {
      const session = yield* Effect.either(store.getSession(id))
      out.push(
        Either.isLeft(session) ? session.left._tag : session.right,
        yield* store.history(id, { limit: 100_000 }),
        yield* store.contextSince(id),
        yield* store.sessionSummaries(id),
        yield* store.snapshots(id)
      )
    }
    return out
  })

/** A session with a bit of everything: tool parts, a file reference, a failed turn, two leaves and a condensation. */
const richSession = (options: { readonly parentId?: SessionId; readonly file?: Storage.NewFile } = {}) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const session = yield* createSession(options.parentId === undefined ? {} : { parentId: options.parentId })
    yield* append(session.id, "user", "the zebra question")
    const tools = yield* append(session.id, "assistant", [
      { type: "reasoning", text: "think", signature: "sig" },
      { type: "tool", toolName: "read", toolCallId: "call_1", input: { path: "a.ts" }, status: "pending" },
      { type: "tool", toolName: "grep", toolCallId: "call_2", input: {}, output: "pelican found" }
    ], { tokens: TokenUsage.of({ input: 12, output: 3 }), cost: 0.25, finishReason: "tool_calls" })
    yield* store.updateToolPart(tools.parts[1]!.id, {
      status: "completed",
      output: "marmalade",
      completedAt: 3,
      tokenCount: 9
    })
    if (options.file !== undefined) {
      const ref = options.file.reference
      yield* store.putFile(options.file)
      yield* append(session.id, "user", [{
        type: "file_ref",
        fileId: ref.id,
        path: ref.path,
        fileType: ref.fileType,
        fileTokens: ref.tokenCount,
        summary: ref.summary
      }])
    }
    yield* append(session.id, "assistant", [], { inContext: false, finishReason: "error" })
    for (let i = 0; i < 6; i++) {
      yield* append(session.id, i % 2 === 0 ? "user" : "assistant", `okapi turn ${i}`)
    }
    yield* store.tombstone(session.id, [{ partId: tools.parts[2]!.id, tokenCount: 2 }], 5)
    const items = yield* store.contextItems(session.id)
    yield* store.commitCompaction(
      yield* summaryCommit(session.id, items.slice(0, 3), { content: "zebra leaf" })
    )
    const after = yield* store.contextItems(session.id)
    yield* store.commitCompaction(
      yield* summaryCommit(session.id, after.slice(1, 3), { content: "okapi leaf" })
    )
    const leaves = yield* store.contextItems(session.id)
    yield* store.commitCompaction(
      yield* summaryCommit(session.id, leaves.slice(0, 2), { content: "all early" })
    )
    yield* store.appendSnapshot(session.id, {
      messageId: tools.id,
      context: { system: 1, summaries: 2, messages: 3, toolOutputs: 1, total: 6 },
      compactionTriggered: true,
      createdAt: 7
    })
    return session.id
  })

const fileReference = (content: string, path: string) =>
  new FileReference({
    id: Ids.fileId(content),
    path,
    fileType: "text",
    tokenCount: 50,
    summary: `about ${path}`,
    createdAt: 1
  })

/** A text file to store: its reference and its bytes. */
const storedFile = (content: string, path: string, createdAt = 1): Storage.NewFile => ({
  reference: new FileReference({ ...fileReference(content, path), createdAt }),
  content: new TextEncoder().encode(content),
  text: true
})

/** Lines as `Lines.splitLines` cuts them (`\r\n` and `\n` end a line; a final break opens none). */
const linesOf = (text: string) => {
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === "") lines.pop()
  return text === "" ? [] : lines
}

/** Several hundred KB of text: lines of every length (one far longer than a piece), CRLF, accents, emoji. */
const bigText = (() => {
  const lines: Array<string> = []
  for (let i = 0; i < 6_000; i++) {
    const width = (i * 7919) % 160
    const body = `${i}: ${"é€😀x".repeat(width % 9)}${"w".repeat(width)}`
    lines.push(i === 2_500 ? "L".repeat(200_000) : body)
  }
  return lines.map((line, i) => i % 11 === 0 ? `${line}\r\n` : `${line}\n`).join("") + "last line, no break"
})()

/** The runner of the runs these tests create. */
const OWNER = "owner_test"

/** A run to create (`llm_map`, owned by {@link OWNER}). */
const newRun = (options: { readonly sessionId?: SessionId; readonly createdAt?: number } = {}) =>
  Effect.map(Ids.runId, (id): Storage.NewRun => ({
    id,
    operator: "llm_map",
    ...(options.sessionId === undefined ? {} : { sessionId: options.sessionId }),
    spec: { template: "{{ item }}", model: "mock/test" },
    owner: OWNER,
    createdAt: options.createdAt ?? 1
  }))

export const conformance = (name: string, backend: Backend) =>
  describe(`Storage conformance: ${name}`, () => {
    /** Runs `body` with a store on a fresh database. */
    const withStore = <A, E>(body: Effect.Effect<A, E, Storage.Storage | Scope.Scope>) =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const store = yield* database.open()
        return yield* Effect.provideService(body, Storage.Storage, store)
      })
    const provide = (store: Storage.Service) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.provideService(effect, Storage.Storage, store)

    // -------------------------------------------------------------------------------------------
    // sessions
    // -------------------------------------------------------------------------------------------

    it.scoped("creates, reads and lists sessions; children by parent, newest first, paged", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const parent = yield* createSession()
        const first = yield* store.createSession({
          id: yield* Ids.sessionId,
          parentId: parent.id,
          model: "m",
          agent: "a",
          systemPrompt: "p",
          metadata: { team: "blue", n: 1 },
          createdAt: 10
        })
        const second = yield* store.createSession({
          id: yield* Ids.sessionId,
          parentId: parent.id,
          model: "m",
          agent: "a",
          systemPrompt: "p",
          createdAt: 20
        })
        expect(yield* store.getSession(first.id)).toEqual(first)
        expect(first).toMatchObject({
          parentId: parent.id,
          metadata: { team: "blue", n: 1 },
          messageCount: 0
        })
        const children = yield* store.listSessions({ parentId: parent.id })
        expect(children.map((s) => s.id)).toEqual([second.id, first.id])
        expect((yield* store.listSessions({ parentId: parent.id, limit: 1, offset: 1 })).map((s) => s.id))
          .toEqual([
            first.id
          ])
        expect((yield* store.listSessions()).map((s) => s.id)).toContain(parent.id)
        const unknown = yield* Effect.flip(store.getSession("sess_01J00000000000000000000000" as SessionId))
        expect(unknown).toMatchObject({ _tag: "SessionNotFound" })
      })))

    it.scoped("refuses a session whose parent does not exist, and ids that are not ids", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const missing = "sess_01J00000000000000000000001" as SessionId
        expect(yield* Effect.flip(createSession({ parentId: missing }))).toMatchObject({
          _tag: "SessionNotFound",
          sessionId: missing
        })
        const bad = yield* Effect.flip(store.createSession({
          id: "session-1" as SessionId,
          model: "m",
          agent: "a",
          systemPrompt: "",
          createdAt: 0
        }))
        expect(bad).toMatchObject({ _tag: "InvalidInput", field: "session id" })
        const session = yield* createSession()
        const badPart = yield* Effect.flip(store.appendMessage({
          id: yield* Ids.messageId,
          sessionId: session.id,
          role: "user",
          agent: "a",
          model: "m",
          createdAt: 0,
          parts: [{ type: "text", id: "p1" as PartId, tokenCount: 1, text: "x" }]
        }))
        expect(badPart).toMatchObject({ _tag: "InvalidInput", field: "part id" })
        expect((yield* store.getSession(session.id)).messageCount).toBe(0)
      })))

    // -------------------------------------------------------------------------------------------
    // appends
    // -------------------------------------------------------------------------------------------

    it.scoped("appends messages with gap-free seq, context items and session usage; reads them back whole", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const user = yield* append(session.id, "user", "hello there")
        const reply = yield* append(session.id, "assistant", [
          { type: "reasoning", text: "hmm", signature: "s1" },
          { type: "text", text: "general kenobi" },
          {
            type: "tool",
            toolName: "t",
            toolCallId: "c",
            input: { deep: [1, { x: null }] },
            status: "pending"
          },
          {
            type: "file_ref",
            fileId: Ids.fileId("f"),
            path: "f.txt",
            fileType: "text",
            fileTokens: 9,
            summary: "a file"
          }
        ], { tokens: TokenUsage.of({ input: 10, output: 5 }), cost: 0.5, finishReason: "stop" })
        expect([user.seq, reply.seq]).toEqual([1, 2])
        expect(yield* store.messages([user.id, reply.id])).toEqual([user, reply])
        const items = yield* store.contextItems(session.id)
        expect(items).toEqual([
          {
            position: 1,
            kind: "message",
            id: user.id,
            role: "user",
            tokenCount: user.parts[0]!.tokenCount + 4
          },
          {
            position: 2,
            kind: "message",
            id: reply.id,
            role: "assistant",
            tokenCount: reply.parts.reduce((sum, p) => sum + p.tokenCount, 4)
          }
        ])
        const reloaded = yield* store.getSession(session.id)
        expect(reloaded.messageCount).toBe(2)
        expect(reloaded.tokens).toMatchObject({ input: 10, output: 5, total: 15 })
        expect(reloaded.cost).toBe(0.5)
      })))

    it.scoped("appending to an unknown session fails with SessionNotFound and writes nothing", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const message = yield* Effect.flip(
          append("sess_01J00000000000000000000002" as SessionId, "user", "x")
        )
        expect(message._tag).toBe("SessionNotFound")
        expect(yield* store.listSessions()).toEqual([])
      })))

    it.scoped("a failed turn stays in the history but out of the context", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        yield* append(session.id, "user", "question")
        const failed = yield* append(session.id, "assistant", [], { inContext: false, finishReason: "error" })
        expect((yield* store.contextItems(session.id)).map((i) => i.id)).not.toContain(failed.id)
        const history = yield* store.history(session.id, { limit: 10 })
        expect(history.map((m) => m.finishReason)).toEqual([undefined, "error"])
      })))

    it.scoped("appendMessages writes several messages and tool results in one transaction, or nothing", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const call = yield* append(session.id, "assistant", [
          { type: "tool", toolName: "t", toolCallId: "c1", input: {}, status: "pending" }
        ])
        const message = (sessionId: SessionId, text: string) =>
          Effect.gen(function*() {
            return {
              id: yield* Ids.messageId,
              sessionId,
              role: "user" as const,
              agent: "a",
              model: "m",
              createdAt: 1,
              parts: yield* withIds([{ type: "text", text }])
            }
          })
        const result = {
          id: call.parts[0]!.id,
          update: { status: "completed" as const, output: "done", tokenCount: 5 }
        }
        const before = yield* observe([session.id])
        const failed = yield* Effect.flip(store.appendMessages([
          yield* message(session.id, "one"),
          yield* message("sess_01J00000000000000000000003" as SessionId, "two")
        ], [result]))
        expect(failed._tag).toBe("SessionNotFound")
        expect(yield* observe([session.id])).toEqual(before)
        const written = yield* store.appendMessages([
          yield* message(session.id, "one"),
          yield* message(session.id, "two")
        ], [result])
        expect(written.map((m) => m.seq)).toEqual([2, 3])
        expect((yield* store.messages([call.id]))[0]!.parts[0]).toMatchObject({
          status: "completed",
          output: "done"
        })
        expect(yield* store.appendMessages([])).toEqual([])
      })))

    it.scoped("50 concurrent appends to one session get unique, gap-free seq values and positions", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const messages = yield* Effect.forEach(
          Array.from({ length: 50 }, (_, i) => i),
          (i) => append(session.id, i % 2 === 0 ? "user" : "assistant", `message ${i}`),
          { concurrency: "unbounded" }
        )
        expect(messages.map((m) => m.seq).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 50 }, (_, i) => i + 1)
        )
        const items = yield* store.contextItems(session.id)
        expect(items.map((i) => i.position)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
      })))

    it.scoped("two handles on one database write one session at once: numbers come from the database", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const a = yield* database.open()
        const b = yield* database.open()
        const session = yield* provide(a)(createSession())
        const writer = (store: Storage.Service, who: string) =>
          Effect.forEach(
            Array.from({ length: 20 }, (_, i) => i),
            (i) =>
              provide(store)(Effect.gen(function*() {
                const message = yield* append(session.id, "user", `${who} ${i}`)
                yield* store.appendSnapshot(session.id, {
                  messageId: message.id,
                  context: { system: 0, summaries: 0, messages: 1, toolOutputs: 0, total: 1 },
                  compactionTriggered: false,
                  createdAt: i
                })
              }))
          )
        yield* Effect.all([writer(a, "a"), writer(b, "b")], { concurrency: 2 })
        const history = yield* b.history(session.id, { limit: 100 })
        expect(history.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
        expect((yield* a.contextItems(session.id)).map((i) => i.position)).toEqual(
          Array.from({ length: 40 }, (_, i) => i + 1)
        )
        expect((yield* a.snapshots(session.id)).map((s) => s.turn)).toEqual(
          Array.from({ length: 40 }, (_, i) => i + 1)
        )
        expect((yield* b.getSession(session.id)).messageCount).toBe(40)
      }))

    // -------------------------------------------------------------------------------------------
    // reads
    // -------------------------------------------------------------------------------------------

    it.scoped("reads messages by ids in the caller's order, skipping unknown ids; pages the history", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const a = yield* append(session.id, "user", [{ type: "text", text: "a1" }, {
          type: "text",
          text: "a2"
        }])
        const b = yield* append(session.id, "assistant", "b")
        const read = yield* store.messages([b.id, "msg_01J00000000000000000000000" as MessageId, a.id])
        expect(read.map((m) => m.id)).toEqual([b.id, a.id])
        expect(yield* store.messages([])).toEqual([])
        for (let i = 0; i < 23; i++) yield* append(session.id, i % 2 === 0 ? "user" : "assistant", `m${i}`)
        const items = yield* store.contextItems(session.id)
        yield* store.commitCompaction(yield* summaryCommit(session.id, items.slice(0, 2)))
        const seen: Array<number> = []
        let after = 0
        for (;;) {
          const page = yield* store.history(session.id, { afterSeq: after, limit: 10 })
          if (page.length === 0) break
          seen.push(...page.map((m) => m.seq))
          after = page[page.length - 1]!.seq
        }
        expect(seen).toEqual(Array.from({ length: 26 }, (_, i) => i + 1))
        const originals = yield* store.history(session.id, { limit: 100, includeSummaries: false })
        expect(originals.map((m) => m.isSummary)).toEqual(Array.from({ length: 25 }, () => false))
      })))

    it.scoped("tool parts move through their lifecycle; the result is written once and becomes searchable", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        yield* append(session.id, "user", "run it")
        const message = yield* append(session.id, "assistant", [
          { type: "tool", toolName: "shell", toolCallId: "call_1", input: { cmd: "ls" }, status: "pending" }
        ])
        const part = message.parts[0]!
        // indexed as it is now: no result yet
        expect((yield* store.search({ sessionIds: [session.id], text: "marmalade", limit: 5 })).length).toBe(
          0
        )
        yield* store.updateToolPart(part.id, { status: "running", startedAt: 5, tokenCount: part.tokenCount })
        yield* store.updateToolPart(part.id, {
          status: "completed",
          output: "file-a\nmarmalade",
          completedAt: 9,
          tokenCount: part.tokenCount + 20
        })
        const [reread] = yield* store.messages([message.id])
        expect(reread!.parts[0]).toMatchObject({
          type: "tool",
          status: "completed",
          output: "file-a\nmarmalade",
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
        const unknown = yield* Effect.flip(store.updateToolPart("part_01J00000000000000000000000" as PartId, {
          status: "completed",
          tokenCount: 1
        }))
        expect(unknown._tag).toBe("StorageError")
        const hits = yield* store.search({ sessionIds: [session.id], text: "marmalade", limit: 5 })
        expect(hits.map((h) => h.partId)).toEqual([part.id])
        expect(yield* store.toolParts([message.id])).toEqual([{
          messageId: message.id,
          part: reread!.parts[0]
        }])
      })))

    it.scoped("several tool results are written together or not at all", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const message = yield* append(session.id, "assistant", [
          { type: "tool", toolName: "shell", toolCallId: "call_a", input: { cmd: "ls" }, status: "pending" },
          { type: "tool", toolName: "shell", toolCallId: "call_b", input: { cmd: "pwd" }, status: "pending" }
        ])
        const [a, b] = message.parts
        const before = yield* observe([session.id])
        const done = (id: PartId, output: string) => ({
          id,
          update: { status: "completed" as const, output, completedAt: 7, tokenCount: 30 }
        })
        const failed = yield* Effect.flip(
          store.updateToolParts([
            done(a!.id, "file-a"),
            done("part_01J00000000000000000000000" as PartId, "x")
          ])
        )
        expect(failed._tag).toBe("StorageError")
        expect(yield* observe([session.id])).toEqual(before)
        yield* store.updateToolParts([done(a!.id, "file-a"), done(b!.id, "/home")])
        yield* store.updateToolParts([])
        const [written] = yield* store.messages([message.id])
        expect(written!.parts).toMatchObject([
          { status: "completed", output: "file-a" },
          { status: "completed", output: "/home" }
        ])
      })))

    it.scoped("toolParts and findToolCall find tool calls by message and by call id", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const other = yield* createSession()
        const first = yield* append(session.id, "assistant", [
          { type: "text", text: "calling" },
          { type: "tool", toolName: "t", toolCallId: "same", input: { n: 1 }, status: "pending" }
        ])
        const second = yield* append(session.id, "assistant", [
          { type: "tool", toolName: "t", toolCallId: "same", input: { n: 2 }, status: "pending" },
          { type: "tool", toolName: "u", toolCallId: "other", input: {}, status: "pending" }
        ])
        yield* append(other.id, "assistant", [
          { type: "tool", toolName: "t", toolCallId: "same", input: {}, status: "pending" }
        ])
        const parts = yield* store.toolParts([second.id, first.id])
        expect(parts.map((p) => [p.messageId, p.part.toolCallId])).toEqual([
          [second.id, "same"],
          [second.id, "other"],
          [first.id, "same"]
        ])
        expect(yield* store.toolParts([])).toEqual([])
        expect((yield* store.findToolCall(session.id, "same"))?.id).toBe(second.id)
        expect(yield* store.findToolCall(other.id, "other")).toBeUndefined()
      })))

    it.scoped("tombstones completed tool outputs once and lowers the context cost", () =>
      withStore(Effect.gen(function*() {
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
        expect((yield* store.contextItems(session.id))[0]!.tokenCount).toBe(before - done!.tokenCount + 3)
        expect(yield* store.tombstone(session.id, [{ partId: done!.id, tokenCount: 3 }], 99)).toBe(0)
        expect(yield* store.tombstone(session.id, [], 99)).toBe(0)
        const [reread] = yield* store.messages([message.id])
        expect(reread!.parts[0]).toMatchObject({ compactedAt: 1234, output: "x".repeat(400) })
      })))

    // -------------------------------------------------------------------------------------------
    // the context and its version
    // -------------------------------------------------------------------------------------------

    it.scoped("contextSince: appends keep the version, every change of an existing item moves it", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const v0 = yield* store.contextSince(session.id)
        expect(v0.items).toEqual([])
        const a = yield* append(session.id, "user", "a")
        const tool = yield* append(session.id, "assistant", [
          { type: "tool", toolName: "t", toolCallId: "c", input: {}, status: "pending" }
        ])
        const v1 = yield* store.contextSince(session.id)
        expect(v1.version).toBe(v0.version)
        expect(yield* store.contextSince(session.id, 1)).toEqual({
          version: v0.version,
          items: v1.items.slice(1)
        })
        expect(yield* store.contextSince(session.id, 2)).toEqual({ version: v0.version, items: [] })
        const changes: ReadonlyArray<Effect.Effect<unknown, unknown, Storage.Storage>> = [
          store.updateToolPart(tool.parts[0]!.id, { status: "completed", output: "o", tokenCount: 3 }),
          store.tombstone(session.id, [{ partId: tool.parts[0]!.id, tokenCount: 1 }], 1),
          Effect.flatMap(
            Effect.flatMap(store.contextItems(session.id), (items) => summaryCommit(session.id, items)),
            store.commitCompaction
          )
        ]
        let version = v1.version
        for (const change of changes) {
          yield* change
          const next = yield* store.contextSince(session.id)
          expect(next.version).toBeGreaterThan(version)
          version = next.version
        }
        expect((yield* store.contextSince(session.id)).items.map((i) => i.kind)).toEqual(["summary"])
        expect(a.seq).toBe(1)
      })))

    it.scoped("a reader that catches up by version and position always holds the whole context", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const store = yield* database.open()
        type Op = "user" | "hidden" | "tool" | "result" | "prune" | "compact"
        const op = FastCheck.constantFrom<Op>("user", "hidden", "tool", "result", "prune", "compact")
        yield* Effect.promise(() =>
          FastCheck.assert(
            FastCheck.asyncProperty(FastCheck.array(op, { minLength: 1, maxLength: 14 }), (ops) =>
              Effect.runPromise(
                provide(store)(Effect.gen(function*() {
                  const session = yield* createSession()
                  let reader = yield* store.contextSince(session.id)
                  let last = 0
                  const pending: Array<PartId> = []
                  const completed: Array<PartId> = []
                  for (const step of ops) {
                    const before = (yield* store.contextSince(session.id)).version
                    if (step === "user" || step === "hidden") {
                      yield* append(session.id, "user", step, { inContext: step === "user" })
                    } else if (step === "tool") {
                      const m = yield* append(session.id, "assistant", [
                        {
                          type: "tool",
                          toolName: "t",
                          toolCallId: `c${pending.length}`,
                          input: {},
                          status: "pending"
                        }
                      ])
                      pending.push(m.parts[0]!.id)
                    } else if (step === "result" && pending.length > 0) {
                      const id = pending.shift()!
                      yield* store.updateToolPart(id, { status: "completed", output: "out", tokenCount: 7 })
                      completed.push(id)
                    } else if (step === "prune" && completed.length > 0) {
                      yield* store.tombstone(session.id, [{ partId: completed.shift()!, tokenCount: 1 }], 1)
                    } else if (step === "compact") {
                      const items = yield* store.contextItems(session.id)
                      if (items.length >= 3) {
                        yield* store.commitCompaction(yield* summaryCommit(session.id, items.slice(0, 2)))
                      }
                    }
                    const after = (yield* store.contextSince(session.id)).version
                    if (step === "user" || step === "hidden" || step === "tool") {
                      expect(after).toBe(before)
                    }
                    // catch up as the context cache does
                    const delta = yield* store.contextSince(session.id, last)
                    reader = delta.version === reader.version
                      ? { version: delta.version, items: [...reader.items, ...delta.items] }
                      : yield* store.contextSince(session.id)
                    last = reader.items.at(-1)?.position ?? last
                    expect(reader.items).toEqual(yield* store.contextItems(session.id))
                  }
                  return true
                }))
              )),
            { numRuns: 25 }
          )
        )
      }))

    // -------------------------------------------------------------------------------------------
    // compaction and the summary DAG
    // -------------------------------------------------------------------------------------------

    it.scoped("commits a compaction round atomically: node, provenance, swap, history and condensation", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        for (let i = 0; i < 6; i++) yield* append(session.id, i % 2 === 0 ? "user" : "assistant", `turn ${i}`)
        const items = yield* store.contextItems(session.id)
        const commit = yield* summaryCommit(session.id, items.slice(0, 4), {
          content: "early turns were greetings"
        })
        const summaryMessage = yield* store.commitCompaction(commit)
        expect(summaryMessage).toMatchObject({ isSummary: true, seq: 7 })
        expect(yield* store.messages([summaryMessage.id])).toEqual([summaryMessage])
        const after = yield* store.contextItems(session.id)
        expect(after.map((i) => i.kind)).toEqual(["summary", "message", "message"])
        expect(after[0]).toMatchObject({
          id: commit.summary.id,
          position: 1,
          tokenCount: commit.summary.tokenCount
        })
        const sources = yield* store.summarySources(commit.summary.id)
        expect(sources).toEqual(items.slice(0, 4).map((i) => ({ kind: "message", id: i.id })))
        const covers = yield* store.activeCovers(items.map((i) => i.id))
        expect([...covers.keys()].sort()).toEqual(items.slice(0, 4).map((i) => i.id).sort())

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
        const all = yield* store.sessionSummaries(session.id)
        expect(all.map((n) => n.id)).toEqual([commit.summary.id, second.summary.id, condensed.summary.id])
        expect(all[0]!.supersededBy).toBe(condensed.summary.id)
        expect(yield* store.summaries([condensed.summary.id, commit.summary.id])).toEqual([all[2], all[0]])
        expect(yield* store.summaries([])).toEqual([])
        const activeNow = yield* store.activeCovers(items.map((i) => i.id))
        expect(new Set(activeNow.values())).toEqual(new Set([condensed.summary.id]))
        expect(yield* store.activeCovers([])).toEqual(new Map())
        const hits = yield* store.search({ sessionIds: [session.id], text: "greetings", limit: 5 })
        expect(hits.map((h) => [h.isSummary, h.summaryId])).toEqual([[true, commit.summary.id]])
      })))

    it.scoped("refuses a compaction whose items left the context meanwhile, or that replaces nothing", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        for (let i = 0; i < 4; i++) yield* append(session.id, "user", `turn ${i}`)
        const items = yield* store.contextItems(session.id)
        yield* store.commitCompaction(yield* summaryCommit(session.id, items.slice(0, 2)))
        const before = yield* observe([session.id])
        const stale = yield* Effect.flip(
          store.commitCompaction(yield* summaryCommit(session.id, items.slice(1, 3)))
        )
        expect(stale.message).toContain("changed under the round")
        const nothing = { ...(yield* summaryCommit(session.id, items.slice(2, 3))), replaces: [] }
        const empty = yield* Effect.flip(store.commitCompaction(nothing))
        expect(empty.message).toContain("nothing to replace")
        expect(yield* observe([session.id])).toEqual(before)
      })))

    it.scoped("summarySources and activeCovers are empty for ids nothing covers", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        expect(yield* store.summarySources("sum_01J00000000000000000000000" as SummaryId)).toEqual([])
        expect((yield* store.activeCovers(["msg_01J00000000000000000000000" as MessageId])).size).toBe(0)
      })))

    // -------------------------------------------------------------------------------------------
    // snapshots and file references
    // -------------------------------------------------------------------------------------------

    it.scoped("turn snapshots are numbered by the store, written with a message or alone, and paged", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const context = { system: 1, summaries: 0, messages: 2, toolOutputs: 0, total: 3 }
        const withMessage = yield* store.appendMessage({
          id: yield* Ids.messageId,
          sessionId: session.id,
          role: "assistant",
          agent: "a",
          model: "m",
          createdAt: 1,
          parts: yield* withIds([{ type: "text", text: "done" }]),
          snapshot: {
            messageId: "msg_01J00000000000000000000009" as MessageId,
            context,
            compactionTriggered: false,
            createdAt: 1
          }
        })
        for (let i = 0; i < 4; i++) {
          yield* store.appendSnapshot(session.id, {
            messageId: withMessage.id,
            context,
            compactionTriggered: i === 2,
            createdAt: i
          })
        }
        const all = yield* store.snapshots(session.id)
        expect(all.map((s) => s.turn)).toEqual([1, 2, 3, 4, 5])
        expect(all[0]!.messageId).toBe(withMessage.id)
        expect(all[3]).toMatchObject({ compactionTriggered: true, context })
        expect((yield* store.snapshots(session.id, { afterTurn: 2, limit: 2 })).map((s) => s.turn)).toEqual([
          3,
          4
        ])
        const missing = yield* Effect.flip(
          store.appendSnapshot("sess_01J00000000000000000000004" as SessionId, {
            messageId: withMessage.id,
            context,
            compactionTriggered: false,
            createdAt: 0
          })
        )
        expect(missing._tag).toBe("StorageError")
      })))

    it.scoped("stores and reads file references by content id", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const ref = fileReference("export const x = 1\n", "src/x.ts")
        yield* store.putFileReference(ref)
        yield* store.putFileReference(new FileReference({ ...ref, path: "src/moved.ts" }))
        expect(yield* store.getFileReference(ref.id)).toEqual(
          new FileReference({ ...ref, path: "src/moved.ts" })
        )
        expect(yield* store.getFileReference(Ids.fileId("other"))).toBeUndefined()
      })))

    // -------------------------------------------------------------------------------------------
    // file contents
    // -------------------------------------------------------------------------------------------

    it.scoped("stores a file's content once per id and reads it back whole and by any line range", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const file = storedFile(bigText, "src/big.txt")
        const id = file.reference.id
        expect(yield* store.putFile(file)).toBe(true)
        // the same bytes under another path: nothing is written, the first path stays
        expect(
          yield* store.putFile({
            ...file,
            reference: new FileReference({ ...file.reference, path: "b.txt" })
          })
        )
          .toBe(false)
        const lines = linesOf(bigText)
        expect(yield* store.getFile(id)).toEqual({
          reference: file.reference,
          content: { byteLength: file.content.length, lineCount: lines.length, text: true }
        })
        expect(yield* store.fileContent(id)).toEqual(file.content)
        expect(yield* store.fileLines(id, 1, 3)).toEqual(lines.slice(0, 3))
        expect(yield* store.fileLines(id, 2_500, 2_502)).toEqual(lines.slice(2_499, 2_502))
        expect(yield* store.fileLines(id, lines.length - 1, lines.length + 50)).toEqual(lines.slice(-2))
        expect(yield* store.fileLines(id, lines.length + 1, lines.length + 9)).toEqual([])
        expect(yield* store.fileLines(id, 9, 8)).toEqual([])
        // every range reads as the whole text cut into lines would
        yield* Effect.promise(() =>
          FastCheck.assert(
            FastCheck.asyncProperty(
              FastCheck.integer({ min: 1, max: lines.length }),
              FastCheck.integer({ min: 0, max: 700 }),
              (from, span) =>
                Effect.runPromise(store.fileLines(id, from, from + span)).then((found) => {
                  expect(found).toEqual(lines.slice(from - 1, from + span))
                })
            ),
            { numRuns: 40 }
          )
        )
        expect(yield* store.getFile(Ids.fileId("unknown"))).toBeUndefined()
        expect(yield* store.fileContent(Ids.fileId("unknown"))).toBeUndefined()
      })))

    it.scoped("binary content is kept byte for byte and never read by lines; symbols come back as stored", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const bytes = Uint8Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 31 + (i >> 8)) % 256)
        const reference = new FileReference({
          id: Ids.fileId(bytes),
          path: "blob.bin",
          fileType: "binary",
          tokenCount: 0,
          summary: "Binary file",
          createdAt: 1
        })
        yield* store.putFile({ reference, content: bytes, text: false })
        expect((yield* store.getFile(reference.id))?.content).toEqual({
          byteLength: bytes.length,
          lineCount: 0,
          text: false
        })
        expect(yield* store.fileContent(reference.id)).toEqual(bytes)
        expect(yield* store.fileLines(reference.id, 1, 10)).toEqual([])

        const source = "class A:\n    def f(self):\n        pass\n"
        const symbols = [{
          kind: "class",
          name: "A",
          startLine: 1,
          endLine: 3,
          children: [{ kind: "method", name: "f", startLine: 2, endLine: 3, children: [] }]
        }]
        const code = storedFile(source, "a.py")
        yield* store.putFile({ ...code, symbols })
        expect((yield* store.getFile(code.reference.id))?.content?.symbols).toEqual(symbols)
        // an empty file is stored too, with no lines
        const empty = storedFile("", "empty.txt")
        yield* store.putFile(empty)
        expect(yield* store.fileContent(empty.reference.id)).toEqual(new Uint8Array(0))
        expect((yield* store.getFile(empty.reference.id))?.content?.lineCount).toBe(0)
      })))

    it.scoped("a reference stored alone gets its content from the next put, and keeps its path", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const file = storedFile("kept since an older version\n", "old.txt")
        yield* store.putFileReference(file.reference)
        expect(yield* store.getFile(file.reference.id)).toEqual({ reference: file.reference })
        const moved = new FileReference({ ...file.reference, path: "new.txt", summary: "other" })
        expect(yield* store.putFile({ ...file, reference: moved })).toBe(true)
        expect(yield* store.getFile(file.reference.id)).toMatchObject({
          reference: file.reference,
          content: { lineCount: 1, text: true }
        })
      })))

    it.scoped("sessionFiles lists the files the sessions' parts use, in id order", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const files = ["one", "two", "three"].map((text) => storedFile(text, `${text}.txt`))
        const part = (file: Storage.NewFile) => ({
          type: "file_ref" as const,
          fileId: file.reference.id,
          path: file.reference.path,
          fileType: "text",
          fileTokens: 1,
          summary: "s"
        })
        const a = yield* createSession()
        const b = yield* createSession()
        for (const file of files) yield* store.putFile(file)
        yield* append(a.id, "user", [part(files[0]!), part(files[1]!)])
        yield* append(a.id, "user", [part(files[0]!)])
        yield* append(b.id, "user", [part(files[2]!)])
        const ids = (picked: ReadonlyArray<Storage.NewFile>) => picked.map((f) => f.reference.id).sort()
        expect(yield* store.sessionFiles([a.id])).toEqual(ids([files[0]!, files[1]!]))
        expect(yield* store.sessionFiles([a.id, b.id])).toEqual(ids(files))
        expect(yield* store.sessionFiles([])).toEqual([])
      })))

    it.scoped("retention also drops the files stored before the cutoff that no session uses", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const used = storedFile("used", "used.txt", 1_000)
        const stray = storedFile("stray", "stray.txt", 1_000)
        const fresh = storedFile("fresh", "fresh.txt", 5_000)
        const session = yield* createSession()
        yield* store.putFile(used)
        yield* store.putFile(stray)
        yield* store.putFile(fresh)
        // the session is touched after the cutoff: it stays, and so does the file it uses
        yield* TestClock.setTime(9_000)
        yield* append(session.id, "user", [{
          type: "file_ref",
          fileId: used.reference.id,
          path: "used.txt",
          fileType: "text",
          fileTokens: 1,
          summary: "s"
        }])
        yield* store.deleteSessionsUntouchedSince(3_000)
        expect(yield* store.getFile(used.reference.id)).toBeDefined()
        expect(yield* store.getFile(stray.reference.id)).toBeUndefined()
        expect(yield* store.fileContent(stray.reference.id)).toBeUndefined()
        expect(yield* store.getFile(fresh.reference.id)).toBeDefined()
      })))

    it.scoped("putFile is all or nothing, at whichever statement it fails", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const faults = makeFaults()
        const store = yield* database.open({ wrapConnection: faults.wrap })
        const file = storedFile(bigText, "big.txt")
        for (let n = 1;; n++) {
          faults.arm(n)
          const exit = yield* Effect.exit(store.putFile(file))
          faults.disarm()
          if (Exit.isSuccess(exit)) {
            expect(n).toBeGreaterThan(3)
            break
          }
          expect(String(Exit.isFailure(exit) && exit.cause)).toContain(INJECTED)
          expect(yield* store.getFile(file.reference.id)).toBeUndefined()
          expect(yield* store.fileContent(file.reference.id)).toBeUndefined()
        }
        expect(yield* store.fileContent(file.reference.id)).toEqual(file.content)
      }))

    // -------------------------------------------------------------------------------------------
    // search and scan
    // -------------------------------------------------------------------------------------------

    it.scoped("full-text search finds message text, tool input and output, and summaries, in writing order", () =>
      withStore(Effect.gen(function*() {
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
        expect(yield* search("  ")).toBe(0)
        expect(yield* store.search({ sessionIds: [], text: "zebra", limit: 10 })).toEqual([])
        const both = yield* store.search({ sessionIds: [session.id, other.id], text: "zebra", limit: 10 })
        expect(both.map((h) => h.sessionId)).toEqual([session.id, other.id])
        expect(both[0]!.snippet).toContain("[zebra]")
        const page = yield* store.search({ sessionIds: [session.id, other.id], text: "zebra", limit: 1 })
        const next = yield* store.search({
          sessionIds: [session.id, other.id],
          text: "zebra",
          limit: 1,
          after: page[0]!.position
        })
        expect(next.map((h) => h.sessionId)).toEqual([other.id])
        const ranged = yield* store.search({
          sessionIds: [session.id],
          text: "pelican",
          limit: 5,
          seqRange: [1, 1]
        })
        expect(ranged).toEqual([])
      })))

    it.scoped("queries full of search syntax return results or nothing, never an error", () =>
      withStore(Effect.gen(function*() {
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
        expect((yield* store.search({ sessionIds: [session.id], text: "(alpha", limit: 5 })).length).toBe(1)
        yield* Effect.promise(() =>
          FastCheck.assert(
            FastCheck.asyncProperty(
              FastCheck.string({ unit: FastCheck.constantFrom(..."\"*():-^+{}[]NEARORANDNOT alpha_\\'") }),
              async (text) =>
                Either.isRight(
                  await Effect.runPromise(
                    Effect.either(store.search({ sessionIds: [session.id], text, limit: 5 }))
                  )
                )
            ),
            { numRuns: 200 }
          )
        )
      })))

    it.scoped("scan reads the searchable text of parts in writing order, a page at a time", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const other = yield* createSession()
        yield* append(session.id, "user", "first words")
        yield* append(other.id, "user", "elsewhere")
        yield* append(session.id, "assistant", [
          { type: "tool", toolName: "grep", toolCallId: "c", input: { pattern: "p" }, output: "result text" }
        ])
        const items = yield* store.contextItems(session.id)
        yield* store.commitCompaction(yield* summaryCommit(session.id, items, { content: "summary words" }))
        const all = yield* store.scan({ sessionIds: [session.id], limit: 10 })
        expect(all.map((t) => t.seq)).toEqual([1, 2, 3])
        expect(all[0]!.text).toBe("first words")
        expect(all[1]!.text).toContain("result text")
        expect(all[2]).toMatchObject({ isSummary: true, text: "summary words" })
        expect(all[2]!.summaryId).toBeDefined()
        const rest = yield* store.scan({ sessionIds: [session.id], limit: 10, after: all[0]!.position })
        expect(rest.map((t) => t.seq)).toEqual([2, 3])
        expect((yield* store.scan({ sessionIds: [session.id, other.id], limit: 10 })).length).toBe(4)
        expect(
          (yield* store.scan({ sessionIds: [session.id], limit: 10, seqRange: [2, 2] })).map((t) => t.seq)
        )
          .toEqual([2])
        expect(yield* store.scan({ sessionIds: [], limit: 10 })).toEqual([])
      })))

    // -------------------------------------------------------------------------------------------
    // faults: every write is all or nothing, at whichever statement it fails
    // -------------------------------------------------------------------------------------------

    it.scoped("a write that fails at any of its statements leaves everything as it was", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const faults = makeFaults()
        const store = yield* database.open({ wrapConnection: faults.wrap })
        const run = provide(store)
        const sessionId = yield* run(richSession({ file: storedFile("shared", "s.txt") }))
        const child = yield* run(createSession({ parentId: sessionId }))
        yield* run(append(child.id, "user", "child words"))
        const ids = [sessionId, child.id]

        /** Fails `write` at its 1st, 2nd … statement, checking nothing changed, until it succeeds. */
        const allOrNothing = <A, E>(label: string, write: Effect.Effect<A, E, Storage.Storage>) =>
          Effect.gen(function*() {
            const before = yield* run(observe(ids))
            for (let n = 1;; n++) {
              faults.arm(n)
              const exit = yield* Effect.exit(run(write))
              faults.disarm()
              if (Exit.isSuccess(exit)) {
                expect(n, `${label} never reached a statement`).toBeGreaterThan(1)
                return exit.value
              }
              expect(String(Exit.isFailure(exit) && exit.cause), `${label} at statement ${n}`).toContain(
                INJECTED
              )
              expect(yield* run(observe(ids)), `${label} failing at statement ${n}`).toEqual(before)
            }
          })

        const items = yield* store.contextItems(sessionId)
        const tool = yield* run(append(sessionId, "assistant", [
          { type: "tool", toolName: "t", toolCallId: "late", input: {}, status: "pending" }
        ]))
        yield* allOrNothing("appendMessage", append(sessionId, "user", "more"))
        yield* allOrNothing(
          "appendMessages",
          Effect.flatMap(
            Ids.messageId,
            (id) =>
              Effect.flatMap(withIds([{ type: "text", text: "x" }]), (parts) =>
                store.appendMessages(
                  [{ id, sessionId, role: "user", agent: "a", model: "m", createdAt: 1, parts }],
                  [{ id: tool.parts[0]!.id, update: { status: "running", tokenCount: 4 } }]
                ))
          )
        )
        yield* allOrNothing(
          "updateToolParts",
          store.updateToolParts([{
            id: tool.parts[0]!.id,
            update: { status: "completed", output: "late result", tokenCount: 8 }
          }])
        )
        yield* allOrNothing(
          "tombstone",
          store.tombstone(sessionId, [{ partId: tool.parts[0]!.id, tokenCount: 1 }], 9)
        )
        yield* allOrNothing(
          "appendSnapshot",
          store.appendSnapshot(sessionId, {
            messageId: tool.id,
            context: { system: 0, summaries: 0, messages: 0, toolOutputs: 0, total: 0 },
            compactionTriggered: false,
            createdAt: 1
          })
        )
        const now = yield* store.contextItems(sessionId)
        expect(now.length).toBeGreaterThan(items.length - 3)
        yield* allOrNothing(
          "commitCompaction",
          Effect.flatMap(summaryCommit(sessionId, now.slice(1, 3)), store.commitCompaction)
        )
        const archive: Array<ArchiveRecord> = []
        yield* store.exportSession(sessionId, (records) => Effect.sync(() => archive.push(...records)))
        yield* allOrNothing("deleteSession", store.deleteSession(sessionId))
        yield* allOrNothing("importSession", store.importSession(Stream.fromIterable(archive)))
      }))

    // -------------------------------------------------------------------------------------------
    // operator runs
    // -------------------------------------------------------------------------------------------

    it.scoped("creates a run with every item pending; reads, lists and pages runs and items", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        const inputs = ["text", 42, null, { title: "an object", tags: ["a"] }, [1, 2], true]
        const created = yield* store.createRun(
          yield* newRun({ sessionId: session.id, createdAt: 10 }),
          inputs
        )
        expect(created).toMatchObject({
          status: "running",
          total: 6,
          done: 0,
          failed: 0,
          attempts: 0,
          cost: 0
        })
        expect(yield* store.getRun(created.id)).toEqual(created)
        const items = yield* store.runItems(created.id, { limit: 100 })
        expect(items.map((i) => [i.index, i.input, i.status, i.attempts])).toEqual(
          inputs.map((input, index) => [index, input, "pending", 0])
        )
        const page = yield* store.runItems(created.id, { afterIndex: 3, limit: 1 })
        expect(page.map((i) => i.index)).toEqual([4])
        const other = yield* store.createRun(yield* newRun({ createdAt: 20 }), [])
        expect((yield* store.listRuns()).map((r) => r.id)).toEqual([other.id, created.id])
        expect((yield* store.listRuns({ sessionId: session.id })).map((r) => r.id)).toEqual([created.id])
        expect(yield* store.listRuns({ status: "completed" })).toEqual([])
        expect(yield* Effect.flip(store.getRun(yield* Ids.runId))).toMatchObject({ _tag: "RunNotFound" })
      })))

    it.scoped("items go pending → running → done or failed, counted into the run once each", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const run = yield* store.createRun(yield* newRun(), ["a", "b", "c"])
        const usage = TokenUsage.of({ input: 10, output: 5, cacheRead: 2 })
        yield* store.startRunItem(run.id, OWNER, 0, 100)
        yield* store.startRunItem(run.id, OWNER, 1, 101)
        expect((yield* store.runItems(run.id, { statuses: ["running"], limit: 10 })).map((i) => i.index))
          .toEqual([0, 1])
        yield* store.finishRunItem(run.id, OWNER, 0, {
          outcome: { _tag: "Done", output: { label: "yes" } },
          attempts: 2,
          tokens: usage,
          cost: 0.5,
          completedAt: 110
        })
        const failure = { _tag: "Timeout" as const, timeoutMs: 50, message: "too slow" }
        yield* store.finishRunItem(run.id, OWNER, 1, {
          outcome: { _tag: "Failed", reason: failure },
          attempts: 1,
          tokens: TokenUsage.zero,
          cost: 0,
          sessionId: (yield* createSession()).id,
          completedAt: 111
        })
        // a scalar output comes back as it was
        yield* store.startRunItem(run.id, OWNER, 2, 102)
        yield* store.finishRunItem(run.id, OWNER, 2, {
          outcome: { _tag: "Done", output: "plain text" },
          attempts: 1,
          tokens: usage,
          cost: 0.25,
          completedAt: 112
        })
        const items = yield* store.runItems(run.id, { limit: 10 })
        expect(items.map((i) => [i.status, i.output, i.error, i.attempts])).toEqual([
          ["done", { label: "yes" }, undefined, 2],
          ["failed", undefined, failure, 1],
          ["done", "plain text", undefined, 1]
        ])
        expect(items[0]).toMatchObject({ startedAt: 100, completedAt: 110, cost: 0.5, tokens: usage })
        expect(items[1]!.sessionId).toMatch(/^sess_/)
        const after = yield* store.getRun(run.id)
        expect(after).toMatchObject({ done: 2, failed: 1, attempts: 4, cost: 0.75, updatedAt: 112 })
        expect(after.tokens).toEqual(TokenUsage.add(usage, usage))
        // finishing again, or starting what is not pending, is refused and counts nothing
        const again = yield* Effect.flip(store.finishRunItem(run.id, OWNER, 0, {
          outcome: { _tag: "Done", output: "twice" },
          attempts: 1,
          tokens: usage,
          cost: 1,
          completedAt: 120
        }))
        expect(again._tag).toBe("StorageError")
        expect(yield* Effect.flip(store.startRunItem(run.id, OWNER, 2, 121))).toMatchObject({
          _tag: "StorageError"
        })
        expect(yield* store.getRun(run.id)).toEqual(after)
        yield* store.endRun(run.id, OWNER, "completed", 130)
        expect(yield* store.getRun(run.id)).toMatchObject({ status: "completed", updatedAt: 130 })
      })))

    it.scoped("a runner whose run was taken over is refused; items it left running are pending again", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const run = yield* store.createRun(yield* newRun(), ["a", "b", "c"])
        yield* store.startRunItem(run.id, OWNER, 0, 1)
        yield* store.finishRunItem(run.id, OWNER, 0, {
          outcome: { _tag: "Done", output: 1 },
          attempts: 1,
          tokens: TokenUsage.zero,
          cost: 0,
          completedAt: 2
        })
        yield* store.startRunItem(run.id, OWNER, 1, 3)
        yield* store.endRun(run.id, OWNER, "interrupted", 4)
        const taken = yield* store.takeOverRun(run.id, "owner_new", 5)
        expect(taken).toMatchObject({ status: "running", done: 1 })
        expect((yield* store.runItems(run.id, { limit: 10 })).map((i) => i.status)).toEqual([
          "done",
          "pending",
          "pending"
        ])
        for (
          const write of [
            store.startRunItem(run.id, OWNER, 2, 6),
            store.finishRunItem(run.id, OWNER, 1, {
              outcome: { _tag: "Done", output: 2 },
              attempts: 1,
              tokens: TokenUsage.zero,
              cost: 0,
              completedAt: 7
            }),
            store.endRun(run.id, OWNER, "completed", 8)
          ]
        ) {
          expect(yield* Effect.flip(write)).toMatchObject({ _tag: "RunTakenOver", runId: run.id })
        }
        expect(yield* store.getRun(run.id)).toEqual(taken)
        yield* store.startRunItem(run.id, "owner_new", 1, 9)
        expect(yield* Effect.flip(store.takeOverRun(yield* Ids.runId, "x", 1))).toMatchObject({
          _tag: "RunNotFound"
        })
      })))

    it.scoped("two handles finishing items of one run at once count every item exactly once", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const a = yield* database.open()
        const b = yield* database.open()
        const run = yield* a.createRun(yield* newRun(), Array.from({ length: 40 }, (_, i) => i))
        const worker = (store: Storage.Service, parity: number) =>
          Effect.forEach(
            Array.from({ length: 20 }, (_, i) => 2 * i + parity),
            (index) =>
              Effect.zipRight(
                store.startRunItem(run.id, OWNER, index, index),
                store.finishRunItem(run.id, OWNER, index, {
                  outcome: { _tag: "Done", output: index * 10 },
                  attempts: 1,
                  tokens: TokenUsage.of({ input: 1, output: 1 }),
                  cost: 0.01,
                  completedAt: 100 + index
                })
              )
          )
        yield* Effect.all([worker(a, 0), worker(b, 1)], { concurrency: 2 })
        const after = yield* b.getRun(run.id)
        expect(after).toMatchObject({ done: 40, failed: 0, attempts: 40 })
        expect(after.tokens.total).toBe(80)
        expect((yield* a.runItems(run.id, { limit: 100 })).map((i) => i.output)).toEqual(
          Array.from({ length: 40 }, (_, i) => i * 10)
        )
      }))

    it.scoped("run writes are all or nothing, at whichever statement they fail", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const faults = makeFaults()
        const store = yield* database.open({ wrapConnection: faults.wrap })
        const run = yield* store.createRun(yield* newRun(), ["a", "b"])
        const observeRun = Effect.all([store.getRun(run.id), store.runItems(run.id, { limit: 10 })])
        const allOrNothing = <A, E>(label: string, write: Effect.Effect<A, E>) =>
          Effect.gen(function*() {
            const before = yield* observeRun
            for (let n = 1;; n++) {
              faults.arm(n)
              const exit = yield* Effect.exit(write)
              faults.disarm()
              if (Exit.isSuccess(exit)) return exit.value
              expect(String(Exit.isFailure(exit) && exit.cause), `${label} at statement ${n}`).toContain(
                INJECTED
              )
              expect(yield* observeRun, `${label} failing at statement ${n}`).toEqual(before)
            }
          })
        yield* allOrNothing("createRun", store.createRun(yield* newRun(), ["x", "y", "z"]))
        yield* allOrNothing("startRunItem", store.startRunItem(run.id, OWNER, 0, 1))
        yield* allOrNothing(
          "finishRunItem",
          store.finishRunItem(run.id, OWNER, 0, {
            outcome: { _tag: "Done", output: "ok" },
            attempts: 1,
            tokens: TokenUsage.of({ input: 3, output: 2 }),
            cost: 0.1,
            completedAt: 2
          })
        )
        yield* store.startRunItem(run.id, OWNER, 1, 3)
        yield* allOrNothing("takeOverRun", store.takeOverRun(run.id, "owner_new", 4))
        yield* allOrNothing("endRun", store.endRun(run.id, "owner_new", "interrupted", 5))
        expect(yield* store.getRun(run.id)).toMatchObject({ status: "interrupted", done: 1, attempts: 1 })
      }))

    // -------------------------------------------------------------------------------------------
    // sessions as a whole: deletion, retention, export and import
    // -------------------------------------------------------------------------------------------

    it.scoped("deleting a session removes it, its sub-sessions and every row of theirs, in every table", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const store = yield* database.open()
        const run = provide(store)
        const shared = storedFile("shared content", "shared.txt")
        const own = storedFile("own content", "own.txt")
        const kept = yield* run(richSession({ file: shared }))
        const doomed = yield* run(richSession({ file: own }))
        const child = yield* run(richSession({ parentId: doomed, file: shared }))
        const grandchild = yield* run(createSession({ parentId: child }))
        yield* run(append(grandchild.id, "user", "deep down"))
        const doomedRun = yield* store.createRun(yield* newRun({ sessionId: child }), [
          "item of a doomed run"
        ])
        const keptRun = yield* store.createRun(yield* newRun({ sessionId: kept }), ["item of a kept run"])
        // index everything, so search rows exist for the doomed sessions too
        yield* store.search({ sessionIds: [kept, doomed, child], text: "zebra", limit: 10 })

        const traces = new Set<string>([doomed, child, grandchild.id, own.reference.id, doomedRun.id])
        for (const id of [doomed, child, grandchild.id]) {
          for (const message of yield* store.history(id, { limit: 1_000 })) {
            traces.add(message.id)
            for (const part of message.parts) traces.add(part.id)
          }
          for (const node of yield* store.sessionSummaries(id)) traces.add(node.id)
        }
        const keptBefore = yield* run(observe([kept]))

        expect(yield* store.deleteSession(doomed)).toEqual([doomed, child, grandchild.id])
        for (const { table, rows } of yield* database.rows) {
          for (const row of rows) {
            const text = JSON.stringify(
              row,
              (_, value: unknown) => typeof value === "bigint" ? String(value) : value
            )
            for (const trace of traces) expect(text.includes(trace), `${trace} left in ${table}`).toBe(false)
          }
        }
        expect(yield* run(observe([kept]))).toEqual(keptBefore)
        expect(yield* store.getRun(keptRun.id)).toEqual(keptRun)
        // a file another session uses stays, content and all; the doomed sessions' own goes
        expect(yield* store.getFileReference(shared.reference.id)).toBeDefined()
        expect(yield* store.fileContent(shared.reference.id)).toEqual(shared.content)
        expect(yield* store.getFileReference(own.reference.id)).toBeUndefined()
        expect(yield* store.getFile(own.reference.id)).toBeUndefined()
        expect((yield* store.search({ sessionIds: [kept], text: "okapi", limit: 10 })).length)
          .toBeGreaterThan(0)
        expect(yield* Effect.flip(store.deleteSession(doomed))).toMatchObject({ _tag: "SessionNotFound" })
        // the store goes on as before
        yield* run(append(kept, "user", "still here"))
      }))

    it.scoped("retention deletes the session trees untouched since the cutoff, and only those", () =>
      withStore(Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = (createdAt: number, parentId?: SessionId) =>
          Effect.flatMap(
            Ids.sessionId,
            (id) => store.createSession({ id, parentId, model: "m", agent: "a", systemPrompt: "", createdAt })
          )
        const touch = (sessionId: SessionId, createdAt: number) =>
          Effect.flatMap(
            Ids.messageId,
            (id) =>
              Effect.flatMap(withIds([{ type: "text", text: "t" }]), (parts) =>
                store.appendMessage({
                  id,
                  sessionId,
                  role: "user",
                  agent: "a",
                  model: "m",
                  createdAt,
                  parts
                }))
          )
        const old = yield* session(1_000)
        yield* touch(old.id, 2_000)
        const oldChild = yield* session(1_500, old.id)
        const busyParent = yield* session(1_000)
        const busyChild = yield* session(1_000, busyParent.id)
        yield* touch(busyChild.id, 9_000)
        const middle = yield* session(5_000)

        expect(yield* store.deleteSessionsUntouchedSince(3_000)).toEqual([old.id, oldChild.id])
        expect((yield* store.listSessions()).map((s) => s.id).sort()).toEqual(
          [busyParent.id, busyChild.id, middle.id].sort()
        )
        expect(yield* store.deleteSessionsUntouchedSince(3_000)).toEqual([])
        const rest = yield* store.deleteSessionsUntouchedSince(10_000)
        expect([...rest].sort()).toEqual([busyParent.id, busyChild.id, middle.id].sort())
        expect(yield* store.listSessions()).toEqual([])
      })))

    it.scoped("export then import into a fresh database keeps every id, summary and provenance row", () =>
      Effect.gen(function*() {
        const source = yield* (yield* backend.database).open()
        const target = yield* (yield* backend.database).open()
        const file = storedFile(bigText, "big.txt")
        const root = yield* provide(source)(richSession({ file }))
        const child = yield* provide(source)(richSession({ parentId: root }))
        const ids = [root, child]
        const archive: Array<ArchiveRecord> = []
        yield* source.exportSession(root, (records) => Effect.sync(() => archive.push(...records)))
        expect(archive[0]).toMatchObject({ type: "archive", version: Archive.ARCHIVE_VERSION })

        // through JSON Lines, as a file would carry it
        const text = archive.map(Archive.toLine).join("\n")
        const imported = yield* target.importSession(Archive.fromLines(Stream.fromIterable(text.split("\n"))))
        expect(imported).toEqual(ids)
        expect(yield* provide(target)(observe(ids))).toEqual(yield* provide(source)(observe(ids)))
        for (const id of ids) {
          for (const node of yield* source.sessionSummaries(id)) {
            expect(yield* target.summarySources(node.id)).toEqual(yield* source.summarySources(node.id))
          }
        }
        const history = yield* source.history(root, { limit: 1_000 })
        expect(yield* target.toolParts(history.map((m) => m.id))).toEqual(
          yield* source.toolParts(history.map((m) => m.id))
        )
        const fileRef = history.flatMap((m) => m.parts).find((p) => p.type === "file_ref")
        expect(fileRef?.type === "file_ref" && (yield* target.getFileReference(fileRef.fileId)))
          .toEqual(
            fileRef?.type === "file_ref" && (yield* source.getFileReference(fileRef.fileId))
          )
        expect((yield* target.search({ sessionIds: [root], text: "marmalade", limit: 5 })).length).toBe(1)
        // the file's content came along: it still reads, whole and by lines
        expect(yield* target.getFile(file.reference.id)).toEqual(yield* source.getFile(file.reference.id))
        expect(yield* target.fileContent(file.reference.id)).toEqual(file.content)
        expect(yield* target.fileLines(file.reference.id, 2_499, 2_502)).toEqual(
          linesOf(bigText).slice(2_498, 2_502)
        )

        // expand reaches every original from the active summaries, in the new database
        const scope: MemoryTools.MemoryScope = {
          store: target,
          sessionId: root,
          sessionIds: [root],
          count,
          contextItems: target.contextItems(root)
        }
        const reached = new Set<string>()
        const walk = (id: string): Effect.Effect<void, unknown> =>
          Effect.gen(function*() {
            let cursor: string | undefined
            do {
              const page = yield* MemoryTools.expand(scope, {
                id,
                maxTokens: 16_000,
                ...(cursor ? { cursor } : {})
              })
              for (const item of page.items) {
                reached.add(item.id)
                if (item.kind === "summary") yield* walk(item.id)
              }
              cursor = page.nextCursor
            } while (cursor !== undefined)
          })
        for (const item of yield* target.contextItems(root)) {
          if (item.kind === "summary") yield* walk(item.id)
          else reached.add(item.id)
        }
        const originals = yield* source.history(root, { limit: 1_000, includeSummaries: false })
        for (const message of originals) {
          if (message.finishReason === "error") continue
          expect(reached.has(message.id), `${message.id} (seq ${message.seq}) reachable`).toBe(true)
        }

        // the imported session goes on where it stopped
        const next = yield* provide(target)(append(root, "user", "after the move"))
        expect(next.seq).toBe((yield* source.getSession(root)).messageCount + 1)
      }))

    it.scoped("import refuses a session that is already there, or whose parent is missing", () =>
      Effect.gen(function*() {
        const source = yield* (yield* backend.database).open()
        const target = yield* (yield* backend.database).open()
        const root = yield* provide(source)(richSession())
        const child = yield* provide(source)(createSession({ parentId: root }))
        const records = (id: SessionId) =>
          Effect.map(
            Effect.gen(function*() {
              const out: Array<ArchiveRecord> = []
              yield* source.exportSession(id, (page) => Effect.sync(() => out.push(...page)))
              return out
            }),
            Stream.fromIterable
          )
        const orphan = yield* Effect.flip(target.importSession(yield* records(child.id)))
        expect(orphan).toMatchObject({ _tag: "SessionNotFound", sessionId: root })
        yield* target.importSession(yield* records(root))
        const again = yield* Effect.flip(target.importSession(yield* records(root)))
        expect(again).toMatchObject({ _tag: "SessionExists", sessionId: root })
        const headless = yield* Effect.flip(target.importSession(Stream.drop(yield* records(child.id), 1)))
        expect(headless._tag).toBe("InvalidInput")
        expect(
          yield* Effect.flip(
            source.exportSession("sess_01J00000000000000000000005" as SessionId, () => Effect.void)
          )
        )
          .toMatchObject({ _tag: "SessionNotFound" })
      }))
  })
