/**
 * A database written by release 0.1.0 (schema version 2, the store's rules in triggers and a view)
 * opens, migrates and reads back whole: test/fixtures/schema-v2.db was made by that release's code
 * (see test/fixtures/README.md). Every row survives the migration unchanged, the logic triggers
 * and the view are gone, only guards remain, and the store goes on numbering where the old one
 * stopped.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import type { MessageId, SessionId } from "../../src/Domain.js"
import * as Storage from "../../src/Storage.js"
import { LATEST_SCHEMA_VERSION } from "../../src/storage/sqlite/migrations.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import { append, summaryCommit, tempDir } from "../support/storage.js"

const FIXTURE = NodePath.join(import.meta.dirname, "../fixtures/schema-v2.db")
const PARENT = "sess_01JF0000000000000000000001" as SessionId
const CHILD = "sess_01JF0000000000000000000002" as SessionId

/** Every table that holds data, with the columns that order its rows (rowids where search uses them). */
const DATA_TABLES: ReadonlyArray<readonly [string, string]> = [
  ["sessions", "id"],
  ["messages", "id"],
  ["parts", "rowid"],
  ["summary_nodes", "id"],
  ["summary_sources", "summary_id, ord"],
  ["context_items", "session_id, position"],
  ["turn_snapshots", "session_id, turn"],
  ["file_references", "id"],
  ["search_index", "rowid"],
  ["search_state", "id"]
]

const dump = (filename: string) => {
  const db = new DatabaseSync(filename, { readOnly: true })
  try {
    return Object.fromEntries(
      DATA_TABLES.map(([table, key]) => [
        table,
        db.prepare(`SELECT ${key === "rowid" ? "rowid AS _rowid, " : ""}* FROM ${table} ORDER BY ${key}`)
          .all()
      ])
    )
  } finally {
    db.close()
  }
}

const schemaObjects = (filename: string, type: "trigger" | "view") => {
  const db = new DatabaseSync(filename, { readOnly: true })
  try {
    return db.prepare("SELECT name FROM sqlite_master WHERE type = ? ORDER BY name").all(type).map((row) =>
      row["name"]
    )
  } finally {
    db.close()
  }
}

const copyFixture = Effect.map(tempDir, (dir) => {
  const filename = NodePath.join(dir, "store.db")
  NodeFs.copyFileSync(FIXTURE, filename)
  return filename
})

const open = <A, E>(filename: string, effect: Effect.Effect<A, E, Storage.Storage>) =>
  Effect.scoped(Effect.provide(effect, SqliteStore.layer({ filename })))

