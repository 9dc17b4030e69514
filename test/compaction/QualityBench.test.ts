/**
 * The plumbing of the memory-quality benchmark (bench/quality*.ts), with MockLlm standing in for
 * a real model: the real-model mode estimates and asks before any call, answers every question
 * from the final context and from the whole history, and scores them with LoCoMo's F1; the
 * forced-level-3 run measures what it claims to.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { parseArgs } from "../../bench/quality.js"
import { renderTurns } from "../../bench/qualityData.js"
import { judge } from "../../bench/qualityEval.js"
import { estimate, runModelQuality } from "../../bench/qualityModel.js"
import { forcedLevel3, ingest, newestTokens } from "../../bench/qualityRun.js"
import { f1, haystack, present, stem, wordRecall } from "../../bench/qualityScore.js"
import { generate } from "../../bench/qualitySynthetic.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import { LlmProvider, type LlmRequest } from "../../src/LlmProvider.js"
import { countTokens } from "../../src/Tokenizer.js"

const small = generate({ seed: 99, sessions: 4, factsPerKind: 1 })

/** MockLlm, keeping every request it receives in `seen`. */
const recordingMock = (seen: Array<LlmRequest>) =>
  Layer.effect(
    LlmProvider,
    Effect.map(MockLlm.make({ keepRequests: false }), ({ provider }) =>
      LlmProvider.of({
        stream: (request) => {
          seen.push(request)
          return provider.stream(request)
        }
      }))
  )

describe("LoCoMo scoring", () => {
  it("stems like Porter's algorithm", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["caresses", "caress"],
      ["ponies", "poni"],
      ["running", "run"],
      ["hopping", "hop"],
      ["agreed", "agre"],
      ["happy", "happi"],
      ["relational", "relat"],
      ["generalizations", "gener"],
      ["oscillators", "oscil"]
    ]
    for (const [word, stemmed] of cases) expect(stem(word)).toBe(stemmed)
  })

  it("F1 per category: token overlap, multi-hop part by part, adversarial by refusal", () => {
    expect(f1("The Alchemist", "The Alchemist", "4 single-hop")).toBe(1)
    expect(f1("she went running", "running", "4 single-hop")).toBeCloseTo(0.5, 5)
    expect(f1("Spain", "Spain, England", "1 multi-hop")).toBeCloseTo(0.5, 5)
    expect(f1("England, Spain", "Spain, England", "1 multi-hop")).toBe(1)
    expect(f1("No information available.", "Perseid meteor shower", "5 adversarial")).toBe(1)
    expect(f1("Perseid meteor shower", "Perseid meteor shower", "5 adversarial")).toBe(0)
  })

  it("presence is a whole-word match after normalising; recall counts content words", () => {
    const context = haystack("Caroline: I bought a red kite for €1,250 at the flea market.")
    expect(present("a red kite", context)).toBe(true)
    expect(present("€1,250", context)).toBe(true)
    expect(present("red kites", context)).toBe(false)
    expect(wordRecall("the blue kite", context)).toBe(0.5)
  })
})

describe("forced level 3", () => {
  it.effect("every summary is level 3, every evidence turn is reachable, the baseline has N tokens", () =>
    Effect.gen(function*() {
      const counter = { calls: 0 }
      const run = yield* ingest(small, { model: "mock/quality", provider: forcedLevel3(counter), counter })
      expect(Object.keys(run.levels)).toEqual(["level 3"])
      expect(run.summaryCalls).toBeGreaterThan(0)
      expect(run.contextTokens).toBeLessThan(run.historyTokens)
      expect(countTokens(run.baseline)).toBeLessThanOrEqual(run.contextTokens)
      expect(countTokens(run.baseline)).toBeGreaterThan(run.contextTokens * 0.9)
      const judged = judge(run)
      expect(judged.length).toBe(small.probes.length)
      expect(judged.every((j) => j.reachable === j.evidence)).toBe(true)
      expect(judged.some((j) => j.compacted)).toBe(true)
    }))

  it("the newest-N baseline is the end of the history, cut at a word", () => {
    const texts = renderTurns(small)
    const baseline = newestTokens(texts, 50)
    expect(countTokens(baseline)).toBeLessThanOrEqual(50)
    expect(texts.join("\n\n").endsWith(baseline)).toBe(true)
  })
})

describe("the real-model mode, with MockLlm as the model", () => {
  it("prints its estimate and makes no call when the user declines", async () => {
    const seen: Array<LlmRequest> = []
    const lines: Array<string> = []
    let asked = 0
    const figures = await runModelQuality({
      model: "mock/quality",
      conversations: [small],
      provider: recordingMock(seen),
      confirm: (cost) => {
        asked++
        expect(cost.questions).toBe(small.probes.length)
        expect(cost.inputTokens).toBeGreaterThan(0)
        return Promise.resolve(false)
      },
      log: (line) => lines.push(line)
    })
    expect(asked).toBe(1)
    expect(figures).toEqual([])
    expect(seen).toEqual([])
    expect(lines[0]).toMatch(/^Estimate: mock\/quality: \d+ questions/)
  })

  it("summarises with the model, answers from the final context and the whole history, scores F1", async () => {
    const seen: Array<LlmRequest> = []
    const lines: Array<string> = []
    const figures = await runModelQuality({
      model: "mock/quality",
      conversations: [small],
      provider: recordingMock(seen),
      confirm: "yes",
      log: (line) => lines.push(line)
    })
    const summaries = seen.filter((r) => MockLlm.isSummaryRequest(r))
    const answers = seen.filter((r) => !MockLlm.isSummaryRequest(r))
    expect(summaries.length).toBeGreaterThan(0)
    expect(answers.length).toBe(2 * small.probes.length)
    const history = renderTurns(small).join("\n\n")
    const fromHistory = answers.filter((r) =>
      JSON.stringify(r.messages).includes(JSON.stringify(history).slice(1, -1))
    )
    expect(fromHistory.length).toBe(small.probes.length)
    const all = figures.find((f) => f.metric.includes(" all: "))!
    expect(all.unit).toBe("F1")
    expect(all.value).toBeGreaterThanOrEqual(0)
    expect(all.value).toBeLessThanOrEqual(1)
    expect(all.baseline?.label).toBe("whole history")
    expect(lines[0]).toMatch(/^Estimate: /)
    expect(lines.some((line) => line.startsWith("Spent: "))).toBe(true)
  })

  it("estimates cost from the registry's prices", () => {
    const priced = estimate("anthropic/claude-sonnet-4-5", [small])
    expect(priced.priced).toBe(true)
    expect(priced.usd).toBeGreaterThan(0)
  })

  it("reads its options from the bench command line", () => {
    expect(
      parseArgs([
        "quality",
        "--locomo",
        "../shared/data/locomo-tune.jsonl",
        "--model",
        "openai/gpt-5",
        "--yes"
      ])
    )
      .toEqual({ locomo: "../shared/data/locomo-tune.jsonl", model: "openai/gpt-5", yes: true, tune: false })
  })
})
