/**
 * The `@effect/ai` bridge with a scripted `LanguageModel` (built with `LanguageModel.make`, no
 * network): it drives `send` and its tool loop, writes compaction's summaries, reports usage with
 * cache tokens and finish reasons, maps `AiError`s to mnesis's tagged errors, applies `configure`,
 * and the memory toolkit answers `@effect/ai`'s own tool loop from a session.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"
import { Settings } from "../../src/Config.js"
import type { MnesisConfigOverrides } from "../../src/Config.js"
import {
  makeProvider,
  MemoryToolkit,
  memoryToolkitLayer,
  providerLayer,
  usageOf
} from "../../src/effect-ai.js"
import { makeLayer } from "../../src/Layers.js"
import { collect } from "../../src/LlmProvider.js"
import type { LlmRequest } from "../../src/LlmProvider.js"
import * as Session from "../../src/Session.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import * as MnesisTool from "../../src/Tool.js"

// ---------------------------------------------------------------------------------------------
// A scripted @effect/ai model
// ---------------------------------------------------------------------------------------------

type Script = (options: LanguageModel.ProviderOptions) => ReadonlyArray<Response.StreamPartEncoded>

interface Scripted {
  readonly calls: Array<LanguageModel.ProviderOptions>
  readonly model: Effect.Effect<LanguageModel.Service>
}

/** A `LanguageModel` answering each call with `script`, remembering what it was sent. */
const scripted = (script: Script): Scripted => {
  const calls: Array<LanguageModel.ProviderOptions> = []
  return {
    calls,
    model: LanguageModel.make({
      generateText: (options) =>
        Effect.sync(() => {
          calls.push(options)
          return script(options).flatMap((part): Array<Response.PartEncoded> =>
            part.type === "text-delta"
              ? [{ type: "text", text: part.delta }]
              : part.type === "tool-call" || part.type === "finish"
              ? [part]
              : []
          )
        }),
      streamText: (options) =>
        Stream.suspend(() => {
          calls.push(options)
          return Stream.fromIterable(script(options))
        })
    })
  }
}

const text = (delta: string): Response.StreamPartEncoded => ({ type: "text-delta", id: "t0", delta })

const finish = (
  reason: Response.FinishReason,
  usage: Partial<typeof Response.Usage.Encoded> = {},
  metadata?: Record<string, Record<string, unknown>>
): Response.StreamPartEncoded => ({
  type: "finish",
  reason,
  usage: { inputTokens: 40, outputTokens: 10, totalTokens: 50, ...usage },
  ...(metadata === undefined ? {} : { metadata })
})

/** The text of a prompt's last user message. */
const lastUserText = (prompt: Prompt.Prompt): string => {
  const user = prompt.content.filter((m) => m.role === "user").at(-1)
  return user === undefined ? "" : user.content.map((p) => (p.type === "text" ? p.text : "")).join("")
}

/** Answers mnesis's summarisation requests (they carry a `<transcript>`) with a short marked summary. */
const summarising = (turn: Script): Script => (options) =>
  lastUserText(options.prompt).includes("<transcript>")
    ? [text("SUMMARY-VIA-EFFECT-AI: the user sent numbered notes about modules."), finish("stop")]
    : turn(options)

const layerFor = (model: Scripted, config: MnesisConfigOverrides = {}) =>
  makeLayer({
    settings: Settings.layer(config),
    storage: SqliteStore.layerMemory,
    provider: providerLayer().pipe(Layer.provide(Layer.effect(LanguageModel.LanguageModel, model.model)))
  })

const add = MnesisTool.make({
  name: "add",
  description: "a + b",
  input: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  handler: ({ a, b }) => Effect.succeed(a + b)
})

/** usable 4,000 tokens: soft threshold 2,400. */
const SMALL = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

const request = (overrides: Partial<LlmRequest> = {}): LlmRequest => ({
  model: "openai/gpt-4.1",
  system: [{ text: "Be brief." }],
  messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
  maxTokens: 512,
  ...overrides
})

// ---------------------------------------------------------------------------------------------
// send, the tool loop and compaction
// ---------------------------------------------------------------------------------------------

