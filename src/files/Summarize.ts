/**
 * Exploration summaries: detect the type, hand the file to its family's parser, render what it
 * found within the token budget. Deterministic (same bytes, budget and counter → same text) and
 * total: a parser that fails, a file too large to parse, a grammar that cannot load — each gives
 * the generic plain-text summary with the reason in a note, never an error.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Outline from "./code/Outline.js"
import * as Csv from "./data/Csv.js"
import * as Json from "./data/Json.js"
import * as Sql from "./data/Sql.js"
import * as SqliteDb from "./data/SqliteDb.js"
import * as Toml from "./data/Toml.js"
import * as Yaml from "./data/Yaml.js"
import { detect, type Detected } from "./Detect.js"
import { fit, num, type Within } from "./Digest.js"
import { countLines } from "./Lines.js"
import * as Markdown from "./Markdown.js"
import * as PlainText from "./PlainText.js"
import {
  type CodeOutline,
  type Count,
  type Digest,
  type FileSummary,
  type FileType,
  isCodeType,
  TYPE_LABELS,
  Unparseable
} from "./types.js"

/** Default budget of a summary, in tokens. */
export const DEFAULT_SUMMARY_TOKENS = 1_000
/** Text above this many characters is not parsed (the generic summary says so). */
export const DEFAULT_MAX_PARSE_CHARS = 8_000_000

export interface SummarizeOptions {
  /** The summary's budget in tokens. */
  readonly budget: number
  readonly count: Count
  /** A cheaper "is this text within the budget" (e.g. `Tokenizer.isWithinLimit`); `count` by default. */
  readonly within?: Within | undefined
  readonly maxParseChars?: number | undefined
}

export interface SummarizeInput {
  readonly path: string
  readonly bytes: Uint8Array
  /** The decoded text, when the caller already has it. */
  readonly text?: string | undefined
  /** The detected type, when the caller already has it. */
  readonly detected?: Detected | undefined
}

/** UTF-8 text of the bytes (invalid sequences become U+FFFD; a BOM is dropped). */
export const decode = (bytes: Uint8Array): string => new TextDecoder("utf-8").decode(bytes)

const binaryDigest = (detected: Detected, size: number): Digest => ({
  headline:
    `Binary file${detected.binaryKind === undefined ? "" : ` (${detected.binaryKind})`}, ${
      num(size)
    } bytes; ` +
    "its bytes are never shown in the context",
  sections: []
})

const degraded = (fileType: FileType, text: string, reason: string): Digest =>
  PlainText.digest(text, `${TYPE_LABELS[fileType]} file`, [
    `the ${TYPE_LABELS[fileType]} summary failed (${reason}); this is the plain-text summary`
  ])

/** The digest of a non-code text file; throws {@link Unparseable} when its parser rejects it. */
const dataDigest = (fileType: FileType, text: string): Digest => {
  switch (fileType) {
    case "json":
      return Json.digest(text)
    case "jsonl":
      return Json.digestLines(text)
    case "yaml":
      return Yaml.digest(text)
    case "toml":
      return Toml.digest(text)
    case "csv":
      return Csv.digest(text, ",")
    case "tsv":
      return Csv.digest(text, "\t")
    case "markdown":
      return Markdown.digest(text)
    case "sql":
      return Sql.digest(text)
    default:
      return PlainText.digest(text, `${TYPE_LABELS[fileType]} file`)
  }
}

const reasonOf = (error: unknown): string =>
  error instanceof Unparseable
    ? error.reason
    : error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error)

/** The outline of a source file (for `symbol=` lookups), or `undefined` for other types or on failure. */
export const codeOutline = (fileType: string, text: string): Effect.Effect<CodeOutline | undefined> =>
  isCodeType(fileType)
    ? Effect.orElseSucceed(Outline.outline(fileType, text), () => undefined)
    : Effect.succeed(undefined)

/** A digest and what produced it. */
export interface Digested {
  readonly fileType: FileType
  readonly digest: Digest
  readonly degraded?: string | undefined
  /** A source file's outline (kept for `expand … symbol=`). */
  readonly outline?: CodeOutline | undefined
}

/** The digest of a file, before it is fitted to a budget. */
export const digestOf = (
  input: SummarizeInput,
  maxParseChars: number = DEFAULT_MAX_PARSE_CHARS
): Effect.Effect<Digested> =>
  Effect.suspend((): Effect.Effect<Digested> => {
    const detected = input.detected ??
      detect(input.path, input.bytes, () => input.text ?? decode(input.bytes))
    const { fileType } = detected
    if (fileType === "binary") {
      return Effect.succeed({ fileType, digest: binaryDigest(detected, input.bytes.length) })
    }
    if (fileType === "sqlite") {
      try {
        return Effect.succeed({ fileType, digest: SqliteDb.digest(input.bytes) })
      } catch (error) {
        const reason = reasonOf(error)
        const digest = binaryDigest({ fileType: "binary", binaryKind: "SQLite database" }, input.bytes.length)
        return Effect.succeed({ fileType, digest: { ...digest, notes: [reason] }, degraded: reason })
      }
    }
    const text = input.text ?? decode(input.bytes)
    if (fileType !== "text" && text.length > maxParseChars) {
      const reason = `too large to parse: ${num(text.length)} characters, the limit is ${num(maxParseChars)}`
      return Effect.succeed({ fileType, digest: degraded(fileType, text, reason), degraded: reason })
    }
    if (isCodeType(fileType)) {
      return Outline.outline(fileType, text).pipe(
        Effect.map((found): Digested => ({
          fileType,
          digest: Outline.digest(fileType, found, countLines(text), text.length),
          outline: found
        })),
        Effect.catchAll((error) => {
          const reason = error._tag === "GrammarUnavailable"
            ? `grammar unavailable: ${error.reason}`
            : error.reason
          return Effect.succeed({ fileType, digest: degraded(fileType, text, reason), degraded: reason })
        })
      )
    }
    try {
      return Effect.succeed({ fileType, digest: dataDigest(fileType, text) })
    } catch (error) {
      const reason = reasonOf(error)
      return Effect.succeed({ fileType, digest: degraded(fileType, text, reason), degraded: reason })
    }
  })

/** The exploration summary of a file, within `options.budget` tokens. */
export const summarize = (input: SummarizeInput, options: SummarizeOptions): Effect.Effect<FileSummary> =>
  Effect.map(digestOf(input, options.maxParseChars), (found): FileSummary => ({
    fileType: found.fileType,
    text: fit(found.digest, options.budget, options.count, options.within),
    ...(found.degraded === undefined ? {} : { degraded: found.degraded }),
    ...(found.outline === undefined ? {} : { outline: found.outline })
  })).pipe(Effect.withSpan("Files.summarize", { attributes: { path: input.path }, captureStackTrace: false }))
