/**
 * The real-model quality run, for users with a key (never run in CI):
 *
 *   npm run bench -- quality --model anthropic/claude-sonnet-4-5 --locomo ../shared/data/locomo-tune.jsonl
 *
 * Each conversation is recorded with levels 1 and 2 written by that model (level 3 only when
 * they fail), on the same 4K usable budget as the forced-level-3 run. Then the model answers
 * every question twice: from the final active context, and from the whole conversation (the
 * full-history reference). Both answers are scored with LoCoMo's F1 (qualityScore.ts).
 *
 * Before any call it prints an estimate of the tokens and the cost, from the model registry's
 * list prices, and asks for confirmation unless `--yes` is given; without a terminal to ask on
 * and without `--yes` it stops. The full-history answers dominate the cost: every question
 * re-sends the whole conversation.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Stream } from "effect"
import * as NodeReadline from "node:readline/promises"
import { TokenUsage } from "../src/Domain.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import * as Router from "../src/llm/Router.js"
import { collect, LlmProvider, type LlmRequest, providerOf } from "../src/LlmProvider.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import { countTokens } from "../src/Tokenizer.js"
import type { Figure } from "./harness.js"
import { round } from "./harness.js"
import type { Conversation, Probe } from "./qualityData.js"
import { renderTurns } from "./qualityData.js"
import { ingest, type SummaryCalls, USABLE_TOKENS } from "./qualityRun.js"
import { f1 } from "./qualityScore.js"

/** Tokens and dollars a run is expected to cost. */
export interface CostEstimate {
  readonly questions: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly usd: number
  /** The registry knows the model's prices (otherwise the cost is a guess of zero). */
  readonly priced: boolean
}

const ANSWER_TOKENS = 64
/** Tokens of the instructions and framing sent with each question. */
const ANSWER_OVERHEAD = 120
/** A leaf round reads about this much transcript and writes about a third of it (level 1). */
const SUMMARY_SHARE = 0.35

export const estimate = (model: string, conversations: ReadonlyArray<Conversation>): CostEstimate => {
  let input = 0
  let output = 0
  let questions = 0
  for (const conversation of conversations) {
    const history = countTokens(renderTurns(conversation).join("\n\n"))
    const n = conversation.probes.length
    questions += n
    // Ingestion: every turn is read once by a leaf round, summaries again by condensations.
    input += history * 1.5
    output += history * SUMMARY_SHARE
    // Answers: from the final context, and from the whole history.
    input += n * (USABLE_TOKENS + ANSWER_OVERHEAD) + n * (history + ANSWER_OVERHEAD)
    output += 2 * n * ANSWER_TOKENS
  }
  const info = ModelRegistry.resolve(model)
  const usd = ModelRegistry.costOf(
    TokenUsage.of({ input: Math.round(input), output: Math.round(output) }),
    info
  )
  return {
    questions,
    inputTokens: Math.round(input),
    outputTokens: Math.round(output),
    usd,
    priced: info.known
  }
}

export const describeEstimate = (model: string, e: CostEstimate): string =>
  `${model}: ${e.questions} questions answered twice (final context, whole history); about ` +
  `${e.inputTokens.toLocaleString("en")} input and ${e.outputTokens.toLocaleString("en")} output tokens, ` +
  (e.priced
    ? `about $${e.usd.toFixed(2)} at list prices`
    : "cost unknown (the model registry has no prices for it)")