describe("an @effect/ai model as the provider", () => {
  it.effect("drives send through a tool call and back, with usage and the finish reason", () => {
    const model = scripted((options) =>
      options.prompt.content.some((m) => m.role === "tool")
        ? [text("2 + 3 = 5"), finish("stop", { inputTokens: 300, cachedInputTokens: 200 })]
        : [
          text("Let me add."),
          { type: "tool-call", id: "call_1", name: "add", params: { a: 2, b: 3 } },
          finish("tool-calls", { inputTokens: 250, outputTokens: 12, cachedInputTokens: 200 })
        ]
    )
    return Effect.gen(function*() {
      const session = yield* Session.open({ model: "openai/gpt-4.1", systemPrompt: "You add numbers." })
      const turn = yield* session.send("What is 2 + 3?", { tools: [add] })

      expect(turn).toMatchObject({ text: "2 + 3 = 5", steps: 2, finishReason: "stop" })
      expect(turn.parts.filter((p) => p.type === "tool")).toMatchObject([
        { toolName: "add", toolCallId: "call_1", status: "completed", output: "5" }
      ])
      // cache reads are counted apart from the rest of the input, over both steps
      expect(turn.tokens).toMatchObject({ input: 50 + 100, cacheRead: 400, output: 22 })

      // the model was offered mnesis's tool with mnesis's JSON Schema, and got the result back
      const [first, second] = model.calls
      expect(first!.tools.map((t) => [t.name, t.description])).toEqual([["add", "a + b"]])
      expect(Tool.getJsonSchemaFromSchemaAst(first!.tools[0]!.parametersSchema.ast)).toEqual(add.inputSchema)
      expect(first!.prompt.content.map((m) => m.role)).toEqual(["system", "user"])
      const results = second!.prompt.content.flatMap((m) => (m.role === "tool" ? m.content : []))
      expect(results).toMatchObject([{ id: "call_1", name: "add", result: "5", isFailure: false }])
      const call = second!.prompt.content.flatMap((m) => (m.role === "assistant" ? m.content : []))
      expect(call).toContainEqual(
        expect.objectContaining({ type: "tool-call", id: "call_1", params: { a: 2, b: 3 } })
      )
    }).pipe(Effect.scoped, Effect.provide(layerFor(model)))
  })

  it.effect("writes compaction's summaries", () => {
    const model = scripted(summarising(() => [text("Noted."), finish("stop")]))
    return Effect.gen(function*() {
      const session = yield* Session.open({ model: "openai/gpt-4.1", config: SMALL })
      for (let i = 0; i < 16; i++) {
        yield* session.send(
          `Note ${i}: module-${i} lives in src/module${i}.ts. ${"Ordinary filler words follow. ".repeat(40)}`
        )
      }
      yield* session.awaitCompaction
      const context = yield* session.contextForNextTurn()
      const summaryIds = context.items.filter((item) => item.kind === "summary").map((item) => item.id)
      expect(summaryIds.length).toBeGreaterThan(0)
      for (const id of summaryIds) {
        const { description } = yield* session.describe({ id })
        // level 1: the model's own summary was accepted (level 3 would be the extractive fallback)
        expect(description).toMatchObject({ kind: "summary", node: { level: 1 } })
        if (description.kind === "summary") {
          expect(description.node.content).toContain("SUMMARY-VIA-EFFECT-AI")
        }
      }
      // the summariser's instructions arrived as a system message, the span inside <transcript>
      const summaryCall = model.calls.find((c) => lastUserText(c.prompt).includes("<transcript>"))!
      expect(summaryCall.prompt.content[0]!.role).toBe("system")
      expect(lastUserText(summaryCall.prompt)).toContain("module-0")
    }).pipe(Effect.scoped, Effect.provide(layerFor(model)))
  })
})

// ---------------------------------------------------------------------------------------------
// The provider on its own: events, usage, errors, configure
// ---------------------------------------------------------------------------------------------

const streamOf = (model: Scripted, req: LlmRequest = request()) =>
  Effect.flatMap(model.model, (service) => collect("openai", makeProvider(service).stream(req)))

