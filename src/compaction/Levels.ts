/**
 * The three summarisation levels and their escalation (SPEC §5):
 *
 * 1. a detailed, structured summary written by the model;
 * 2. an aggressive, terse note at half the level-1 output budget;
 * 3. a deterministic extractive summary within 512 tokens, which cannot fail.
 *
 * A model level is accepted only if its output is non-empty, smaller than its input and not a
 * near-copy of it; an error, a timeout (`roundTimeout`) or a rejected output escalates.
 *
 * @internal
 */
import { Duration, Effect, Either } from "effect"
import type { CompactionConfig } from "../Config.js"
import type { Count } from "../context/Render.js"
import type { SummaryLevel } from "../Domain.js"
import type { LlmRequest, Service as Provider } from "../LlmProvider.js"
import { collect, providerOf } from "../LlmProvider.js"
import type { ModelInfo } from "../ModelRegistry.js"
import { EMPTY_NOTE, extract } from "./Extract.js"

/** Budget of the deterministic level, before the file-id footer. */
export const LEVEL3_MAX_TOKENS = 512

const SECTIONS = `## Goal
## Instructions and constraints
## Discoveries
## Completed
## In progress
## Remaining
## Files and paths
## Other context`

const LEVEL1_MESSAGES =
  `You maintain the working memory of an AI agent. The conversation excerpt in <transcript> is about to be removed from the agent's context and replaced by your summary, so the agent must be able to carry on from your summary alone.

Write a structured Markdown summary with exactly these sections, in this order:
${SECTIONS}

Goal: what the user is ultimately after. Instructions and constraints: every rule, preference and requirement the user gave, still binding. Discoveries: facts learned, results of tool calls that matter, decisions and their reasons. Completed / In progress / Remaining: the state of the work. Files and paths: every file, path, URL, identifier and file id (file_…) mentioned, one line each on its role. Other context: anything else needed to continue.

Copy identifiers, numbers, paths, commands and error messages exactly. Leave out pleasantries and repetition. Never add anything that is not in the transcript.`

const LEVEL2_MESSAGES =
  `Write a terse continuation note for an AI agent whose context is being compacted; it must be able to resume from the note alone. Use only these five labelled lines:
GOAL: one sentence.
CONSTRAINTS: the user's binding rules, comma-separated.
FILES: key paths and file ids (file_…).
NEXT: the immediate next action.
CONTEXT: at most three sentences of other facts that cannot be lost.
Copy identifiers and numbers exactly. Nothing else.`

const LEVEL1_SUMMARIES =
  `The text in <transcript> is a sequence of summaries of consecutive parts of one AI agent's conversation, oldest first. They are about to be replaced by a single summary, so merge them into one that loses nothing the agent needs; where they disagree, the later one wins.

Write it as Markdown with exactly these sections, in this order:
${SECTIONS}

Copy identifiers, numbers, paths and file ids (file_…) exactly. Never add anything that is not in the summaries.`

const LEVEL2_SUMMARIES =
  `Merge the summaries in <transcript> (consecutive parts of one AI agent's conversation, oldest first; later ones win) into a terse note with only these five labelled lines:
GOAL: one sentence.
CONSTRAINTS: binding rules, comma-separated.
FILES: key paths and file ids (file_…).
NEXT: the immediate next action.
CONTEXT: at most three sentences of other facts that cannot be lost.
Copy identifiers and numbers exactly.`

export interface LevelContext {
  readonly provider: Provider
  /** The compaction model, `provider/model`. */
  readonly model: string
  readonly info: ModelInfo
  readonly config: CompactionConfig
  readonly count: Count
  /** What the transcript holds: original messages (a leaf) or summaries (a condensation). */
  readonly input: "messages" | "summaries"
}

export interface LevelOutcome {
  readonly text: string
  readonly level: SummaryLevel
}

/** Output budget of level 1; level 2 gets half. */
export const level1MaxTokens = (context: Pick<LevelContext, "config" | "info">): number =>
  Math.max(256, Math.min(context.config.compactionOutputBudget, context.info.maxOutputTokens))

const words = (text: string): Array<string> => text.toLowerCase().match(/[\p{L}\p{N}_./-]+/gu) ?? []

const shingles = (text: string, n = 5): Set<string> => {
  const w = words(text)
  const out = new Set<string>()
  for (let i = 0; i + n <= w.length; i++) out.add(w.slice(i, i + n).join(" "))
  return out
}