/** Asks on the terminal; no terminal means no. */
const askOnTerminal = async (question: string): Promise<boolean> => {
  if (!process.stdin.isTTY) return false
  const rl = NodeReadline.createInterface({ input: process.stdin, output: process.stdout })
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} Continue? [y/N] `)).trim())
  } finally {
    rl.close()
  }
}

/** Usage and calls seen by a provider, for the report of what the run really cost. */
export interface Meter {
  calls: number
  input: number
  output: number
}

export const metered = <E>(inner: Layer.Layer<LlmProvider, E>, meter: Meter, counter: SummaryCalls) =>
  Layer.effect(
    LlmProvider,
    Effect.map(LlmProvider, (provider) =>
      LlmProvider.of({
        stream: (request) =>
          Stream.suspend(() => {
            meter.calls++
            if (MockLlm.isSummaryRequest(request)) counter.calls++
            return provider.stream(request).pipe(Stream.tap((event) =>
              Effect.sync(() => {
                if (event.type !== "usage") return
                meter.input += event.usage.input
                meter.output += event.usage.output
              })
            ))
          })
      }))
  ).pipe(Layer.provide(inner))

const ANSWER_SYSTEM =
  "You answer questions about a long conversation from the memory you are given: the newest turns as they " +
  "were said, older ones as summaries. Answer with a short phrase, in the conversation's own words where " +
  "possible; give dates as dates. If the memory does not hold the answer, reply exactly: no information available."

export const answerRequest = (model: string, memory: string, probe: Probe): LlmRequest => ({
  model,
  system: [{ text: ANSWER_SYSTEM }],
  messages: [{
    role: "user",
    content: [{
      type: "text",
      text: `<memory>\n${memory}\n</memory>\n\nQuestion: ${probe.question}\nShort answer:`
    }]
  }],
  maxTokens: ANSWER_TOKENS,
  temperature: 0
})

export interface ModelQualityOptions<E = never> {
  readonly model: string
  readonly conversations: ReadonlyArray<Conversation>
  /** `yes` skips the question; `ask` asks on the terminal; a function decides (tests). */
  readonly confirm: "yes" | "ask" | ((estimate: CostEstimate) => Promise<boolean>)
  /** The provider; the router over the real providers (keys from the environment) by default. */
  readonly provider?: Layer.Layer<LlmProvider, E> | undefined
  readonly log?: ((line: string) => void) | undefined
}

interface Answered {
  readonly group: string
  readonly ours: number
  readonly full: number
}

/** Runs the real-model comparison; returns its figures (none when the user declines). */
export const runModelQuality = async <E = never>(options: ModelQualityOptions<E>): Promise<Array<Figure>> => {
  const log = options.log ?? ((line: string) => console.log(line))
  const cost = estimate(options.model, options.conversations)
  log(`Estimate: ${describeEstimate(options.model, cost)}.`)
  const go = options.confirm === "yes"
    ? true
    : options.confirm === "ask"
    ? await askOnTerminal("This calls the model and costs money.")
    : await options.confirm(cost)
  if (!go) {
    log(
      options.confirm === "ask" && !process.stdin.isTTY
        ? "Not started: no terminal to confirm on; pass --yes to accept the estimate."
        : "Not started."
    )
    return []
  }
  const provider: Layer.Layer<LlmProvider, unknown> = options.provider ??
    Router.layerFromEnv.pipe(Layer.provide(NodeHttpClient.layerUndici))
  const meter: Meter = { calls: 0, input: 0, output: 0 }
  const counter: SummaryCalls = { calls: 0 }
  const live = metered(provider, meter, counter)
  const answered: Array<Answered> = []
  for (const conversation of options.conversations) {
    const run = await Effect.runPromise(
      ingest(conversation, { model: options.model, provider: live, counter })
    )
    const history = renderTurns(conversation).join("\n\n")
    const ask = (memory: string, probe: Probe) =>
      Effect.flatMap(
        LlmProvider,
        (p) => collect(providerOf(options.model), p.stream(answerRequest(options.model, memory, probe)))
      )
        .pipe(Effect.map((response) => response.text.trim()))
    const scored = await Effect.runPromise(
      Effect.forEach(
        conversation.probes,
        (probe) =>
          Effect.map(Effect.all([ask(run.context, probe), ask(history, probe)]), ([ours, full]) => ({
            group: probe.group,
            ours: f1(ours, probe.answer, probe.group),
            full: f1(full, probe.answer, probe.group)
          })),
        { concurrency: 4 }
      ).pipe(Effect.provide(live))
    )
    answered.push(...scored)
    log(
      `  ${conversation.id}: context ${run.contextTokens} of ${run.historyTokens} tokens, summaries ${
        JSON.stringify(run.levels)
      }`
    )
  }
  const info = ModelRegistry.resolve(options.model)
  const spent = ModelRegistry.costOf(
    TokenUsage.of({ input: meter.input, output: meter.output }),
    info
  )
  log(
    `Spent: ${meter.calls} calls, ${meter.input.toLocaleString("en")} input and ${
      meter.output.toLocaleString("en")
    } output tokens, $${spent.toFixed(2)}.`
  )
  const groups = [...new Set(answered.map((a) => a.group))]
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  return [...groups, "all"].map((group) => {
    const on = group === "all" ? answered : answered.filter((a) => a.group === group)
    return {
      metric: `${options.model} ${group}: F1 of answers from the final context (n=${on.length})`,
      value: round(mean(on.map((a) => a.ours)), 3),
      unit: "F1",
      baseline: { label: "whole history", value: round(mean(on.map((a) => a.full)), 3) }
    }
  })
}
