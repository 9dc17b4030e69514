/**
 * The file handler over a real SQLite store: inline below the threshold, a content-addressed
 * reference at and above it, one stored copy per content, old content still readable after the
 * file changed or vanished, binary files referenced without their bytes, and every bad path a
 * typed `FileError` whose message says what to do.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Settings } from "../../src/Config.js"
import { FileReference } from "../../src/Domain.js"
import { FileError } from "../../src/Errors.js"
import * as Files from "../../src/Files.js"
import * as Ids from "../../src/internal/ids.js"
import * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import * as Tokenizer from "../../src/Tokenizer.js"
import { tempDir } from "../support/storage.js"

const THRESHOLD = 100

/** The store in a temporary file, the heuristic counter (characters ÷ 4: thresholds are exact), and the handler. */
const layerFiles = (
  options: Files.Options = {},
  handler: Layer.Layer<Files.FileHandler, never, Tokenizer.Tokenizer | Storage.Storage> = Files.layer({
    inlineThreshold: THRESHOLD,
    ...options
  })
) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const dir = yield* tempDir
    const filename = NodePath.join(dir, "store.db")
    return handler.pipe(
      Layer.provideMerge(SqliteStore.layer({ filename }).pipe(Layer.orDie)),
      Layer.provideMerge(Tokenizer.layerHeuristic),
      Layer.provideMerge(Layer.succeed(WorkDir, { dir, filename }))
    )
  }))

class WorkDir
  extends Effect.Tag("test/WorkDir")<WorkDir, { readonly dir: string; readonly filename: string }>()
{}

const write = (name: string, content: string | Uint8Array) =>
  Effect.map(WorkDir, ({ dir }) => {
    const path = NodePath.join(dir, name)
    NodeFs.mkdirSync(NodePath.dirname(path), { recursive: true })
    NodeFs.writeFileSync(path, content)
    return path
  })

/** Rows of the content table, read with a connection of its own. */
const storedCopies = Effect.map(WorkDir, ({ filename }) => {
  const db = new DatabaseSync(filename, { readOnly: true })
  try {
    return Number(db.prepare("SELECT count(*) AS n FROM file_contents").get()?.["n"] ?? 0)
  } finally {
    db.close()
  }
})

const expectFailure = <A, R>(effect: Effect.Effect<A, FileError | Storage.StoreFailure, R>) =>
  Effect.flatMap(
    Effect.flip(effect),
    (error) =>
      error instanceof FileError
        ? Effect.succeed(error)
        : Effect.dieMessage(`expected a FileError: ${error._tag}`)
  )