describe("the provider's events", () => {
  it.effect("cache writes come from @effect/ai-anthropic's raw usage; its input is taken as it is", () =>
    Effect.sync(() => {
      const usage = usageOf(Response.finishPart({
        reason: "stop",
        usage: new Response.Usage({
          inputTokens: 30,
          outputTokens: 7,
          totalTokens: 37,
          cachedInputTokens: 900
        }),
        metadata: {
          anthropic: {
            usage: { input_tokens: 30, cache_read_input_tokens: 900, cache_creation_input_tokens: 120 }
          }
        }
      }))
      expect(usage).toMatchObject({ input: 30, output: 7, cacheRead: 900, cacheWrite: 120 })
    }))

  it.effect("finish reasons map to mnesis's", () =>
    Effect.gen(function*() {
      const reasons: Array<[Response.FinishReason, string]> = [
        ["stop", "stop"],
        ["length", "max_tokens"],
        ["content-filter", "content_filter"],
        ["tool-calls", "tool_calls"],
        ["pause", "other"],
        ["unknown", "other"]
      ]
      for (const [theirs, ours] of reasons) {
        const response = yield* streamOf(scripted(() => [text("x"), finish(theirs)]))
        expect(response.finishReason).toBe(ours)
      }
    }))

  it.effect("reasoning with its signature", () =>
    Effect.gen(function*() {
      const response = yield* streamOf(scripted(() => [
        { type: "reasoning-delta", id: "r", delta: "Thinking." },
        { type: "reasoning-delta", id: "r", delta: "", metadata: { anthropic: { signature: "sig-1" } } },
        text("Done."),
        finish("stop")
      ]))
      expect(response).toMatchObject({ reasoning: "Thinking.", text: "Done.", toolCalls: [] })
    }))

  it.effect("a stream without a finish is cut; an error part or a finish for an error fails", () =>
    Effect.gen(function*() {
      const cut = yield* Effect.flip(streamOf(scripted(() => [text("Half an ans")])))
      expect(cut._tag).toBe("LlmConnectionError")
      const errorPart = yield* Effect.flip(
        streamOf(scripted(() => [text("x"), { type: "error", error: new Error("socket hang up") }]))
      )
      expect(errorPart).toMatchObject({ _tag: "LlmConnectionError", detail: "Error: socket hang up" })
      const errorFinish = yield* Effect.flip(streamOf(scripted(() => [text("x"), finish("error")])))
      expect(errorFinish._tag).toBe("LlmConnectionError")
    }))
})

const failing = (error: AiError.AiError): Scripted => ({
  calls: [],
  model: LanguageModel.make({
    generateText: () => Effect.fail(error),
    streamText: () => Stream.fail(error)
  })
})

const httpRequest = {
  method: "POST",
  url: "https://api.example.test/v1/responses",
  urlParams: [],
  hash: Option.none(),
  headers: {}
} as const

const statusError = (status: number, headers: Record<string, string> = {}, body = "{\"error\":\"nope\"}") =>
  new AiError.HttpResponseError({
    module: "Test",
    method: "streamText",
    reason: "StatusCode",
    request: httpRequest,
    response: { status, headers },
    body
  })

describe("AiError → mnesis errors", () => {
  it.effect("HTTP statuses become the tagged errors retries and callers act on", () =>
    Effect.gen(function*() {
      const cases: Array<[AiError.AiError, string]> = [
        [statusError(429), "LlmRateLimited"],
        [statusError(401), "LlmAuthenticationError"],
        [statusError(413), "LlmContextTooLong"],
        [
          statusError(400, {}, "{\"error\":{\"message\":\"prompt is too long: 250000 tokens\"}}"),
          "LlmContextTooLong"
        ],
        [statusError(400), "LlmInvalidRequest"],
        [statusError(529), "LlmOverloaded"],
        [statusError(500), "LlmServerError"],
        [statusError(408), "LlmTimeout"],
        [
          new AiError.HttpRequestError({
            module: "T",
            method: "m",
            reason: "Transport",
            request: httpRequest
          }),
          "LlmConnectionError"
        ],
        [
          new AiError.MalformedOutput({ module: "T", method: "m", description: "bad JSON" }),
          "LlmInvalidRequest"
        ]
      ]
      for (const [error, tag] of cases) {
        const failure = yield* Effect.flip(streamOf(failing(error)))
        expect(failure._tag, `${error._tag} ${error.message}`).toBe(tag)
      }
    }))

  it.effect("a 429 carries the server's retry-after", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(streamOf(failing(statusError(429, { "retry-after": "7" }))))
      expect(failure).toMatchObject({ _tag: "LlmRateLimited", retryAfterMs: 7_000 })
    }))
})

