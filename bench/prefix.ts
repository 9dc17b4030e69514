/**
 * Prompt-prefix stability: providers with prompt caching (Anthropic, OpenAI) bill a repeated
 * prefix at a fraction of the price and answer sooner, but only when each request begins with
 * the previous one byte for byte. Between compactions, mnesis should only ever append.
 *
 * A long run of `send` turns on a small window (zero-latency MockLlm, so compaction happens
 * often). A turn is a "compaction turn" when its request shows a committed round or pruning pass
 * that the previous request did not: a different set of summary ids, or a different number of
 * pruned-output markers. (Read from the requests themselves: a background round commits at any
 * moment, and its event may arrive after the next request was built.) Every other turn's request
 * must be a strict extension of the previous one: the same model, system prompt and tools, and
 * the previous messages as a prefix. Cache markers are ignored (they move to the newest block by
 * design).
 *
 * Target: ≥ 99% of non-compaction turns are strict extensions.
 */
import { Effect, ManagedRuntime } from "effect"
import { makeTest } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import type { LlmRequest } from "../src/LlmProvider.js"
import * as Session from "../src/Session.js"
import type { Benchmark } from "./harness.js"
import { check, round } from "./harness.js"

const config = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 20_000, maxOutputTokens: 1_000 }
} as const

/** The request as a provider's cache sees it, without the cache markers. */
const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value !== null && typeof value === "object"
    ? Object.fromEntries(
      Object.entries(value).filter(([key]) => key !== "cache").map(([key, v]) => [key, canonical(v)])
    )
    : value

const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))

/** `next` begins with everything `previous` sent (same header, previous messages as a prefix). */
export const isStrictExtension = (previous: LlmRequest, next: LlmRequest): boolean =>
  previous.model === next.model &&
  same(previous.system, next.system) &&
  same(previous.tools ?? [], next.tools ?? []) &&
  next.messages.length > previous.messages.length &&
  previous.messages.every((message, i) => same(message, next.messages[i]))

/** What compaction has done to a request: the summaries it shows and the outputs it pruned. */
const compactionState = (request: LlmRequest): string => {
  const text = JSON.stringify(request.messages)
  const summaries = [...text.matchAll(/<summary id=\\"(sum_\w+)\\"/g)].map((m) => m[1]).sort()
  const pruned = text.split("pruned to save context").length - 1
  return `${summaries.join(",")}|${pruned}`
}

const run = async (turns: number) => {
  const runtime = ManagedRuntime.make(makeTest({ config }))
  const session = await runtime.runPromise(Session.create({ model: "mock/bench", config }))
  const turnRequest = Effect.map(
    Effect.flatMap(MockLlm.MockLlmControl, (control) => control.requests),
    (all) => all.filter((r) => !MockLlm.isSummaryRequest(r)).at(-1)
  )
  let previous: { request: LlmRequest; state: string } | undefined
  let eligible = 0
  let extensions = 0
  let compactionTurns = 0
  for (let i = 0; i < turns; i++) {
    await runtime.runPromise(session.send(
      `Turn ${i}: item-${i} is defined in src/module${i % 50}/file${i}.ts. ` +
        "More ordinary words. ".repeat(12)
    ))
    const request = (await runtime.runPromise(turnRequest))!
    const state = compactionState(request)
    if (previous !== undefined) {
      if (state !== previous.state) {
        compactionTurns++
      } else {
        eligible++
        if (isStrictExtension(previous.request, request)) extensions++
      }
    }
    previous = { request, state }
  }
  await runtime.runPromise(session.close)
  await runtime.dispose()
  return { eligible, extensions, compactionTurns }
}

const benchmark: Benchmark = {
  name: "prefix",
  description: "prompt-prefix stability: requests between compactions only append",
  run: async ({ quick }) => {
    const turns = quick ? 300 : 2_000
    const result = await run(turns)
    const share = result.extensions / Math.max(1, result.eligible)
    return [{
      metric: `strict extensions of the previous request, ${turns.toLocaleString("en")} turns`,
      value: round(share * 100, 2),
      unit: `% of ${result.eligible.toLocaleString("en")} non-compaction turns ` +
        `(${result.compactionTurns} turns followed a compaction)`,
      ...check({ value: share * 100, op: "≥", limit: 99, kind: "count", unit: "%", quick })
    }]
  }
}

export default benchmark