layer(layerFiles())("FileHandler", (it) => {
  it.effect("below the threshold the text goes inline; at and above it a reference", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const below = yield* files.ingest({ path: "notes.txt", content: "a".repeat(4 * THRESHOLD - 4) })
      expect(below._tag).toBe("Inline")
      if (below._tag === "Inline") {
        expect(below.tokens).toBe(THRESHOLD - 1)
        expect(below.text).toBe("a".repeat(4 * THRESHOLD - 4))
        expect(Files.renderInline(below)).toBe(
          `[file path="notes.txt" type="text" tokens="99"]\n${below.text}\n[/file]`
        )
      }
      const at = yield* files.ingest({ path: "at.txt", content: "b".repeat(4 * THRESHOLD) })
      expect(at._tag).toBe("Reference")
      if (at._tag === "Reference") expect(at.part.fileTokens).toBe(THRESHOLD)
      const above = yield* files.ingest({ path: "above.txt", content: "c".repeat(4 * THRESHOLD + 4) })
      expect(above._tag === "Reference" && above.part.fileTokens).toBe(THRESHOLD + 1)
    }))

  it.effect("a source file from an installed package becomes a reference with its parsed summary", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const path = NodePath.join(
        import.meta.dirname,
        "..",
        "..",
        "node_modules",
        "effect",
        "src",
        "Duration.ts"
      )
      const bytes = NodeFs.readFileSync(path)
      const result = yield* files.ingest({ path })
      if (result._tag !== "Reference") throw new Error("expected a reference")
      expect(result.part).toEqual({
        type: "file_ref",
        fileId: Ids.fileId(bytes),
        path,
        fileType: "typescript",
        fileTokens: Math.ceil(bytes.toString("utf8").length / 4),
        summary: result.reference.summary
      })
      expect(result.part.summary).toMatch(/export const decode = \(input: DurationInput\): Duration/)
      expect(result.reused).toBe(false)
    }))

  it.effect("the same content under two paths is one id and one stored copy", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const before = yield* storedCopies
      const content = "# Title\n\n" + "some words here. ".repeat(60)
      const first = yield* files.ingest({ path: yield* write("a/README.md", content) })
      const second = yield* files.ingest({ path: yield* write("b/README.md", content) })
      if (first._tag !== "Reference" || second._tag !== "Reference") throw new Error("expected references")
      expect(second.part.fileId).toBe(first.part.fileId)
      expect(second.reused).toBe(true)
      expect(second.part.path.endsWith("b/README.md")).toBe(true)
      // The stored reference keeps the first path; the part names the path it was attached as.
      expect(second.reference.path.endsWith("a/README.md")).toBe(true)
      expect((yield* storedCopies) - before).toBe(1)
    }))

  it.effect("a changed file gets a new id; the old id still expands to the old content, even once the file is gone", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const oldText = "def old():\n    return 1\n" + "# padding line for size\n".repeat(30)
      const path = yield* write("mod.py", oldText)
      const first = yield* files.ingest({ path })
      const newText = "def new():\n    return 2\n" + "# padding line for size\n".repeat(30)
      NodeFs.writeFileSync(path, newText)
      const second = yield* files.ingest({ path })
      if (first._tag !== "Reference" || second._tag !== "Reference") throw new Error("expected references")
      expect(second.part.fileId).not.toBe(first.part.fileId)
      NodeFs.rmSync(path)
      const page = yield* files.expand(first.part.fileId, { maxTokens: 2_000 })
      expect(page._tag).toBe("Page")
      expect(page.text).toContain("1│ def old():\n 2│     return 1")
      const symbol = yield* files.expand(first.part.fileId, { symbol: "old" })
      expect(symbol.text).toContain("function old (lines 1–2)")
      const newPage = yield* files.expand(second.part.fileId)
      expect(newPage.text).toContain("1│ def new():")
    }))

  it.effect("a reference stored without its content (an older store) gets the content on the next ingest", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const store = yield* Storage.Storage
      const content = "orphan reference line\n".repeat(40)
      const id = Ids.fileId(content)
      yield* store.putFileReference(
        new FileReference({
          id,
          path: "old.txt",
          fileType: "text",
          tokenCount: 220,
          summary: "old summary",
          createdAt: 0
        })
      )
      expect((yield* Effect.flip(files.expand(id))).message).toContain(
        "is not a file stored in this database"
      )
      const result = yield* files.ingest({ path: "old.txt", content })
      expect(result._tag === "Reference" && result.reused).toBe(true)
      expect((yield* files.expand(id)).text).toContain("1│ orphan reference line")
    }))

  it.effect("binary files are referenced whatever their size, and never paged", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const png = Uint8Array.from([
        0x89,
        0x50,
        0x4e,
        0x47,
        0x0d,
        0x0a,
        0x1a,
        0x0a,
        0,
        0,
        0,
        13,
        0x49,
        0x48,
        0x44,
        0x52
      ])
      const result = yield* files.ingest({ path: yield* write("logo.png", png) })
      if (result._tag !== "Reference") throw new Error("expected a reference")
      expect(result.part.fileType).toBe("binary")
      expect(result.part.fileTokens).toBe(0)
      expect(result.part.summary).toBe(
        "Binary file (PNG image), 16 bytes; its bytes are never shown in the context"
      )
      const page = yield* files.expand(result.part.fileId)
      expect(page._tag).toBe("NotText")
      const described = yield* files.describe(result.part.fileId)
      expect(described).toContain("16 bytes, 0 tokens")
      expect(described).toContain("Its bytes are not shown in the context.")
    }))

  it.effect("a 50,000-token source: the reference is small, one method is read on its own", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const method = (i: number) =>
        `  handler${i}(input: string): number {\n` +
        Array.from({ length: 8 }, (_, k) =>
          `    const step${k} = input.length * ${i + k} // step ${k} of handler ${i}\n`)
          .join("") +
        `    return step0 + ${i}\n  }\n`
      const source = `export class Router {\n${
        Array.from({ length: 420 }, (_, i) => method(i)).join("\n")
      }}\n`
      const result = yield* files.ingest({ path: "src/Router.ts", content: source })
      if (result._tag !== "Reference") throw new Error("expected a reference")
      expect(result.part.fileTokens).toBeGreaterThanOrEqual(50_000)
      expect(Tokenizer.heuristicTokenizer.count(result.part.summary)).toBeLessThanOrEqual(1_000)
      expect(result.part.summary).toContain("export class Router")
      const page = yield* files.expand(result.part.fileId, { symbol: "Router.handler317" })
      expect(page._tag === "Page" && page.symbol).toBe("Router.handler317")
      expect(page.text).toContain("handler317(input: string): number {")
      expect(page.text).toContain("return step0 + 317")
      expect(page.text).not.toContain("handler318")
      expect(Tokenizer.heuristicTokenizer.count(page.text)).toBeLessThan(400)
    }))

  it.effect("missing file, directory, too large, unknown id: typed errors that say what to do", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const { dir } = yield* WorkDir
      const missing = yield* expectFailure(files.ingest({ path: NodePath.join(dir, "nope.ts") }))
      expect(missing.reason).toBe("not_found")
      expect(missing.message).toContain(
        "does not exist; check the path, or pass the content with { path, content }"
      )
      const directory = yield* expectFailure(files.ingest({ path: dir }))
      expect(directory.reason).toBe("is_directory")
      expect(directory.message).toContain("is a directory; attach the files inside it one at a time")
      const unknown = yield* expectFailure(files.describe("file_nothing"))
      expect(unknown.reason).toBe("unknown_id")
      const absent = yield* expectFailure(files.expand(`file_${"0".repeat(64)}`))
      expect(absent.reason).toBe("unknown_id")
    }))
})

