/**
 * Exploration summaries on real files — sources and documents of installed packages and small
 * fixtures in every supported language and format: the right type, the named symbols and counts,
 * within the budget, the same text every time, and the plain-text fallback (with its reason) when
 * a parser rejects the file.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as FastCheck from "effect/FastCheck"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { DatabaseSync } from "node:sqlite"
import { splitStatements, statementKind } from "../../src/files/data/Sql.js"
import { fit } from "../../src/files/Digest.js"
import { digestOf, summarize } from "../../src/files/Summarize.js"
import { countTokens } from "../../src/Tokenizer.js"

const fixture = (name: string) => NodePath.join(import.meta.dirname, "..", "fixtures", "files", name)
const installed = (path: string) => NodePath.join(import.meta.dirname, "..", "..", "node_modules", path)
const count = (text: string) => countTokens(text)

/** Summarises the file at `file`, named `path` (the fixtures of JS-family sources carry a `.txt`). */
const summary = (file: string, options: { readonly path?: string; readonly budget?: number } = {}) =>
  summarize(
    { path: options.path ?? file, bytes: NodeFs.readFileSync(file) },
    { budget: options.budget ?? 2_000, count }
  )

describe("source code summaries (tree-sitter)", () => {
  it.effect("TypeScript from an installed package: exports, functions with signatures, line spans", () =>
    Effect.gen(function*() {
      const result = yield* summary(installed("effect/src/Duration.ts"))
      expect(result.fileType).toBe("typescript")
      expect(result.degraded).toBeUndefined()
      expect(result.text).toMatch(/^TypeScript module, 1,\d{3} lines: /)
      expect(result.text).toContain("Imports (9): ./Equal.js")
      expect(result.text).toMatch(/L\d+-\d+ export const decode = \(input: DurationInput\): Duration/)
      expect(result.text).toMatch(/L\d+ export const millis = \(millis: number\): Duration/)
      expect(result.text).toMatch(/Exports \(\d+\): TypeId, Duration, /)
      // Doc comments inside overload types are not part of a signature.
      expect(result.text).not.toContain("/**")
      expect(count(result.text)).toBeLessThanOrEqual(2_000)
    }))

  it.effect("TypeScript classes list their methods; interfaces their members", () =>
    Effect.gen(function*() {
      const result = yield* summary(installed("@effect/sql/src/SqlError.ts"))
      expect(result.text).toMatch(/L\d+-\d+ export class SqlError extends /)
      const own = yield* summary(NodePath.join(import.meta.dirname, "..", "..", "src", "Tokenizer.ts"))
      expect(own.text).toMatch(
        /L\d+-\d+ export interface Service\n {4}L\d+ readonly count: \(text: string, encoding\?: Encoding\) => number/
      )
      expect(own.text).toContain(
        "Exports (11): Encoding from ./ModelRegistry.js, DEFAULT_ENCODING, countTokens"
      )
    }))

  it.effect("TSX: JSX bodies parse, exported components and the default export are named", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("Panel.tsx.txt"), { path: "src/Panel.tsx" })
      expect(result.fileType).toBe("tsx")
      expect(result.text).toContain("TSX module, 21 lines: 1 interface, 2 functions")
      expect(result.text).toContain("Imports (2): react, ./theme")
      expect(result.text).toContain("Exports (4): PanelProps, Panel, themed, default (Panel)")
      expect(result.text).toContain(
        "L9-17 export function Panel({ title, collapsed = false }: PanelProps): JSX.Element"
      )
    }))

  it.effect("JavaScript: a UMD bundle's declarations come from inside its wrapper", () =>
    Effect.gen(function*() {
      const result = yield* summary(installed("papaparse/papaparse.js"))
      expect(result.fileType).toBe("javascript")
      expect(result.text).toContain("inside a module wrapper (UMD/IIFE)")
      expect(result.text).toMatch(/L\d+-\d+ function CsvToJson\(_input, _config\)/)
    }))

  it.effect("Python: imports, __all__, classes with their methods (async, decorated, nested class)", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("greeter.py"))
      expect(result.fileType).toBe("python")
      expect(result.text).toBe([
        "Python module, 35 lines: 1 variable, 1 class, 2 functions",
        "Imports (4): os, sys, collections, .local",
        "Exports (2): Greeter, main",
        "Symbols (4):",
        "  L9 DEFAULT_NAME = \"world\"",
        "  L12-26 class Greeter",
        "    L15-16 def __init__(self, name: str = DEFAULT_NAME) -> None",
        "    L18-20 @property def greeting(self) -> str",
        "    L22-23 async def wait(self, seconds: float = 1.0) -> None",
        "    L25-26 class Options",
        "  L29-31 def main(argv: list[str] | None = None) -> int",
        "  L34-35 def _private() -> None"
      ].join("\n"))
    }))

  it.effect("Go: package, methods under their receiver type, capitalised names exported", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("store.go"))
      expect(result.text).toContain("Go source (package store), 39 lines")
      expect(result.text).toContain("Exports (5): Store, Reader, MaxKeys, ErrMissing, New")
      expect(result.text).toContain(
        "  L9-11 type Store struct\n    L29-35 func (s *Store) Get(key string) (string, error)"
      )
      expect(result.text).toContain("  L14-16 type Reader interface\n    L15 Get(key string) (string, error)")
    }))

  it.effect("Rust: traits and impl blocks with their methods, pub items exported", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("shapes.rs"))
      expect(result.text).toContain(
        "Rust module, 50 lines: 1 trait, 1 struct, 1 enum, 3 impls, 1 const, 1 module, 1 function"
      )
      expect(result.text).toContain("Exports (5): Shape, Circle, Kind, UNIT, index")
      expect(result.text).toContain("  L28-32 impl Circle\n    L29-31 pub fn new(radius: f64) -> Self")
      expect(result.text).toContain("L48-50 pub fn index(shapes: &[Circle]) -> HashMap<String, f64>")
    }))

  it.effect("Java: package, classes with constructors, methods and nested types", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("Inventory.java"))
      expect(result.text).toContain(
        "Java source (package com.example.inventory), 36 lines: 1 class, 1 enum, 1 interface"
      )
      expect(result.text).toContain(
        "L7-23 public class Inventory\n    L10 public Inventory()\n    L12-14 public void add(String item)"
      )
      expect(result.text).toContain("    L20-22 static class Audit\n      L21 void run()")
    }))
})

