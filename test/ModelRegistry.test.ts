import { describe, expect, it } from "@effect/vitest"
import { calcPrice } from "@pydantic/genai-prices"
import { Effect, Layer, Logger, LogLevel, TestClock } from "effect"
import { TokenUsage } from "../src/Domain.js"
import { makeTest } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as Session from "../src/Session.js"

type Row = readonly [
  model: string,
  contextLimit: number,
  maxOutputTokens: number,
  encoding: ModelRegistry.Encoding
]

// Every family of the registry, with the window, output limit and encoding it must resolve to.
const FAMILIES: ReadonlyArray<Row> = [
  // Anthropic
  ["claude-opus-4-6", 200_000, 32_000, "o200k_base"],
  ["claude-opus-4-5-20251101", 200_000, 32_000, "o200k_base"],
  ["claude-opus-4-1-20250805", 200_000, 32_000, "o200k_base"],
  ["claude-opus-4-20250514", 200_000, 32_000, "o200k_base"],
  ["claude-sonnet-4-5", 200_000, 64_000, "o200k_base"],
  ["claude-sonnet-4-20250514", 200_000, 64_000, "o200k_base"],
  ["claude-haiku-4-5", 200_000, 64_000, "o200k_base"],
  ["claude-3-7-sonnet-latest", 200_000, 64_000, "o200k_base"],
  ["claude-3-5-sonnet-20241022", 200_000, 8_192, "o200k_base"],
  ["claude-3-5-haiku-20241022", 200_000, 8_192, "o200k_base"],
  ["claude-3-opus-20240229", 200_000, 4_096, "o200k_base"],
  ["claude-3-haiku-20240307", 200_000, 4_096, "o200k_base"],
  // OpenAI
  ["gpt-5", 400_000, 128_000, "o200k_base"],
  ["gpt-5-mini", 400_000, 128_000, "o200k_base"],
  ["gpt-5-nano", 400_000, 128_000, "o200k_base"],
  ["gpt-5.1", 400_000, 128_000, "o200k_base"],
  ["gpt-5.2-2025-12-11", 400_000, 128_000, "o200k_base"],
  ["gpt-5-chat-latest", 128_000, 16_384, "o200k_base"],
  ["gpt-4.1", 1_047_576, 32_768, "o200k_base"],
  ["gpt-4.1-mini", 1_047_576, 32_768, "o200k_base"],
  ["gpt-4.1-nano-2025-04-14", 1_047_576, 32_768, "o200k_base"],
  ["gpt-4o", 128_000, 16_384, "o200k_base"],
  ["gpt-4o-mini", 128_000, 16_384, "o200k_base"],
  ["gpt-4o-2024-08-06", 128_000, 16_384, "o200k_base"],
  ["o1", 200_000, 100_000, "o200k_base"],
  ["o1-2024-12-17", 200_000, 100_000, "o200k_base"],
  ["o3", 200_000, 100_000, "o200k_base"],
  ["o3-mini", 200_000, 100_000, "o200k_base"],
  ["o4-mini", 200_000, 100_000, "o200k_base"],
  ["gpt-4-turbo", 128_000, 4_096, "cl100k_base"],
  ["gpt-4", 8_192, 4_096, "cl100k_base"],
  ["gpt-3.5-turbo", 16_385, 4_096, "cl100k_base"],
  ["gpt-oss-120b", 131_072, 32_768, "o200k_base"],
  // Google
  ["gemini-2.5-pro", 1_048_576, 65_536, "o200k_base"],
  ["gemini-2.5-flash", 1_048_576, 65_536, "o200k_base"],
  ["gemini-2.5-flash-lite", 1_048_576, 65_536, "o200k_base"],
  ["gemini-2.0-flash", 1_048_576, 8_192, "o200k_base"],
  ["gemini/gemini-3.5-flash", 1_048_576, 65_536, "o200k_base"],
  ["gemini/gemini-3.1-flash-lite", 1_048_576, 65_536, "o200k_base"],
  // xAI
  ["xai/grok-4", 256_000, 32_768, "o200k_base"],
  ["xai/grok-4-1-fast-reasoning", 2_000_000, 32_768, "o200k_base"],
  ["xai/grok-3-mini", 131_072, 16_384, "o200k_base"],
  // Hosts' own entries
  ["groq/llama-3.3-70b-versatile", 131_072, 32_768, "o200k_base"],
  ["groq/openai/gpt-oss-120b", 131_072, 32_768, "o200k_base"],
  ["groq/moonshotai/kimi-k2-instruct-0905", 262_144, 16_384, "o200k_base"],
  ["mistral/mistral-large-latest", 262_144, 16_384, "o200k_base"],
  ["mistral/codestral-latest", 262_144, 16_384, "o200k_base"],
  ["together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", 131_072, 8_192, "o200k_base"],
  ["azure/gpt-4o", 128_000, 16_384, "o200k_base"],
  ["deepseek/deepseek-v4-flash", 1_000_000, 32_768, "o200k_base"],
  // Open weights
  ["llama-3.3-70b-instruct", 131_072, 8_192, "o200k_base"],
  ["llama3.1:8b", 131_072, 8_192, "o200k_base"],
  ["meta-llama-3-8b-instruct", 8_192, 4_096, "o200k_base"],
  ["qwen2.5-coder-32b-instruct", 32_768, 8_192, "o200k_base"],
  ["qwen3-235b-a22b", 40_960, 8_192, "o200k_base"],
  ["mistral-large-latest", 262_144, 16_384, "o200k_base"],
  ["ollama/mistral-large", 131_072, 8_192, "o200k_base"],
  ["mistral-7b-instruct", 32_768, 8_192, "o200k_base"],
  ["mixtral-8x7b-instruct", 32_768, 8_192, "o200k_base"],
  ["mixtral-8x22b-instruct", 65_536, 8_192, "o200k_base"],
  ["deepseek-v3", 131_072, 8_192, "o200k_base"],
  ["deepseek-r1", 131_072, 32_768, "o200k_base"],
  ["deepseek-chat", 131_072, 8_192, "o200k_base"]
]

