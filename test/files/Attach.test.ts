/**
 * Files in sessions, end to end on real files — TypeScript from an installed package, its JSON
 * manifest, a Markdown README, a Python module, a CSV with quoted commas, a WebAssembly binary:
 * `attachFile` and `{ type: "file" }` parts give inline text below the threshold and a reference
 * at and above it (with the summary its parser found), the model is sent the reference and never
 * the content, the same content under two paths is stored once, a changed file gets a new id while
 * the old one still expands to the old content, and a file that cannot be read fails with a typed
 * `FileError` before anything is stored.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import type { MnesisConfigOverrides } from "../../src/Config.js"
import { FileError } from "../../src/Errors.js"
import * as Ids from "../../src/internal/ids.js"
import { makeTest } from "../../src/Layers.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import { Mnesis } from "../../src/promise.js"
import * as Session from "../../src/Session.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import { countTokens } from "../../src/Tokenizer.js"
import { tempDir } from "../support/storage.js"

const ROOT = NodePath.join(import.meta.dirname, "..", "..")
const real = (...path: ReadonlyArray<string>) => NodePath.join(ROOT, ...path)
const TS = real("node_modules", "effect", "src", "Duration.ts")
const JSON_FILE = real("node_modules", "effect", "package.json")
const MARKDOWN = real("node_modules", "yaml", "README.md")
const PYTHON = real("test", "fixtures", "files", "greeter.py")
const CSV = real("test", "fixtures", "files", "quoted.csv")
/** A CSV with quoted commas, quotes and a quoted line break, large enough to be a reference. */
const BIG_CSV = [
  "name,address,amount,note",
  ...Array.from(
    { length: 40 },
    (_, i) => `"Last${i}, First${i}","${i} Main St, Springfield",${i}.5,"said ""hi ${i}"""`
  ),
  "\"Doe, Jane\",\"2 Oak Ave, Shelbyville\",7,\"two\nlines\""
].join("\n") + "\n"
const WASM = real("node_modules", "@vscode", "tree-sitter-wasm", "wasm", "tree-sitter-python.wasm")

/** A scratch directory and a database file in it. */
const workspace = Effect.map(tempDir, (dir) => ({ dir, filename: NodePath.join(dir, "store.db") }))

/** Runs `body` with a session on a database file (the mock answers), closed afterwards. */
const withSession = <A, E>(
  filename: string,
  config: MnesisConfigOverrides,
  body: (session: Session.Session) => Effect.Effect<A, E, MockLlm.MockLlmControl>
) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* Session.open({ model: "mock/files", config })
    return yield* body(session)
  })).pipe(Effect.provide(makeTest({ storage: SqliteStore.layer({ filename }) }).pipe(Layer.orDie)))

/** Rows of a table, read with a connection of its own. */
const rowCount = (filename: string, table: string) => {
  const db = new DatabaseSync(filename, { readOnly: true })
  try {
    return Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.["n"] ?? 0)
  } finally {
    db.close()
  }
}

/** The failure as a `FileError` (any other failure fails the test). */
const asFileError = (error: unknown): FileError => {
  if (error instanceof FileError) return error
  throw new Error(`expected a FileError, got ${String(error)}`)
}

/** Everything the mock was sent in its last request, as text. */
const lastRequestText = Effect.flatMap(
  MockLlm.MockLlmControl,
  (control) => Effect.map(control.requests, (all) => JSON.stringify(all[all.length - 1]?.messages ?? []))
)