class MaxTokens extends Context.Tag("test/MaxTokens")<MaxTokens, number>() {}

describe("configure", () => {
  it.effect("runs each call inside what configure provides (here: the request's output limit)", () => {
    const seen: Array<Option.Option<number>> = []
    const model = LanguageModel.make({
      generateText: () => Effect.succeed([]),
      streamText: () =>
        Stream.unwrap(Effect.map(Effect.serviceOption(MaxTokens), (max) => {
          seen.push(max)
          return Stream.make(text("ok"), finish("stop"))
        }))
    })
    return Effect.gen(function*() {
      const service = yield* model
      const provider = makeProvider(service, {
        configure: (req) => Effect.provideService(MaxTokens, req.maxTokens)
      })
      yield* collect("openai", provider.stream(request({ maxTokens: 321 })))
      yield* collect("openai", makeProvider(service).stream(request()))
      expect(seen).toEqual([Option.some(321), Option.none()])
    })
  })
})

// ---------------------------------------------------------------------------------------------
// The memory toolkit
// ---------------------------------------------------------------------------------------------

describe("the memory toolkit", () => {
  it.effect("offers the tools a session offers its own model", () => {
    const model = scripted(() => [text("ok"), finish("stop")])
    return Effect.gen(function*() {
      const session = yield* Session.open({ model: "openai/gpt-4.1", memoryTools: true })
      yield* session.send("hello")
      const offered = model.calls[0]!.tools
      const ours = Object.values(MemoryToolkit.tools)
      expect(ours.map((t) => t.name)).toEqual(offered.map((t) => t.name))
      for (const tool of ours) {
        const theirs = offered.find((t) => t.name === tool.name)!
        expect(tool.description).toBe(theirs.description)
        // the same JSON Schema, but for the `$schema` header mnesis's own tools carry
        const sessionSchema: Record<string, unknown> = {
          ...Tool.getJsonSchemaFromSchemaAst(theirs.parametersSchema.ast)
        }
        delete sessionSchema["$schema"]
        expect(Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast)).toEqual(sessionSchema)
      }
    }).pipe(Effect.scoped, Effect.provide(layerFor(model)))
  })

  it.effect("answers @effect/ai's own tool loop from the session's history", () => {
    const host = scripted(() => [text("Noted."), finish("stop")])
    const agent = scripted(() => [
      { type: "tool-call", id: "g1", name: "grep", params: { pattern: "KEY-4471" } },
      { type: "tool-call", id: "d1", name: "describe", params: { id: "sum_missing" } },
      finish("tool-calls")
    ])
    return Effect.gen(function*() {
      const session = yield* Session.open({ model: "openai/gpt-4.1" })
      const turn = yield* session.send("The staging key is KEY-4471.")
      const userId = (yield* session.messages())[0]!.id

      const response = yield* Effect.flatMap(
        agent.model,
        (lm) => lm.generateText({ prompt: "Find the staging key.", toolkit: MemoryToolkit })
      ).pipe(
        Effect.provide(memoryToolkitLayer(session))
      )
      const results = response.toolResults
      expect(results.map((r) => [r.name, r.isFailure])).toEqual([["grep", false], ["describe", true]])
      expect(results[0]!.result).toContain(userId)
      expect(results[0]!.result).toContain("KEY-4471")
      expect(results[1]!.result).toContain("sum_missing")
      expect(turn.text).toBe("Noted.")
    }).pipe(Effect.scoped, Effect.provide(layerFor(host)))
  })
})