/**
 * A near-copy: the output is at least half the input's size and most of its 5-word runs appear
 * verbatim in the input — the model echoed or truncated instead of summarising. `outputTokens`
 * and `inputTokens` are the two sizes (the cheap test runs first).
 */
export const isNearCopy = (
  output: string,
  input: string,
  outputTokens: number,
  inputTokens: number
): boolean => {
  if (outputTokens < inputTokens * 0.5) return false
  const out = shingles(output)
  if (out.size < 20) return false
  const source = shingles(input)
  let shared = 0
  for (const s of out) if (source.has(s)) shared++
  return shared / out.size >= 0.9
}

/**
 * Why an output is refused, or undefined when it is accepted. `inputTokens` is the size of what
 * the summary replaces in the context.
 */
export const rejection = (
  output: string,
  input: string,
  inputTokens: number,
  count: Count
): string | undefined => {
  if (output.trim() === "") return "the summary was empty"
  const outputTokens = count(output)
  if (outputTokens >= inputTokens) return "the summary was not smaller than its input"
  if (isNearCopy(output, input, outputTokens, inputTokens)) return "the summary was a near-copy of its input"
  return undefined
}

const instructionsFor = (context: LevelContext, level: 1 | 2): string => {
  if (context.input === "messages") {
    return context.config.compactionPrompt ?? (level === 1 ? LEVEL1_MESSAGES : LEVEL2_MESSAGES)
  }
  return level === 1 ? LEVEL1_SUMMARIES : LEVEL2_SUMMARIES
}

export const requestFor = (context: LevelContext, transcript: string, level: 1 | 2): LlmRequest => ({
  model: context.model,
  system: [{ text: instructionsFor(context, level) }],
  messages: [{
    role: "user",
    content: [{ type: "text", text: `<transcript>\n${transcript}\n</transcript>\n\nWrite the summary now.` }]
  }],
  maxTokens: level === 1 ? level1MaxTokens(context) : Math.floor(level1MaxTokens(context) / 2),
  temperature: 0.2
})

/** One model level: its text if accepted, or why it was not. */
const modelLevel = (context: LevelContext, transcript: string, inputTokens: number, level: 1 | 2) =>
  collect(providerOf(context.model), context.provider.stream(requestFor(context, transcript, level))).pipe(
    Effect.timeoutFail({
      duration: context.config.roundTimeout,
      onTimeout: () => `it took longer than roundTimeout (${Duration.format(context.config.roundTimeout)})`
    }),
    Effect.mapError((error) => typeof error === "string" ? error : `the model failed: ${error.message}`),
    Effect.flatMap((response) => {
      const reason = rejection(response.text, transcript, inputTokens, context.count)
      return reason === undefined ? Effect.succeed(response.text.trim()) : Effect.fail(reason)
    }),
    Effect.either
  )

/**
 * The deterministic level: the transcript's most specific sentences within 512 tokens. No
 * header: the summary's wrapper already says what it is, and every token of it is a fact less.
 */
export const level3 = (transcript: string, count: Count, maxTokens = LEVEL3_MAX_TOKENS): string => {
  const text = extract(transcript, { maxTokens: Math.min(maxTokens, LEVEL3_MAX_TOKENS), countTokens: count })
  return text === "" ? EMPTY_NOTE : text
}

/**
 * Summarises with escalation. Never fails: level 3 always produces a summary. `inputTokens` is
 * the size of what the summary replaces in the context (what it must beat); `fallback` gives the
 * level-3 text when the caller has its own (rounds do: they may have computed it already, to
 * decide whether a span is worth a model call at all, and they size it to the session).
 */
export const summarize = (
  context: LevelContext,
  transcript: string,
  inputTokens: number,
  fallback?: () => string
): Effect.Effect<LevelOutcome> =>
  Effect.gen(function*() {
    const levels: ReadonlyArray<1 | 2> = context.config.level2Enabled ? [1, 2] : [1]
    for (const level of levels) {
      const outcome = yield* modelLevel(context, transcript, inputTokens, level)
      if (Either.isRight(outcome)) return { text: outcome.right, level }
      yield* Effect.logDebug(`compaction level ${level} not used: ${outcome.left}; escalating`)
    }
    return { text: fallback?.() ?? level3(transcript, context.count), level: 3 as const }
  }).pipe(Effect.withSpan("Compactor.summarize"))
