/**
 * Type detection: magic numbers before extensions, the binary test (NUL bytes, invalid UTF-8,
 * control characters), extensions, and content sniffing for files without one.
 */
import { describe, expect, it } from "@effect/vitest"
import { detect, extensionOf, looksBinary } from "../../src/files/Detect.js"

const utf8 = (text: string) => new TextEncoder().encode(text)

describe("file type detection", () => {
  it("maps extensions to types, case-insensitively", () => {
    const cases: ReadonlyArray<[string, string]> = [
      ["a.ts", "typescript"],
      ["a.d.ts", "typescript"],
      ["a.TSX", "tsx"],
      ["a.mjs", "javascript"],
      ["a.py", "python"],
      ["a.go", "go"],
      ["a.rs", "rust"],
      ["A.java", "java"],
      ["tsconfig.json", "json"],
      ["a.jsonl", "jsonl"],
      ["a.yml", "yaml"],
      ["Cargo.toml", "toml"],
      ["a.csv", "csv"],
      ["a.tsv", "tsv"],
      ["README.md", "markdown"],
      ["schema.sql", "sql"],
      ["notes.txt", "text"]
    ]
    for (const [path, type] of cases) expect(detect(path, utf8("x")).fileType, path).toBe(type)
  })

  it("reads extensions from the last path segment only", () => {
    expect(extensionOf("dir.v2/Makefile")).toBe("")
    expect(extensionOf("C:\\src\\main.GO")).toBe("go")
    expect(extensionOf(".bashrc")).toBe("")
  })

  it("sniffs files without an extension: shebang, JSON, otherwise text", () => {
    expect(detect("bin/tool", utf8("#!/usr/bin/env python3\nprint(1)\n")).fileType).toBe("python")
    expect(detect("bin/run", utf8("#!/usr/bin/env -S node --no-warnings\n")).fileType).toBe("javascript")
    expect(detect("bin/sh", utf8("#!/bin/sh\necho hi\n")).fileType).toBe("text")
    expect(detect("data", utf8("  {\"a\": [1, 2]}\n")).fileType).toBe("json")
    expect(detect("data", utf8("{ not json")).fileType).toBe("text")
    expect(detect("Makefile", utf8("all:\n\techo hi\n")).fileType).toBe("text")
  })

  it("trusts magic numbers over extensions", () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])
    expect(detect("picture.ts", png)).toEqual({ fileType: "binary", binaryKind: "PNG image" })
    const sqlite = utf8("SQLite format 3\u0000rest")
    expect(detect("data.json", sqlite).fileType).toBe("sqlite")
    // Letters-only magic numbers do not make a text file binary.
    expect(detect("notes.txt", utf8("GIF89 is a format we discuss here")).fileType).toBe("text")
  })

  it("calls binary what has NUL bytes or mostly invalid UTF-8, not UTF-8 text in any script", () => {
    expect(looksBinary(utf8("plain text\n"))).toBe(false)
    expect(looksBinary(utf8("日本語のテキスト、ελληνικά, emoji 😀\n".repeat(50)))).toBe(false)
    expect(looksBinary(utf8("\u001b[31mred\u001b[0m log line\n"))).toBe(false)
    expect(looksBinary(Uint8Array.from([0x41, 0x00, 0x42]))).toBe(true)
    // Latin-1 bytes: every accented letter is an invalid UTF-8 sequence.
    expect(looksBinary(Uint8Array.from(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 0xe9 : 0x41)))))
      .toBe(true)
    // A multi-byte character cut by the end of the sample is not an error.
    const cut = utf8("a".repeat(8_191) + "é")
    expect(looksBinary(cut)).toBe(false)
    expect(looksBinary(new Uint8Array())).toBe(false)
  })
})
