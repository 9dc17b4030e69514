/**
 * Type detection: magic numbers first (a SQLite database or a PNG is what its bytes say, whatever
 * its name), then a binary test on the first bytes (NUL bytes, invalid UTF-8, control
 * characters), then the extension, then the content (shebang, JSON).
 *
 * @since 0.1.0
 */
import type { FileType } from "./types.js"

/** What detection found: the type, and for binary files what kind of binary when it is known. */
export interface Detected {
  readonly fileType: FileType
  readonly binaryKind?: string | undefined
}

/** How many leading bytes the binary test reads. */
const SAMPLE_BYTES = 8_192
/** Above this share of invalid UTF-8 sequences or control characters the file is binary. */
const BINARY_RATIO = 0.1

const startsWith = (bytes: Uint8Array, magic: ReadonlyArray<number>, at = 0): boolean =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b)

const ascii = (text: string): ReadonlyArray<number> => Array.from(text, (c) => c.charCodeAt(0))

const MAGIC: ReadonlyArray<
  { readonly kind: string; readonly magic: ReadonlyArray<number>; readonly at?: number }
> = [
  { kind: "PNG image", magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { kind: "JPEG image", magic: [0xff, 0xd8, 0xff] },
  { kind: "GIF image", magic: ascii("GIF8") },
  { kind: "WebP image", magic: ascii("WEBP"), at: 8 },
  { kind: "PDF document", magic: ascii("%PDF-") },
  { kind: "ZIP archive (or a format built on it: jar, docx, xlsx)", magic: [0x50, 0x4b, 0x03, 0x04] },
  { kind: "gzip data", magic: [0x1f, 0x8b] },
  { kind: "bzip2 data", magic: ascii("BZh") },
  { kind: "xz data", magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { kind: "zstd data", magic: [0x28, 0xb5, 0x2f, 0xfd] },
  { kind: "7-Zip archive", magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { kind: "ELF executable", magic: [0x7f, 0x45, 0x4c, 0x46] },
  { kind: "WebAssembly module", magic: [0x00, 0x61, 0x73, 0x6d] },
  { kind: "Mach-O executable", magic: [0xcf, 0xfa, 0xed, 0xfe] },
  { kind: "Java class file", magic: [0xca, 0xfe, 0xba, 0xbe] },
  { kind: "Parquet file", magic: ascii("PAR1") }
]

const isPrintable = (magic: ReadonlyArray<number>): boolean => magic.every((b) => b >= 0x20 && b < 0x7f)

const SQLITE_MAGIC = ascii("SQLite format 3\u0000")

/** The SQLite header: a database file whatever its extension. */
export const isSqliteDatabase = (bytes: Uint8Array): boolean => startsWith(bytes, SQLITE_MAGIC)

/**
 * Length of a valid UTF-8 sequence starting at `i`, or 0 when the bytes there are not one. A
 * sequence cut by the end of the sample counts as valid (the sample ends mid-character).
 */
const utf8Length = (bytes: Uint8Array, i: number): number => {
  const b = bytes[i]!
  const need = b < 0x80
    ? 1
    : b >= 0xc2 && b <= 0xdf
    ? 2
    : b >= 0xe0 && b <= 0xef
    ? 3
    : b >= 0xf0 && b <= 0xf4
    ? 4
    : 0
  if (need === 0) return 0
  for (let k = 1; k < need; k++) {
    if (i + k >= bytes.length) return bytes.length - i
    const c = bytes[i + k]!
    if ((c & 0xc0) !== 0x80) return 0
  }
  return need
}

/**
 * Binary when the first bytes hold a NUL, or more than 10% of them are invalid UTF-8 or control
 * characters other than tab, newlines, form feed and escape. UTF-16 text (with its BOM) is
 * binary to us: the context takes UTF-8.
 */
export const looksBinary = (bytes: Uint8Array): boolean => {
  const n = Math.min(bytes.length, SAMPLE_BYTES)
  if (n === 0) return false
  const sample = bytes.subarray(0, n)
  let bad = 0
  let i = 0
  while (i < n) {
    const b = sample[i]!
    if (b === 0) return true
    if (b < 0x80) {
      // \t \n \v \f \r and ESC (terminal colours in logs) are text.
      if (b < 0x20 && !(b >= 0x09 && b <= 0x0d) && b !== 0x1b) bad++
      else if (b === 0x7f) bad++
      i++
      continue
    }
    const length = utf8Length(sample, i)
    if (length === 0) {
      bad++
      i++
    } else {
      i += length
    }
  }
  return bad / n > BINARY_RATIO
}

const EXTENSIONS: Readonly<Record<string, FileType>> = {
  ts: "typescript",
  mts: "typescript",
  cts: "typescript",
  tsx: "tsx",
  js: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  jsx: "javascript",
  py: "python",
  pyi: "python",
  go: "go",
  rs: "rust",
  java: "java",
  json: "json",
  jsonc: "json",
  geojson: "json",
  jsonl: "jsonl",
  ndjson: "jsonl",
  yaml: "yaml",
  yml: "yaml",
  toml: "toml",
  csv: "csv",
  tsv: "tsv",
  tab: "tsv",
  md: "markdown",
  markdown: "markdown",
  sql: "sql",
  txt: "text",
  log: "text",
  rst: "text"
}

/** The extension of a path, lower-cased and without the dot (`""` when it has none). */
export const extensionOf = (path: string): string => {
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1)
  const dot = base.lastIndexOf(".")
  return dot <= 0 ? "" : base.slice(dot + 1).toLowerCase()
}

/** The interpreter named by a `#!` line: `#!/usr/bin/env python3` → `python3`. */
const shebang = (text: string): string | undefined => {
  if (!text.startsWith("#!")) return undefined
  const words = text.slice(2, text.indexOf("\n") === -1 ? undefined : text.indexOf("\n")).trim().split(/\s+/)
  const program = words[0]?.endsWith("/env") === true
    ? words.find((w, i) => i > 0 && !w.startsWith("-"))
    : words[0]
  return program?.slice(program.lastIndexOf("/") + 1)
}

const fromContent = (text: string): FileType => {
  const interpreter = shebang(text)
  if (interpreter !== undefined) {
    if (interpreter.startsWith("python")) return "python"
    if (interpreter === "node" || interpreter === "deno" || interpreter === "bun") return "javascript"
    if (interpreter === "tsx" || interpreter === "ts-node") return "typescript"
    return "text"
  }
  const head = text.trimStart()
  if (head.startsWith("{") || head.startsWith("[")) {
    try {
      JSON.parse(text)
      return "json"
    } catch {
      return "text"
    }
  }
  return "text"
}

/**
 * The type of a file from its path and bytes. `text` is the decoded content when the caller has
 * it (it is only read for extension-less files).
 */
export const detect = (path: string, bytes: Uint8Array, text?: () => string): Detected => {
  if (isSqliteDatabase(bytes)) return { fileType: "sqlite" }
  const binary = looksBinary(bytes)
  for (const { at, kind, magic } of MAGIC) {
    // A magic number made of letters only ("GIF8", "BZh") could begin a text file too.
    if (startsWith(bytes, magic, at ?? 0) && (binary || kind === "PDF document" || !isPrintable(magic))) {
      return { fileType: "binary", binaryKind: kind }
    }
  }
  if (binary) return { fileType: "binary" }
  const byExtension = EXTENSIONS[extensionOf(path)]
  if (byExtension !== undefined) return { fileType: byExtension }
  return { fileType: fromContent(text?.() ?? new TextDecoder().decode(bytes)) }
}
