/**
 * Migration 5 moves file contents into the store. A database where the pre-store content seam
 * created its own `file_contents` table (one BLOB per id) keeps every content: after opening, each
 * reads back byte for byte and by lines, and the seam's table is gone.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import { FileReference } from "../../src/Domain.js"
import * as Ids from "../../src/internal/ids.js"
import * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import { tempDir } from "../support/storage.js"

const FIXTURE = NodePath.join(import.meta.dirname, "../fixtures/schema-v2.db")

describe("migration 5 (file contents in the store)", () => {
  it.scoped("carries over the contents the pre-store seam kept in its own table", () =>
    Effect.gen(function*() {
      const filename = NodePath.join(yield* tempDir, "store.db")
      NodeFs.copyFileSync(FIXTURE, filename)
      const text = Array.from({ length: 5_000 }, (_, i) => `line ${i} of the seam's file`).join("\n") + "\n"
      const bytes = new TextEncoder().encode(text)
      const binary = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])
      const db = new DatabaseSync(filename)
      db.exec(`CREATE TABLE IF NOT EXISTS file_contents (
        id TEXT PRIMARY KEY,
        byte_length INTEGER NOT NULL,
        content BLOB NOT NULL
      ) STRICT`)
      const insert = db.prepare("INSERT INTO file_contents (id, byte_length, content) VALUES (?, ?, ?)")
      insert.run(Ids.fileId(bytes), bytes.length, bytes)
      insert.run(Ids.fileId(binary), binary.length, binary)
      db.close()

      yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          const store = yield* Storage.Storage
          // the seam wrote references through the store; one of them is written now
          yield* store.putFileReference(
            new FileReference({
              id: Ids.fileId(bytes),
              path: "seam.txt",
              fileType: "text",
              tokenCount: 40_000,
              summary: "a text file",
              createdAt: 0
            })
          )
          expect(yield* store.fileContent(Ids.fileId(bytes))).toEqual(bytes)
          expect(yield* store.fileContent(Ids.fileId(binary))).toEqual(binary)
          expect(yield* store.fileLines(Ids.fileId(bytes), 4_000, 4_001)).toEqual([
            "line 3999 of the seam's file",
            "line 4000 of the seam's file"
          ])
          expect((yield* store.getFile(Ids.fileId(bytes)))?.content).toEqual({
            byteLength: bytes.length,
            lineCount: 5_000,
            text: true
          })
        }),
        SqliteStore.layer({ filename })
      ))
      const after = new DatabaseSync(filename, { readOnly: true })
      const tables = after.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'file_%'"
      )
        .all().map((row) => row["name"])
      after.close()
      expect(tables.sort()).toEqual(["file_chunks", "file_contents", "file_references"])
    }))
})
