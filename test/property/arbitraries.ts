/**
 * Arbitraries for the context-assembly properties: random sessions described as plain data (no
 * ids, no token counts), turned into stored messages by the test with the library's own costing.
 *
 * A session is a list of turns (a user message, then 0–3 assistant messages), sometimes opened
 * by an assistant message, plus a list of compactions (each replaces a contiguous run of the
 * context, usually its oldest items, with a summary) and tombstone flags on completed tool parts.
 */
import { FastCheck } from "effect"

/** Words of mixed token cost: code, paths, punctuation, non-ASCII, emoji. */
const VOCAB = [
  "the",
  "tool",
  "read",
  "file",
  "src/index.ts",
  "error",
  "value",
  "function",
  "const x = 1;",
  "return",
  "=>",
  "{",
  "}",
  "42",
  "hello",
  "world",
  "\n",
  "résumé",
  "数据库",
  "🙂",
  "TypeError: undefined is not a function",
  "at Object.<anonymous> (/app/main.js:10:5)",
  "lorem",
  "ipsum",
  "dolor",
  "sit",
  "amet",
  "\"quoted\"",
  "<|endoftext|>",
  "0xdeadbeef"
] as const

/** Text of at most `maxWords` vocabulary words. */
export const words = (maxWords: number, minWords = 0): FastCheck.Arbitrary<string> =>
  FastCheck.array(FastCheck.constantFrom(...VOCAB), { minLength: minWords, maxLength: maxWords }).map((ws) =>
    ws.join(" ")
  )

/** Text of random size: mostly short, sometimes a paragraph, rarely long (hundreds of tokens). */
export const sizedText = (minWords = 0): FastCheck.Arbitrary<string> =>
  FastCheck.oneof(
    { arbitrary: words(8, minWords), weight: 6 },
    { arbitrary: words(60, minWords), weight: 3 },
    { arbitrary: words(400, minWords), weight: 1 }
  )

export type ToolOutcome =
  | { readonly status: "completed"; readonly output: string; readonly tombstone: boolean }
  | { readonly status: "error"; readonly error: string }
  | { readonly status: "pending" }
  | { readonly status: "running" }

export interface ToolSpec {
  readonly type: "tool"
  readonly toolName: string
  readonly input: string | { readonly path: string; readonly query: string; readonly limit: number }
  readonly outcome: ToolOutcome
}

export interface TextSpec {
  readonly type: "text"
  readonly text: string
}

export interface ReasoningSpec {
  readonly type: "reasoning"
  readonly text: string
  readonly signature: string | undefined
}

export interface FileRefSpec {
  readonly type: "file_ref"
  readonly path: string
  readonly fileType: string
  readonly fileTokens: number
  readonly summary: string
}

export type AssistantPartSpec = TextSpec | ReasoningSpec | ToolSpec
export type UserPartSpec = TextSpec | FileRefSpec

export type MessageSpec =
  | { readonly role: "user"; readonly parts: ReadonlyArray<UserPartSpec> }
  | { readonly role: "assistant"; readonly parts: ReadonlyArray<AssistantPartSpec> }

/**
 * A compaction of the context as it is when the compaction runs: `start` and `length` are
 * fractions of its item count (`start` 0 — the oldest items — most of the time).
 */
export interface CompactionSpec {
  readonly start: number
  readonly length: number
  readonly content: string
}

export interface SessionSpec {
  readonly messages: ReadonlyArray<MessageSpec>
  readonly compactions: ReadonlyArray<CompactionSpec>
}

const outcome: FastCheck.Arbitrary<ToolOutcome> = FastCheck.oneof(
  {
    arbitrary: FastCheck.record({
      status: FastCheck.constant("completed" as const),
      output: sizedText(),
      tombstone: FastCheck.boolean()
    }),
    weight: 5
  },
  {
    arbitrary: FastCheck.record({ status: FastCheck.constant("error" as const), error: words(20) }),
    weight: 2
  },
  { arbitrary: FastCheck.record({ status: FastCheck.constant("pending" as const) }), weight: 1 },
  { arbitrary: FastCheck.record({ status: FastCheck.constant("running" as const) }), weight: 1 }
)

export const toolPart: FastCheck.Arbitrary<ToolSpec> = FastCheck.record({
  type: FastCheck.constant("tool" as const),
  toolName: FastCheck.constantFrom("read", "grep", "bash", "edit_file", "web.search"),
  input: FastCheck.oneof(
    words(10),
    FastCheck.record({ path: words(3), query: sizedText(), limit: FastCheck.nat({ max: 1000 }) })
  ),
  outcome
})

const textPart = (minWords = 0): FastCheck.Arbitrary<TextSpec> =>
  FastCheck.record({ type: FastCheck.constant("text" as const), text: sizedText(minWords) })

const reasoningPart: FastCheck.Arbitrary<ReasoningSpec> = FastCheck.record({
  type: FastCheck.constant("reasoning" as const),
  text: sizedText(1),
  signature: FastCheck.oneof(
    { arbitrary: FastCheck.stringMatching(/^[A-Za-z0-9+/]{8,40}={0,2}$/), weight: 4 },
    { arbitrary: FastCheck.constant(undefined), weight: 1 }
  )
})

