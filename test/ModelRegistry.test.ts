import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel } from "effect"
import { TokenUsage } from "../src/Domain.js"
import * as ModelRegistry from "../src/ModelRegistry.js"

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