/** Captures the messages of every log line at or above `Warning` while `effect` runs. */
const captureWarnings = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const lines: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
    const logger = Logger.make(({ annotations, logLevel, message }) => {
      if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) {
        lines.push({ message, annotations: Object.fromEntries(annotations) })
      }
    })
    const result = yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return { result, lines }
  })

describe("ModelRegistry", () => {
  describe("families", () => {
    it.each(FAMILIES)("%s → %i / %i / %s", (model, contextLimit, maxOutputTokens, encoding) => {
      const info = ModelRegistry.resolve(model)
      expect(info.known).toBe(true)
      expect(info.contextLimit).toBe(contextLimit)
      expect(info.maxOutputTokens).toBe(maxOutputTokens)
      expect(info.encoding).toBe(encoding)
    })

    it("marks only models counted with their own tokenizer as exact", () => {
      const exact = ["gpt-5", "gpt-4o", "o3", "gpt-4", "gpt-oss-20b"]
      const approximate = ["claude-sonnet-4-5", "gemini-2.5-pro", "llama-3.1-8b", "qwen3-8b", "deepseek-r1"]
      for (const model of exact) expect(ModelRegistry.resolve(model).approximate, model).toBe(false)
      for (const model of approximate) expect(ModelRegistry.resolve(model).approximate, model).toBe(true)
    })

    it("tells Opus 4.5+ prices from Opus 4 / 4.1 prices", () => {
      expect(ModelRegistry.resolve("claude-opus-4-6").pricing.input).toBe(5)
      expect(ModelRegistry.resolve("claude-opus-4-5").pricing.output).toBe(25)
      expect(ModelRegistry.resolve("claude-opus-4-1").pricing.input).toBe(15)
      expect(ModelRegistry.resolve("claude-opus-4-0").pricing.output).toBe(75)
    })

    it("charges nothing for open weights and prices paid APIs", () => {
      expect(ModelRegistry.resolve("llama-3.3-70b").pricing).toEqual({
        input: 0,
        output: 0,
        cacheRead: 0,
        cacheWrite: 0
      })
      expect(ModelRegistry.resolve("gpt-4o").pricing).toEqual({
        input: 2.5,
        output: 10,
        cacheRead: 1.25,
        cacheWrite: 2.5
      })
    })
  })

  describe("the hosts' prefixes", () => {
    it("prices an open model at the host that serves it, and nothing where the host is unknown", () => {
      expect(ModelRegistry.resolve("groq/llama-3.3-70b-versatile").pricing).toMatchObject({
        input: 0.59,
        output: 0.79
      })
      expect(ModelRegistry.resolve("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo").pricing)
        .toMatchObject({ input: 0.88, output: 0.88 })
      expect(ModelRegistry.resolve("groq/openai/gpt-oss-120b").pricing).toMatchObject({
        input: 0.15,
        cacheRead: 0.075
      })
      expect(ModelRegistry.resolve("ollama/gpt-oss-120b").pricing.input).toBe(0)
      expect(ModelRegistry.resolve("ollama/llama-3.3-70b-versatile").pricing.input).toBe(0)
      expect(ModelRegistry.resolve("mistral/mistral-large-2411").pricing).toMatchObject({
        input: 2,
        output: 6
      })
      expect(ModelRegistry.resolve("mistral/mistral-large-2512").pricing).toMatchObject({
        input: 0.5,
        output: 1.5
      })
    })

    it("prices an Azure deployment named like its model as that model, and keeps the deployment as name", () => {
      const info = ModelRegistry.resolve("azure/gpt-4.1-mini")
      expect(info).toMatchObject({ provider: "azure", name: "gpt-4.1-mini", known: true })
      expect(info.pricing.input).toBe(ModelRegistry.resolve("openai/gpt-4.1-mini").pricing.input)
    })

    it.effect("an Azure deployment with its own name gets the fallback, with a warning naming the overrides", () =>
      Effect.gen(function*() {
        const { lines, result } = yield* captureWarnings(ModelRegistry.lookup("azure/prod-chat-eu"))
        expect(result).toMatchObject({
          known: false,
          provider: "azure",
          contextLimit: ModelRegistry.FALLBACK_CONTEXT_LIMIT,
          maxOutputTokens: ModelRegistry.FALLBACK_MAX_OUTPUT_TOKENS
        })
        expect(String(lines[0]?.message)).toContain("modelOverrides.contextLimit")
      }))
  })

  describe("o-series matching", () => {
    it.each(["gpt-4o1", "foo-o1x", "o1x", "o10", "o3x-mini", "demo1", "pro3-mini", "xo4-mini"])(
      "%s is not an o-series model",
      (model) => {
        expect(ModelRegistry.resolve(model).known).toBe(false)
      }
    )

    it.each([["o1-mini", 65_536], ["o1-pro", 100_000], ["openai/o3-pro", 100_000], [
      "o4-mini-2025-04-16",
      100_000
    ]])(
      "%s resolves to its own entry",
      (model, maxOutputTokens) => {
        const info = ModelRegistry.resolve(model)
        expect(info.known).toBe(true)
        expect(info.maxOutputTokens).toBe(maxOutputTokens)
      }
    )
  })

  describe("parsing", () => {
    it("splits a provider prefix and keeps the model string as given", () => {
      const info = ModelRegistry.resolve("anthropic/claude-opus-4-6")
      expect(info.model).toBe("anthropic/claude-opus-4-6")
      expect(info.provider).toBe("anthropic")
      expect(info.name).toBe("claude-opus-4-6")
      expect(info.known).toBe(true)
    })

    it("infers the provider of a bare name", () => {
      expect(ModelRegistry.parseModel("gpt-4o")).toEqual({ provider: "openai", name: "gpt-4o" })
      expect(ModelRegistry.parseModel("o3-mini")).toEqual({ provider: "openai", name: "o3-mini" })
      expect(ModelRegistry.parseModel("claude-haiku-4-5")).toEqual({
        provider: "anthropic",
        name: "claude-haiku-4-5"
      })
      expect(ModelRegistry.parseModel("grok-4")).toEqual({ provider: "xai", name: "grok-4" })
      expect(ModelRegistry.parseModel("gemini-2.5-pro")).toEqual({
        provider: "gemini",
        name: "gemini-2.5-pro"
      })
      expect(ModelRegistry.parseModel("mystery-model")).toEqual({ provider: "", name: "mystery-model" })
      expect(ModelRegistry.resolve("gpt-4o").provider).toBe("openai")
    })

    it("matches a routed name on its last segment and keeps the router as provider", () => {
      const info = ModelRegistry.resolve("openrouter/anthropic/claude-sonnet-4-5")
      expect(info.provider).toBe("openrouter")
      expect(info.name).toBe("anthropic/claude-sonnet-4-5")
      expect(info.known).toBe(true)
      expect(info.maxOutputTokens).toBe(64_000)
      expect(info.pricing.input).toBe(3)
    })

    it("matches case-insensitively and accepts dotted Claude versions and Bedrock ids", () => {
      const info = ModelRegistry.resolve("OpenAI/GPT-4o-Mini")
      expect(info.known).toBe(true)
      expect(info.provider).toBe("openai")
      expect(info.name).toBe("GPT-4o-Mini")
      expect(info.maxOutputTokens).toBe(16_384)
      expect(ModelRegistry.resolve("openrouter/anthropic/claude-3.5-sonnet").maxOutputTokens).toBe(8_192)
      expect(ModelRegistry.resolve("bedrock/us.anthropic.claude-3-7-sonnet-20250219-v1:0").maxOutputTokens)
        .toBe(64_000)
    })
  })

  describe("overrides", () => {
    it("replaces the window and the output limit of a known model", () => {
      const info = ModelRegistry.resolve("anthropic/claude-sonnet-4-5", {
        contextLimit: 1_000_000,
        maxOutputTokens: 32_000
      })
      expect(info.contextLimit).toBe(1_000_000)
      expect(info.maxOutputTokens).toBe(32_000)
      expect(info.known).toBe(true)
    })

    it("applies a partial override and leaves the rest", () => {
      const info = ModelRegistry.resolve("gpt-4o", { maxOutputTokens: 4_000 })
      expect(info.contextLimit).toBe(128_000)
      expect(info.maxOutputTokens).toBe(4_000)
    })

    it("corrects unknown models and prices", () => {
      const info = ModelRegistry.resolve("local/my-finetune", {
        contextLimit: 32_768,
        pricing: { input: 0.5 }
      })
      expect(info.known).toBe(false)
      expect(info.contextLimit).toBe(32_768)
      expect(info.maxOutputTokens).toBe(ModelRegistry.FALLBACK_MAX_OUTPUT_TOKENS)
      expect(info.pricing).toEqual({ input: 0.5, output: 0, cacheRead: 0, cacheWrite: 0 })
    })
  })

  describe("unknown models", () => {
    it("fall back to 128K / 4,096, an approximate o200k count and zero prices", () => {
      const info = ModelRegistry.resolve("acme/frontier-9000")
      expect(info).toMatchObject({
        model: "acme/frontier-9000",
        provider: "acme",
        name: "frontier-9000",
        contextLimit: 128_000,
        maxOutputTokens: 4_096,
        encoding: "o200k_base",
        approximate: true,
        known: false
      })
      expect(info.pricing).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 })
    })

    it.effect("log a warning naming the model and the fallback", () =>
      Effect.gen(function*() {
        const { lines, result } = yield* captureWarnings(ModelRegistry.lookup("acme/frontier-9000"))
        expect(result.known).toBe(false)
        expect(lines).toHaveLength(1)
        const text = String(lines[0]?.message)
        expect(text).toContain("acme/frontier-9000")
        expect(text).toContain("128000")
        expect(text).toContain("4096")
        expect(lines[0]?.annotations).toEqual({ model: "acme/frontier-9000" })
      }))

    it.effect("known models log nothing", () =>
      Effect.gen(function*() {
        const { lines, result } = yield* captureWarnings(ModelRegistry.lookup("anthropic/claude-opus-4-6"))
        expect(result.known).toBe(true)
        expect(lines).toEqual([])
      }))
  })

  describe("costOf", () => {
    it("prices every usage field per million tokens", () => {
      const usage = TokenUsage.of({ input: 10_000, output: 2_000, cacheRead: 50_000, cacheWrite: 4_000 })
      // Sonnet 4.5: 3 in, 15 out, 0.30 cache read, 3.75 cache write.
      // 0.03 + 0.03 + 0.015 + 0.015 = 0.09
      expect(ModelRegistry.costOf(usage, ModelRegistry.resolve("anthropic/claude-sonnet-4-5"))).toBeCloseTo(
        0.09,
        10
      )
      // gpt-4o-mini: 0.15 in, 0.60 out, 0.075 cache read → 0.0015 + 0.0012 + 0.00375 + 0.0006
      expect(ModelRegistry.costOf(usage, ModelRegistry.resolve("gpt-4o-mini"))).toBeCloseTo(0.00705, 10)
    })

    it("is zero for unknown models", () => {
      const usage = TokenUsage.of({ input: 1_000_000, output: 1_000_000 })
      expect(ModelRegistry.costOf(usage, ModelRegistry.resolve("acme/frontier-9000"))).toBe(0)
    })
  })
})