const fileRefPart: FastCheck.Arbitrary<FileRefSpec> = FastCheck.record({
  type: FastCheck.constant("file_ref" as const),
  path: FastCheck.constantFrom("src/index.ts", "data/big.csv", "docs/README.md", "logs/app.log"),
  fileType: FastCheck.constantFrom("typescript", "csv", "markdown", "text"),
  fileTokens: FastCheck.integer({ min: 1_000, max: 500_000 }),
  summary: sizedText(1)
})

/** A user message: text (never empty: the library refuses empty user messages), maybe a file. */
export const userMessage: FastCheck.Arbitrary<MessageSpec> = FastCheck.tuple(
  // and never blank: the library refuses whitespace-only user text too
  textPart(1).filter((part) => part.text.trim() !== ""),
  FastCheck.oneof(
    { arbitrary: FastCheck.constant(undefined), weight: 3 },
    { arbitrary: fileRefPart, weight: 1 }
  )
).map(([text, file]) => ({ role: "user" as const, parts: file === undefined ? [text] : [text, file] }))

/** An assistant message: mixed parts, tools only, tools interleaved with text, or rarely empty. */
export const assistantMessage: FastCheck.Arbitrary<MessageSpec> = FastCheck.oneof(
  {
    arbitrary: FastCheck.array(
      FastCheck.oneof(
        { arbitrary: textPart(), weight: 3 },
        { arbitrary: reasoningPart, weight: 1 },
        { arbitrary: toolPart, weight: 3 }
      ),
      { minLength: 1, maxLength: 5 }
    ),
    weight: 8
  },
  { arbitrary: FastCheck.array(toolPart, { minLength: 1, maxLength: 3 }), weight: 3 },
  {
    // reasoning, then text / tool / text / tool …
    arbitrary: FastCheck.tuple(
      reasoningPart,
      FastCheck.array(FastCheck.tuple(textPart(1), toolPart), { minLength: 1, maxLength: 2 })
    ).map(([r, pairs]) => [r, ...pairs.flat()]),
    weight: 2
  },
  { arbitrary: FastCheck.constant([]), weight: 1 }
).map((parts): MessageSpec => ({ role: "assistant", parts }))

const turn: FastCheck.Arbitrary<ReadonlyArray<MessageSpec>> = FastCheck.tuple(
  userMessage,
  FastCheck.array(assistantMessage, { maxLength: 3 })
).map(([user, replies]) => [user, ...replies])

export const MAX_MESSAGES = 25

/** The messages of a session: turns, sometimes opened by an assistant message; at most 25. */
export const sessionMessages: FastCheck.Arbitrary<ReadonlyArray<MessageSpec>> = FastCheck.tuple(
  FastCheck.oneof(
    { arbitrary: FastCheck.constant(undefined), weight: 7 },
    { arbitrary: assistantMessage, weight: 1 }
  ),
  FastCheck.array(turn, { minLength: 1, maxLength: 8 })
).map(([opening, turns]) =>
  [...(opening === undefined ? [] : [opening]), ...turns.flat()].slice(0, MAX_MESSAGES)
)

export const compaction: FastCheck.Arbitrary<CompactionSpec> = FastCheck.record({
  start: FastCheck.oneof(
    { arbitrary: FastCheck.constant(0), weight: 3 },
    { arbitrary: FastCheck.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), weight: 1 }
  ),
  length: FastCheck.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  content: sizedText(1)
})

export const session: FastCheck.Arbitrary<SessionSpec> = FastCheck.record({
  messages: sessionMessages,
  compactions: FastCheck.oneof(
    { arbitrary: FastCheck.constant([]), weight: 2 },
    { arbitrary: FastCheck.array(compaction, { minLength: 1, maxLength: 3 }), weight: 1 }
  )
})

/** A system prompt: sometimes empty, usually short, sometimes long. */
export const systemPrompt: FastCheck.Arbitrary<string> = FastCheck.oneof(
  { arbitrary: FastCheck.constant(""), weight: 1 },
  { arbitrary: words(30, 1), weight: 4 },
  { arbitrary: words(300, 1), weight: 1 }
)

export const MIN_USABLE = 50
export const MAX_USABLE = 5_000

/** The `usable` tokens of a budget. */
export const usable: FastCheck.Arbitrary<number> = FastCheck.integer({ min: MIN_USABLE, max: MAX_USABLE })

/**
 * A budget: `usable` drawn outright, or as a fraction of what the whole context needs (system
 * prompt, items and assembly reserve), which lands near the edge where truncation happens far
 * more often than an independent draw does.
 */
export type BudgetSpec =
  | { readonly _tag: "Absolute"; readonly usable: number }
  | { readonly _tag: "Relative"; readonly fraction: number }

export const budget: FastCheck.Arbitrary<BudgetSpec> = FastCheck.oneof(
  usable.map((usable): BudgetSpec => ({ _tag: "Absolute", usable })),
  FastCheck.double({ min: 0.15, max: 1.3, noNaN: true }).map((fraction): BudgetSpec => ({
    _tag: "Relative",
    fraction
  }))
)

/** The `usable` tokens of `spec` for a context that needs `needed` tokens in full. */
export const resolveUsable = (spec: BudgetSpec, needed: number): number =>
  spec._tag === "Absolute"
    ? spec.usable
    : Math.min(MAX_USABLE, Math.max(MIN_USABLE, Math.round(spec.fraction * needed)))