describe("data and document summaries", () => {
  it.effect("JSON from an installed package: keys with line numbers and shapes", () =>
    Effect.gen(function*() {
      const result = yield* summary(installed("effect/package.json"))
      const keys = Object.keys(
        Schema.decodeUnknownSync(
          Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
        )(
          NodeFs.readFileSync(installed("effect/package.json"), "utf8")
        )
      )
      expect(result.fileType).toBe("json")
      expect(result.text).toContain(`JSON object with ${keys.length} keys`)
      expect(result.text).toMatch(/\n {2}L2 name: string "effect"/)
      expect(result.text).toMatch(/L\d+ exports: object \(\d+ keys\)/)
    }))

  it.effect("JSON with comments and trailing commas (tsconfig style) parses", () =>
    Effect.gen(function*() {
      const text =
        "{\n  // compiler\n  \"compilerOptions\": { \"strict\": true, },\n  \"include\": [\"src\"],\n}\n"
      const result = yield* summarize({ path: "tsconfig.json", bytes: new TextEncoder().encode(text) }, {
        budget: 500,
        count
      })
      expect(result.degraded).toBeUndefined()
      expect(result.text).toContain("L3 compilerOptions: object (1 key)\n    strict: boolean true")
      expect(result.text).toContain("L4 include: array[1] of string")
    }))

  it.effect("a JSON syntax error degrades to the plain-text summary and says why", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("broken.json"))
      expect(result.fileType).toBe("json")
      expect(result.degraded).toBe("JSON syntax error at line 4: CommaExpected")
      expect(result.text).toContain("the JSON summary failed (JSON syntax error at line 4: CommaExpected)")
      expect(result.text).toContain("L4: \"missing\": \"comma\"")
    }))

  it.effect("Markdown from an installed package: heading outline with lines, tables with columns and rows", () =>
    Effect.gen(function*() {
      const result = yield* summary(installed("effect/README.md"))
      expect(result.fileType).toBe("markdown")
      expect(result.text).toContain("  L1 # `effect` Core Package\n    L5 ## Requirements")
      expect(result.text).toContain("L38 ## Overview of Effect Modules")
      expect(result.text).toMatch(/L\d+ 2 columns \(Module, Description\), \d+ rows/)
    }))

  it.effect("Markdown: a heading inside a code fence is code, front matter keys are listed", () =>
    Effect.gen(function*() {
      const text = "---\ntitle: Notes\ntags: [a]\n---\n# Top\n\n```sh\n# not a heading\n```\n\n## Sub\n"
      const result = yield* summarize({ path: "notes.md", bytes: new TextEncoder().encode(text) }, {
        budget: 500,
        count
      })
      expect(result.text).toContain("Front matter keys (2): title, tags")
      expect(result.text).toContain("  L5 # Top\n    L11 ## Sub")
      expect(result.text).not.toContain("not a heading")
      expect(result.text).toContain("2 headings")
    }))

  it.effect("CSV with quoted commas, quotes and newlines: the right columns and row count", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("quoted.csv"))
      expect(result.text).toContain("CSV, 3 data rows × 4 columns")
      expect(result.text).toContain("name: text, 3 distinct, e.g. \"Smith, John\"")
      expect(result.text).toContain("address: text, 3 distinct, e.g. \"1 Main St, Springfield\"")
      expect(result.text).toContain("amount: number, -3..12.5")
      expect(result.text).toContain("5 lines hold 4 rows")
    }))

  it.effect("TSV: tab-separated columns, integer ranges", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("cities.tsv"))
      expect(result.text).toContain("TSV, 3 data rows × 3 columns")
      expect(result.text).toContain("population: integer, 342,669..2,102,650")
    }))

  it.effect("YAML streams: one entry per document, with kind and name", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("manifests.yaml"))
      expect(result.text).toContain("YAML stream of 2 documents")
      expect(result.text).toContain("L1 document 1 (Service web): object with 4 keys")
      expect(result.text).toContain("L9 document 2 (Deployment web): object with 4 keys")
    }))

  it.effect("TOML: tables and arrays of tables with their lines", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("config.toml"))
      expect(result.text).toContain("TOML document: 5 top-level keys (2 tables)")
      expect(result.text).toContain("L5 server: object (2 keys)")
      expect(result.text).toContain("L13 workers: array[2] of object {name}")
    }))

  it.effect("SQL: tables with their columns; semicolons in strings, comments, bodies do not split", () =>
    Effect.gen(function*() {
      const result = yield* summary(fixture("schema.sql"))
      expect(result.text).toContain(
        "SQL script, 8 statements: CREATE TABLE ×2, INSERT ×2, CREATE FUNCTION, CREATE INDEX, CREATE TRIGGER, CREATE VIEW"
      )
      expect(result.text).toContain(
        "  L2 items (3 columns)\n    id INTEGER PRIMARY KEY\n    name TEXT NOT NULL DEFAULT 'a;b'\n    \"unit, price\" NUMERIC"
      )
      expect(result.text).toContain("L10 movements (3 columns, 1 table constraint)")
      expect(result.text).toContain("L8 items_name ON items (name)")
      expect(result.text).toContain("Views (1):\n  L24 stock")
    }))

  it("SQL statements split by a lexer, classified by their leading keywords", () => {
    const statements = splitStatements(
      "select ';'; /* ; */ create temp table t (a);\n-- ;\nDROP TABLE IF EXISTS t"
    )
    expect(statements.map((s) => statementKind(s.text))).toEqual(["SELECT", "CREATE TABLE", "DROP TABLE"])
  })

  it.scoped("a SQLite database file: its schema read by SQLite, rows counted", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-files-"))),
        (d) => Effect.sync(() => NodeFs.rmSync(d, { recursive: true, force: true }))
      )
      const file = NodePath.join(dir, "shop.data")
      const db = new DatabaseSync(file)
      db.exec("PRAGMA journal_mode = WAL")
      db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL) STRICT")
      db.exec("CREATE INDEX orders_customer ON orders (customer)")
      db.exec("CREATE VIEW big AS SELECT * FROM orders WHERE total > 100")
      db.exec("INSERT INTO orders (customer, total) VALUES ('a', 1), ('b', 200)")
      db.close()
      const result = yield* summary(file)
      expect(result.fileType).toBe("sqlite")
      expect(result.text).toContain("1 table, 1 view, 2 rows in all")
      expect(result.text).toContain(
        "orders (3 columns, 2 rows, STRICT)\n    id INTEGER PRIMARY KEY\n    customer TEXT NOT NULL"
      )
      expect(result.text).toContain("CREATE INDEX orders_customer ON orders (customer)")
    }))

  it.effect("plain text: line and word counts, the head, the most distinctive lines", () =>
    Effect.gen(function*() {
      const lines = Array.from({ length: 200 }, (_, i) => `INFO request ${i} served in normal time`)
      lines[150] = "ERROR database connection refused by upstream replica"
      const result = yield* summarize(
        { path: "server.log", bytes: new TextEncoder().encode(lines.join("\n")) },
        { budget: 300, count }
      )
      expect(result.text).toContain("Text file, 200 lines, 1,400 words")
      expect(result.text).toContain("L1: INFO request 0 served in normal time")
      expect(result.text).toContain("Distinctive lines (rarest words first) (")
      expect(result.text).toMatch(
        /rarest words first\) \(\d+\):\n {2}L151: ERROR database connection refused/
      )
    }))

  it.effect("a binary file is described without its bytes", () =>
    Effect.gen(function*() {
      const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x41, 0x42, 0x43, 0x44])
      const result = yield* summarize({ path: "logo.png", bytes: png }, { budget: 200, count })
      expect(result.fileType).toBe("binary")
      expect(result.text).toBe("Binary file (PNG image), 12 bytes; its bytes are never shown in the context")
    }))
})