describe("a database written by release 0.1.0", () => {
  it.scoped("opens and migrates with every row unchanged; only guards remain", () =>
    Effect.gen(function*() {
      const filename = yield* copyFixture
      const before = dump(filename)
      expect(schemaObjects(filename, "view")).toEqual(["message_appends"])
      yield* open(filename, Effect.void)
      expect(dump(filename)).toEqual(before)
      expect(schemaObjects(filename, "view")).toEqual([])
      expect(schemaObjects(filename, "trigger")).toEqual([
        "file_chunks_no_change",
        "file_contents_no_change",
        "messages_content_immutable",
        "messages_no_delete",
        "parts_content_immutable",
        "parts_no_delete",
        "parts_output_write_once",
        "parts_tombstone_once",
        "sessions_no_delete",
        "summary_nodes_content_immutable",
        "summary_nodes_no_delete",
        "summary_sources_no_change",
        "summary_sources_no_delete",
        "turn_snapshots_no_change",
        "turn_snapshots_no_delete"
      ])
      const db = new DatabaseSync(filename, { readOnly: true })
      const versions = db.prepare("SELECT migration_id FROM effect_sql_migrations ORDER BY migration_id")
        .all()
      db.close()
      expect(versions.map((row) => row["migration_id"])).toEqual(
        Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1)
      )
    }))

  it.scoped("reads back every kind of row the old store wrote", () =>
    Effect.gen(function*() {
      const filename = yield* copyFixture
      yield* open(
        filename,
        Effect.gen(function*() {
          const store = yield* Storage.Storage
          const parent = yield* store.getSession(PARENT)
          expect(parent).toMatchObject({
            messageCount: 16,
            metadata: { project: "fixture", tags: ["a", "b"] },
            cost: 0.0325,
            tokens: { input: 320, output: 45, cacheRead: 10, total: 375 }
          })
          expect((yield* store.listSessions({ parentId: PARENT })).map((s) => s.id)).toEqual([CHILD])

          const history = yield* store.history(PARENT, { limit: 100 })
          expect(history.map((m) => m.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1))
          expect(history.map((m) => m.isSummary)).toEqual([
            ...Array.from({ length: 12 }, () => false),
            true,
            true,
            true,
            false
          ])
          const [, answer, , tools, , failed] = history
          expect(answer!.parts).toMatchObject([
            { type: "reasoning", text: "Think about zebras.", signature: "sig-1" },
            { type: "text", text: "In notes/zebra.md, next to the flamingo list." }
          ])
          expect(answer!.finishReason).toBe("stop")
          expect(tools!.parts).toMatchObject([
            {
              type: "tool",
              toolName: "read",
              status: "completed",
              input: { path: "notes/zebra.ts" },
              output: "marmalade: the zebra file has 40 lines"
            },
            { type: "tool", toolName: "lint", status: "error", error: "linter not installed" },
            { type: "file_ref", path: "notes/zebra.ts", fileTokens: 400 }
          ])
          expect(tools!.parts[0]).toHaveProperty("compactedAt")
          expect(failed).toMatchObject({
            finishReason: "error",
            error: { tag: "LlmUnavailable", message: "the provider was down" }
          })
          const fileRef = tools!.parts[2]
          if (fileRef?.type !== "file_ref") throw new Error("expected a file reference")
          expect(yield* store.getFileReference(fileRef.fileId)).toMatchObject({ summary: "exports zebra" })

          const summaries = yield* store.sessionSummaries(PARENT)
          expect(summaries.map((s) => [s.kind, s.depth, s.supersededBy === undefined])).toEqual([
            ["leaf", 0, false],
            ["leaf", 0, false],
            ["condensed", 1, true]
          ])
          expect(summaries[2]!.parents).toEqual([summaries[0]!.id, summaries[1]!.id])
          const covers = yield* store.activeCovers([history[0]!.id])
          expect(covers.get(history[0]!.id)).toBe(summaries[2]!.id)
          expect(yield* store.summarySources(summaries[0]!.id)).toHaveLength(4)

          const context = yield* store.contextSince(PARENT)
          expect(context.version).toBe(5)
          expect(context.items[0]).toMatchObject({ kind: "summary", id: summaries[2]!.id })
          expect(context.items.map((i) => i.id)).not.toContain(failed!.id)

          const snapshots = yield* store.snapshots(PARENT)
          expect(snapshots.map((s) => [s.turn, s.compactionTriggered])).toEqual([[1, false], [2, true]])
          expect(snapshots[1]!.compactionResult).toMatchObject({ compacted: false, tokensBefore: 90 })

          // indexed by the old store (and re-indexed by its trigger), and never indexed before the upgrade
          for (
            const [text, count] of [["marmalade", 1], ["flamingo", 1], ["quokka", 1], ["narwhal", 0]] as const
          ) {
            const hits = yield* store.search({ sessionIds: [PARENT], text, limit: 5 })
            expect(hits.length, text).toBe(count)
          }
          expect((yield* store.search({ sessionIds: [CHILD], text: "narwhal", limit: 5 })).length).toBe(2)
        })
      )
    }))

  it.scoped("goes on numbering messages, positions and turns where the old store stopped", () =>
    Effect.gen(function*() {
      const filename = yield* copyFixture
      yield* open(
        filename,
        Effect.gen(function*() {
          const store = yield* Storage.Storage
          const before = yield* store.contextSince(PARENT)
          const message = yield* append(PARENT, "assistant", "after the upgrade")
          expect(message.seq).toBe(17)
          const after = yield* store.contextSince(PARENT, before.items.at(-1)!.position)
          expect(after.version).toBe(before.version)
          expect(after.items).toMatchObject([{
            position: 13,
            kind: "message",
            id: message.id,
            role: "assistant"
          }])
          yield* store.appendSnapshot(PARENT, {
            messageId: message.id,
            context: { system: 1, summaries: 1, messages: 1, toolOutputs: 0, total: 3 },
            compactionTriggered: false,
            createdAt: 1
          })
          expect((yield* store.snapshots(PARENT, { afterTurn: 2 })).map((s) => s.turn)).toEqual([3])
          const items = yield* store.contextItems(PARENT)
          const commit = yield* summaryCommit(PARENT, items.slice(1, 3))
          const summary = yield* store.commitCompaction(commit)
          expect(summary.seq).toBe(18)
          expect((yield* store.getSession(PARENT)).messageCount).toBe(18)
          const [node] = yield* store.summaries([commit.summary.id])
          expect(node?.spanStart).toBe(items[1]!.id as MessageId)
        })
      )
    }))
})