// ---------------------------------------------------------------------------------------------
// Prices from the maintained table
// ---------------------------------------------------------------------------------------------

/** A fixed time, so dated price changes in the table do not move the expectations. */
const AT = Date.parse("2026-10-01T12:00:00Z")

/** The table's own total for one call (its input count includes cached tokens). */
const tablePrice = (usage: TokenUsage, model: string, providerId: string, at = AT): number => {
  const result = calcPrice(
    {
      input_tokens: usage.input + usage.cacheRead + usage.cacheWrite,
      cache_read_tokens: usage.cacheRead,
      cache_write_tokens: usage.cacheWrite,
      output_tokens: usage.output
    },
    model,
    { providerId, timestamp: new Date(at) }
  )
  if (result === null) throw new Error(`the table has no price for ${providerId}/${model}`)
  return result.total_price
}

const CURRENT: ReadonlyArray<readonly [model: string, providerId: string]> = [
  ["anthropic/claude-opus-4-7", "anthropic"],
  ["anthropic/claude-opus-4-5-20251101", "anthropic"],
  ["anthropic/claude-sonnet-4-6", "anthropic"],
  ["anthropic/claude-sonnet-4-5", "anthropic"],
  ["anthropic/claude-haiku-4-5", "anthropic"],
  ["openai/gpt-5", "openai"],
  ["openai/gpt-5.2", "openai"],
  ["openai/gpt-5.4", "openai"],
  ["openai/gpt-5-mini", "openai"],
  ["openai/gpt-4.1", "openai"],
  ["openai/gpt-4o-mini", "openai"],
  ["openai/o3", "openai"]
]