describe("budget and determinism", () => {
  it.effect("a large source fits any budget, cuts say how much they left out, and the text never varies", () =>
    Effect.gen(function*() {
      const bytes = NodeFs.readFileSync(installed("effect/src/Effect.ts"))
      const { digest } = yield* digestOf({ path: "Effect.ts", bytes })
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(FastCheck.integer({ min: 30, max: 3_000 }), async (budget) => {
            const text = fit(digest, budget, count)
            expect(count(text)).toBeLessThanOrEqual(budget)
            expect(fit(digest, budget, count)).toBe(text)
            // Let the test runner's messages through between runs (a microtask would not).
            await new Promise((resolve) => setImmediate(resolve))
          }),
          { numRuns: 15 }
        )
      )
      const small = fit(digest, 300, count)
      expect(small).toMatch(/… [\d,]+ more/)
      expect(small.split("\n")[0]).toMatch(/^TypeScript module, [\d,]+ lines: /)
    }))

  it.effect("summarising the same bytes twice gives the same text", () =>
    Effect.gen(function*() {
      const first = yield* summary(installed("effect/src/Duration.ts"), { budget: 700 })
      const second = yield* summary(installed("effect/src/Duration.ts"), { budget: 700 })
      expect(second.text).toBe(first.text)
    }))
})