describe("attaching real files", () => {
  it.scoped("each type becomes a reference with its parser's summary; the model gets the summary, not the content", () =>
    Effect.gen(function*() {
      const { filename } = yield* workspace
      yield* withSession(
        filename,
        { file: { inlineThreshold: 100, summaryTokens: 400 } },
        (session) =>
          Effect.gen(function*() {
            const cases = [
              {
                path: TS,
                type: "typescript",
                shows: ["export const decode = (input: DurationInput): Duration"]
              },
              {
                path: JSON_FILE,
                type: "json",
                shows: ["JSON object with 14 keys", "L2 name: string \"effect\""]
              },
              {
                path: MARKDOWN,
                type: "markdown",
                shows: ["8 headings", "L35 ## API Overview", "L110 ## YAML.parse"]
              },
              {
                path: PYTHON,
                type: "python",
                shows: [
                  "L12-26 class Greeter",
                  "L18-20 @property def greeting(self) -> str",
                  "Exports (2): Greeter, main"
                ]
              },
              {
                path: "people.csv",
                content: BIG_CSV,
                type: "csv",
                shows: [
                  "CSV, 41 data rows × 4 columns",
                  "name: text, 41 distinct, e.g. \"Last0, First0\"",
                  "address: text, 41 distinct, e.g. \"0 Main St, Springfield\"",
                  "amount: number, 0.5..39.5"
                ]
              },
              { path: WASM, type: "binary", shows: ["Binary file (WebAssembly module), 457,883 bytes"] }
            ]
            const input = (file: { readonly path: string; readonly content?: string }) =>
              file.content === undefined ? file.path : { path: file.path, content: file.content }
            for (const file of cases) {
              const { path, shows, type } = file
              const bytes = "content" in file ? Buffer.from(file.content) : NodeFs.readFileSync(path)
              const attached = yield* session.attachFile(input(file))
              expect(attached, path).toMatchObject({
                inline: false,
                path,
                fileType: type,
                fileId: Ids.fileId(bytes),
                tokens: type === "binary" ? 0 : countTokens(bytes.toString("utf8"))
              })
              for (const text of shows) expect(attached.summary, path).toContain(text)
              expect(attached.part).toMatchObject({ type: "file_ref", fileId: attached.fileId, path })
            }
            const parts = yield* Effect.forEach(
              cases,
              (file) => Effect.map(session.attachFile(input(file)), (a) => a.part)
            )
            yield* session.send([{ type: "text", text: "Here are the project's files." }, ...parts])
            const sent = yield* lastRequestText
            expect(sent).toContain("export const decode = (input: DurationInput): Duration")
            expect(sent).toContain(Ids.fileId(NodeFs.readFileSync(PYTHON)))
            // the content itself never reaches the model: a line from inside each file's body
            expect(sent).not.toContain("return f\\\"hello, {self.name}\\\"")
            expect(sent).not.toContain("Last39, First39\\\",\\\"39 Main St")
            expect(sent).not.toContain("@standard-schema/spec\\\": \\\"^1.0.0")
          })
      )
      // one stored copy per content, however often it was attached
      expect(rowCount(filename, "file_contents")).toBe(6)
    }))

  it.scoped("below the threshold the text goes in; at and above it a reference", () =>
    Effect.gen(function*() {
      const { filename } = yield* workspace
      const text = NodeFs.readFileSync(PYTHON, "utf8")
      const tokens = countTokens(text)
      const attachAt = (inlineThreshold: number) =>
        withSession(
          filename,
          { file: { inlineThreshold, summaryTokens: 50 } },
          (session) => session.attachFile(PYTHON)
        )
      const below = yield* attachAt(tokens + 1)
      expect(below).toMatchObject({ inline: true, tokens, fileType: "python" })
      expect(below.part).toEqual({
        type: "text",
        text: `[file path="${PYTHON}" type="python" tokens="${tokens}"]\n${text}\n[/file]`
      })
      const at = yield* attachAt(tokens)
      expect(at).toMatchObject({ inline: false, tokens, fileId: Ids.fileId(text) })
      const above = yield* attachAt(tokens - 1)
      expect(above).toMatchObject({ inline: false, tokens, fileId: Ids.fileId(text), reused: true })
      expect(rowCount(filename, "file_contents")).toBe(1)
    }))

  it.scoped("file parts in send and record: the same content under two paths is one stored copy", () =>
    Effect.gen(function*() {
      const { dir, filename } = yield* workspace
      const content = NodeFs.readFileSync(TS)
      const a = NodePath.join(dir, "a", "Duration.ts")
      const b = NodePath.join(dir, "b", "Duration.ts")
      for (const path of [a, b]) {
        NodeFs.mkdirSync(NodePath.dirname(path), { recursive: true })
        NodeFs.writeFileSync(path, content)
      }
      yield* withSession(filename, { file: { inlineThreshold: 1_000 } }, (session) =>
        Effect.gen(function*() {
          yield* session.send([{ type: "text", text: "Read this." }, { type: "file", path: a }])
          yield* session.record({
            user: [{ type: "file", path: b }, {
              type: "file",
              path: "notes.md",
              content: "# Notes\n\nshort\n"
            }],
            assistant: "Both read."
          })
          const refs = (yield* session.messages()).flatMap((m) => m.parts).filter((p) =>
            p.type === "file_ref"
          )
          expect(refs.map((p) => p.type === "file_ref" && [p.path, p.fileId])).toEqual([
            [a, Ids.fileId(content)],
            [b, Ids.fileId(content)]
          ])
          const texts = (yield* session.messages()).flatMap((m) => m.parts).filter((p) => p.type === "text")
          expect(
            texts.some((p) =>
              p.type === "text" && p.text.includes("[file path=\"notes.md\" type=\"markdown\"")
            )
          ).toBe(
            true
          )
        }))
      expect(rowCount(filename, "file_contents")).toBe(1)
      expect(rowCount(filename, "file_references")).toBe(1)
    }))

  it.scoped("a changed file gets a new id; the old id still expands to the old content after the file is gone", () =>
    Effect.gen(function*() {
      const { dir, filename } = yield* workspace
      const path = NodePath.join(dir, "greeter.py")
      const before = NodeFs.readFileSync(PYTHON, "utf8")
      NodeFs.writeFileSync(path, before)
      yield* withSession(
        filename,
        { file: { inlineThreshold: 100, summaryTokens: 300 } },
        (session) =>
          Effect.gen(function*() {
            const first = yield* session.attachFile(path)
            yield* session.send([{ type: "text", text: "Version one:" }, first.part])
            NodeFs.writeFileSync(path, before.replace("hello, ", "goodbye, "))
            const second = yield* session.attachFile(path)
            yield* session.send([{ type: "text", text: "Version two:" }, second.part])
            expect(second.fileId).not.toBe(first.fileId)
            NodeFs.rmSync(path)

            const old = yield* session.expand({ id: first.fileId!, symbol: "Greeter.greeting" })
            expect(old.text).toContain("method Greeter.greeting (lines 18–20)")
            expect(old.text).toContain("20│         return f\"hello, {self.name}\"")
            const now = yield* session.expand({ id: second.fileId! })
            expect(now.text).toContain("return f\"goodbye, {self.name}\"")
            expect(now.items.map((item) => [item.kind, item.id, item.partial])).toEqual([[
              "file",
              second.fileId,
              false
            ]])
            const described = yield* session.describe({ id: first.fileId! })
            expect(described.description).toMatchObject({ kind: "file", path, fileType: "python", lines: 35 })
            expect(described.text).toContain("L12-26 class Greeter")
          })
      )
    }))

  it.scoped("a missing file, a directory or a FIFO fails with FileError and stores nothing", () =>
    Effect.gen(function*() {
      const { dir, filename } = yield* workspace
      const fifo = NodePath.join(dir, "pipe")
      execFileSync("mkfifo", [fifo])
      yield* withSession(filename, {}, (session) =>
        Effect.gen(function*() {
          const missing = asFileError(yield* Effect.flip(session.attachFile(NodePath.join(dir, "nope.ts"))))
          expect(missing.reason).toBe("not_found")
          expect(missing.message).toContain(
            "does not exist; check the path, or pass the content with { path, content }"
          )
          const directory = asFileError(yield* Effect.flip(session.send([{ type: "file", path: dir }])))
          expect(directory.reason).toBe("is_directory")
          expect(directory.message).toContain("is a directory; attach the files inside it one at a time")
          const special = asFileError(yield* Effect.flip(session.attachFile(fifo)))
          expect(special.reason).toBe("unreadable")
          expect(special.message).toContain("not a regular file")
          // a good file beside a missing one: the call fails before anything is stored
          const mixed = asFileError(
            yield* Effect.flip(
              session.record({
                user: [{ type: "file", path: PYTHON }, { type: "file", path: NodePath.join(dir, "gone") }]
              })
            )
          )
          expect(mixed.reason).toBe("not_found")
          const bad = yield* Effect.flip(session.send([{ type: "file", path: "" }]))
          expect(bad._tag === "InvalidInput" && bad.field).toBe("message[0].path")
          expect(yield* session.messages()).toEqual([])
        }))
      expect(rowCount(filename, "file_contents")).toBe(0)
      expect(rowCount(filename, "messages")).toBe(0)
    }))
})

describe("the Promise API", () => {
  it.scoped("attachFile resolves with the part, and rejects with a FileError", () =>
    Effect.gen(function*() {
      const { filename } = yield* workspace
      yield* Effect.promise(async () => {
        const client = Mnesis.client(
          makeTest({ storage: SqliteStore.layer({ filename }), config: { file: { inlineThreshold: 100 } } })
        )
        try {
          const session = await client.open({ model: "mock/files" })
          const attached = await session.attachFile({ path: "data.csv", content: NodeFs.readFileSync(CSV) })
          expect(attached).toMatchObject({ inline: true, fileType: "csv" })
          const python = await session.attachFile(PYTHON)
          expect(python.inline).toBe(false)
          await session.send([{ type: "text", text: "See the module." }, python.part])
          const page = await session.expand({ id: python.fileId!, line: 29, maxTokens: 200 })
          expect(page.text).toContain("29│ def main(argv: list[str] | None = None) -> int:")
          await expect(session.attachFile("/nonexistent/x.py")).rejects.toMatchObject({
            _tag: "FileError",
            reason: "not_found"
          })
          await session.close()
        } finally {
          await client.dispose()
        }
      })
    }))
})