describe("prices from the maintained table (@pydantic/genai-prices)", () => {
  const usage = TokenUsage.of({ input: 12_000, output: 3_000, cacheRead: 40_000, cacheWrite: 6_000 })

  it.each(CURRENT)("%s costs what the table says, cache reads and writes included", (model, providerId) => {
    const info = ModelRegistry.resolve(model, undefined, { at: AT })
    expect(info.priceSource).toBe("genai-prices")
    expect(ModelRegistry.costOf(usage, info)).toBeCloseTo(
      tablePrice(usage, ModelRegistry.parseModel(model).name, providerId),
      12
    )
  })

  it("reads Anthropic's cache prices: reads at a tenth of input, 5-minute writes at 1.25×", () => {
    for (
      const model of [
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-opus-4-5",
        "anthropic/claude-haiku-4-5"
      ]
    ) {
      const { pricing } = ModelRegistry.resolve(model, undefined, { at: AT })
      expect(pricing.cacheRead, model).toBeCloseTo(pricing.input / 10, 12)
      expect(pricing.cacheWrite, model).toBeCloseTo(pricing.input * 1.25, 12)
    }
  })

  it("reads OpenAI's cached-input price, and bills cache writes as input where OpenAI has no write price", () => {
    const { pricing } = ModelRegistry.resolve("openai/gpt-5", undefined, { at: AT })
    expect(pricing).toEqual({ input: 1.25, output: 10, cacheRead: 0.125, cacheWrite: 1.25 })
  })

  it("prices a long prompt at the model's long-context tier, exactly as the table does", () => {
    const long = TokenUsage.of({ input: 150_000, output: 2_000, cacheRead: 90_000 })
    const info = ModelRegistry.resolve("anthropic/claude-sonnet-4-5", undefined, { at: AT })
    expect(info.pricingTiers.map((tier) => tier.above)).toEqual([200_000])
    const cost = ModelRegistry.costOf(long, info)
    expect(cost).toBeCloseTo(tablePrice(long, "claude-sonnet-4-5", "anthropic"), 12)
    // 240K tokens in: every token at the higher rate (input 6, cache read 0.6, output 22.5).
    expect(cost).toBeCloseTo((150_000 * 6 + 90_000 * 0.6 + 2_000 * 22.5) / 1e6, 12)
    const short = TokenUsage.of({ input: 150_000, output: 2_000 })
    expect(ModelRegistry.costOf(short, info)).toBeCloseTo((150_000 * 3 + 2_000 * 15) / 1e6, 12)
  })

  it("applies a dated price change from its date on", () => {
    const before = ModelRegistry.resolve("openai/o3", undefined, { at: Date.parse("2025-06-01T00:00:00Z") })
    const after = ModelRegistry.resolve("openai/o3", undefined, { at: Date.parse("2025-06-10T00:00:00Z") })
    expect(before.pricing.input).toBe(10)
    expect(after.pricing.input).toBe(2)
  })

  it.effect("lookup prices at the Clock's time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2025-06-01T00:00:00Z"))
      expect((yield* ModelRegistry.lookup("openai/o3")).pricing.input).toBe(10)
      yield* TestClock.setTime(Date.parse("2025-07-01T00:00:00Z"))
      expect((yield* ModelRegistry.lookup("openai/o3")).pricing.input).toBe(2)
    }))

  it("finds routed and hosted names: OpenRouter's dotted Claude versions, a host's vendor prefix, Azure deployments", () => {
    const routed = ModelRegistry.resolve("openrouter/anthropic/claude-sonnet-4-5", undefined, { at: AT })
    expect(routed.priceSource).toBe("genai-prices")
    expect(routed.pricing.input).toBe(3)
    expect(ModelRegistry.resolve("groq/openai/gpt-oss-120b", undefined, { at: AT }).pricing).toMatchObject({
      input: 0.15,
      cacheRead: 0.075
    })
    expect(ModelRegistry.resolve("azure/gpt-4.1-mini", undefined, { at: AT }).priceSource).toBe(
      "genai-prices"
    )
  })

  it("keeps its own prices where the table's depend on the time of day, and charges nothing for local models", () => {
    // DeepSeek's off-peak discount: one rate per call is all mnesis can apply, so it uses its own.
    expect(ModelRegistry.resolve("deepseek/deepseek-chat", undefined, { at: AT }).priceSource).toBe("mnesis")
    for (
      const model of ["ollama/llama-3.3-70b-versatile", "openai-compat/gpt-oss-20b", "mock/claude-sonnet-4-5"]
    ) {
      const info = ModelRegistry.resolve(model, undefined, { at: AT })
      expect(info.priceSource, model).toBe("none")
      expect(ModelRegistry.costOf(usage, info), model).toBe(0)
    }
  })

  it("takes the table's context window for a model only the table knows", () => {
    const info = ModelRegistry.resolve("anthropic/claude-opus-5-5", undefined, { at: AT })
    expect(info.known).toBe(true)
    expect(info.contextLimit).toBe(1_000_000)
    expect(info.maxOutputTokens).toBe(ModelRegistry.FALLBACK_MAX_OUTPUT_TOKENS)
  })
})