layer(layerFiles({ maxFileBytes: 1_000 }))("FileHandler limits", (it) => {
  it.effect("files above maxFileBytes are refused before being read, content too", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const path = yield* write("big.log", "x".repeat(2_000))
      const fromDisk = yield* expectFailure(files.ingest({ path }))
      expect(fromDisk.reason).toBe("too_large")
      expect(fromDisk.message).toContain("2,000 bytes, the limit is 1,000")
      const given = yield* expectFailure(files.ingest({ path: "big.log", content: "x".repeat(2_000) }))
      expect(given.reason).toBe("too_large")
    }))
})

layer(
  layerFiles(
    {},
    Files.layerFromSettings.pipe(
      Layer.provide(Settings.layer({ file: { inlineThreshold: 200 } })),
      Layer.orDie
    )
  )
)("FileHandler from the configuration", (it) => {
  it.effect("takes its threshold from file.inlineThreshold", () =>
    Effect.gen(function*() {
      const files = yield* Files.FileHandler
      const inline = yield* files.ingest({ path: "a.txt", content: "a".repeat(4 * 199) })
      expect(inline._tag).toBe("Inline")
      const reference = yield* files.ingest({ path: "b.txt", content: "b".repeat(4 * 200) })
      expect(reference._tag).toBe("Reference")
    }))
})

describe("file system errors", () => {
  it("map to FileError reasons by their code (permission errors included)", () => {
    const error = (code: string) => Object.assign(new Error(`${code}: failed`), { code })
    expect(Files.fromFsError("a")(error("EACCES")).reason).toBe("permission_denied")
    expect(Files.fromFsError("a")(error("EPERM")).message).toBe(
      "file a cannot be read: permission denied; grant read access or pass the content with { path, content }"
    )
    expect(Files.fromFsError("a")(error("ENOENT")).reason).toBe("not_found")
    expect(Files.fromFsError("a")(error("EISDIR")).reason).toBe("is_directory")
    const other = Files.fromFsError("a")(error("EIO"))
    expect(other.reason).toBe("unreadable")
    expect(other.message).toContain("(EIO: failed)")
  })
})
