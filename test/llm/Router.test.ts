import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as Router from "../../src/llm/Router.js"
import type { LlmRequest } from "../../src/LlmProvider.js"
import { complete, type LlmProvider } from "../../src/LlmProvider.js"

const request = (model: string): LlmRequest => ({
  model,
  system: [],
  messages: [{ role: "user", content: [{ type: "text", text: "hello router" }] }],
  maxTokens: 100
})

const withEnv = <E>(env: Record<string, string>, layer: Layer.Layer<LlmProvider, E, HttpClient.HttpClient>) =>
  Layer.provide(layer, FetchHttpClient.layer).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
  )

describe("Router", () => {
  it.effect("routes mock/ to the mock", () =>
    Effect.gen(function*() {
      const response = yield* complete(request("mock/anything"))
      expect(response.text).toContain("hello router")
    }).pipe(Effect.provide(withEnv({}, Router.layer))))

  it.effect("a provider without its key fails with a ConfigError naming the variable", () =>
    Effect.gen(function*() {
      const anthropic = yield* Effect.flip(complete(request("anthropic/claude-opus-4-6")))
      expect(anthropic).toMatchObject({ _tag: "ConfigError", path: "ANTHROPIC_API_KEY" })
      const bare = yield* Effect.flip(complete(request("claude-sonnet-4-5")))
      expect(bare).toMatchObject({ _tag: "ConfigError", path: "ANTHROPIC_API_KEY" })
      const openai = yield* Effect.flip(complete(request("openai/gpt-4o")))
      expect(openai).toMatchObject({ _tag: "ConfigError", path: "OPENAI_API_KEY" })
      const openrouter = yield* Effect.flip(complete(request("openrouter/anthropic/claude-sonnet-4-5")))
      expect(openrouter).toMatchObject({ _tag: "ConfigError", path: "OPENROUTER_API_KEY" })
      const compat = yield* Effect.flip(complete(request("openai-compat/my-model")))
      expect(compat).toMatchObject({ _tag: "ConfigError", path: "OPENAI_COMPAT_BASE_URL" })
      // Bare names of the hosts' families go to their hosts.
      const gemini = yield* Effect.flip(complete(request("gemini-2.5-pro")))
      expect(gemini).toMatchObject({ _tag: "ConfigError", path: "GEMINI_API_KEY" })
      const grok = yield* Effect.flip(complete(request("grok-4")))
      expect(grok).toMatchObject({ _tag: "ConfigError", path: "XAI_API_KEY" })
    }).pipe(Effect.provide(withEnv({}, Router.layer))))

  it.effect("an unknown prefix is a ConfigError that lists the known ones", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(complete(request("bogus/model-x")))
      expect(error).toMatchObject({ _tag: "ConfigError", path: "model" })
      for (
        const prefix of [
          "anthropic/",
          "openai-compat/",
          "gemini/",
          "azure/",
          "groq/",
          "together_ai/",
          "mock/"
        ]
      ) {
        expect(error.message).toContain(prefix)
      }
    }).pipe(Effect.provide(withEnv({}, Router.layer))))

  it.effect("MNESIS_MOCK_LLM=1 routes every model to the mock", () =>
    Effect.gen(function*() {
      for (const model of ["anthropic/claude-opus-4-6", "openai/gpt-5", "bogus/model-x"]) {
        const response = yield* complete(request(model))
        expect(response.text).toContain("[mock reply]")
      }
    }).pipe(Effect.provide(withEnv({ MNESIS_MOCK_LLM: "1" }, Router.layerFromEnv))))

  it.effect("without MNESIS_MOCK_LLM the env layer is the real router", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(complete(request("anthropic/claude-opus-4-6")))
      expect(error._tag).toBe("ConfigError")
    }).pipe(Effect.provide(withEnv({}, Router.layerFromEnv))))
})