describe("local overrides", () => {
  const negotiated = ModelRegistry.layer({
    "anthropic/claude-sonnet-4-5": { pricing: { input: 2, output: 10 } },
    "prod-chat-eu": { contextLimit: 128_000, maxOutputTokens: 16_384, pricing: { input: 2.5, output: 10 } }
  })

  it.effect("a ModelRegistry layer's prices win over the table's, and drop its tiers", () =>
    Effect.gen(function*() {
      const info = yield* ModelRegistry.lookup("anthropic/claude-sonnet-4-5")
      expect(info.priceSource).toBe("override")
      expect(info.pricing).toMatchObject({ input: 2, output: 10, cacheRead: 0.3, cacheWrite: 3.75 })
      expect(info.pricingTiers).toEqual([])
    }).pipe(Effect.provide(negotiated)))

  it.effect("a bare key covers the name under any prefix; the session's own limits still win", () =>
    Effect.gen(function*() {
      const { lines, result } = yield* captureWarnings(ModelRegistry.lookup("azure/prod-chat-eu"))
      expect(lines).toEqual([])
      expect(result).toMatchObject({ known: false, contextLimit: 128_000, maxOutputTokens: 16_384 })
      expect(result.pricing.input).toBe(2.5)
      const session = yield* ModelRegistry.lookup("azure/prod-chat-eu", { contextLimit: 64_000 })
      expect(session.contextLimit).toBe(64_000)
      expect(session.pricing.input).toBe(2.5)
    }).pipe(Effect.provide(negotiated)))

  it.effect("an invalid entry fails with a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(ModelRegistry.layer({ "openai/x": { contextLimit: 0 } })).pipe(Effect.scoped)
      )
      expect(error._tag).toBe("ConfigError")
      expect(error.message).toContain("openai/x")
    }))
})

describe("cost per turn", () => {
  it.effect("is the sum of each call's cost on the usage the provider reported, as recorded", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(
        MockLlm.Reply.toolCalls([{ name: "lookup", input: {} }]),
        MockLlm.Reply.text("done", {
          usage: { input: 1_000, output: 200, cacheRead: 30_000, cacheWrite: 4_000 }
        })
      )
      const session = yield* Session.create({ model: "anthropic/claude-sonnet-4-5" })
      const turn = yield* session.send("go")
      const info = yield* ModelRegistry.lookup("anthropic/claude-sonnet-4-5")
      const stored = (yield* session.messages()).filter((m) => m.role === "assistant")
      expect(stored).toHaveLength(2)
      for (const message of stored) expect(message.cost).toBe(ModelRegistry.costOf(message.tokens, info))
      expect(turn.cost).toBeCloseTo(stored.reduce((sum, m) => sum + m.cost, 0), 15)
      expect(stored[1]!.cost).toBeCloseTo(
        tablePrice(stored[1]!.tokens, "claude-sonnet-4-5", "anthropic", 0),
        12
      )
    }).pipe(Effect.provide(makeTest())))
})
