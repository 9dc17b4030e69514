/**
 * The AI SDK bridge with the AI SDK's own mock model (`MockLanguageModelV4` from `ai/test`, no
 * network): the middleware keeps a `streamText` conversation in a mnesis session and sends the
 * assembled context (across a compaction, through a multi-step tool loop, and for
 * `generateText`); an AI SDK model as mnesis's provider drives `send`'s tool loop and writes
 * compaction's summaries; usage, finish reasons and errors map to mnesis's.
 */
import type {
  LanguageModelV4CallOptions,
  LanguageModelV4Prompt,
  LanguageModelV4StreamPart
} from "@ai-sdk/provider"
import { APICallError, LoadAPIKeyError } from "@ai-sdk/provider"
import { describe, expect, it } from "@effect/vitest"
import { generateText, jsonSchema, type ModelMessage, stepCountIs, streamText, tool } from "ai"
import { convertArrayToReadableStream, MockLanguageModelV4 } from "ai/test"
import { Effect, Schema } from "effect"
import { makeProvider, providerLayer, withMnesis } from "../../src/ai-sdk.js"
import { Settings } from "../../src/Config.js"
import type { MnesisConfigOverrides } from "../../src/Config.js"
import { makeLayer, makeTest } from "../../src/Layers.js"
import { collect } from "../../src/LlmProvider.js"
import type { LlmRequest } from "../../src/LlmProvider.js"
import { client } from "../../src/promise.js"
import * as Session from "../../src/Session.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import * as MnesisTool from "../../src/Tool.js"

// ---------------------------------------------------------------------------------------------
// Scripted stream parts
// ---------------------------------------------------------------------------------------------

type Usage = Extract<LanguageModelV4StreamPart, { type: "finish" }>["usage"]

const usage = (input: number, output: number, cacheRead = 0, cacheWrite = 0): Usage => ({
  inputTokens: { total: input + cacheRead + cacheWrite, noCache: input, cacheRead, cacheWrite },
  outputTokens: { total: output, text: output, reasoning: undefined }
})

const finish = (
  unified: "stop" | "tool-calls" | "length" | "error" | "interrupted" = "stop",
  used: Usage = usage(40, 8)
): LanguageModelV4StreamPart => ({ type: "finish", finishReason: { unified, raw: unified }, usage: used })

const textParts = (text: string, used?: Usage): Array<LanguageModelV4StreamPart> => [
  { type: "stream-start", warnings: [] },
  { type: "text-start", id: "t" },
  { type: "text-delta", id: "t", delta: text },
  { type: "text-end", id: "t" },
  finish("stop", used)
]

const toolCallParts = (id: string, toolName: string, input: string): Array<LanguageModelV4StreamPart> => [
  { type: "stream-start", warnings: [] },
  { type: "tool-call", toolCallId: id, toolName, input },
  finish("tool-calls")
]

/** A mock whose every `doStream` answers with `script(options)`. */
const mockModel = (script: (options: LanguageModelV4CallOptions) => Array<LanguageModelV4StreamPart>) =>
  new MockLanguageModelV4({
    provider: "mock-provider",
    modelId: "mock-model",
    doStream: (options) => Promise.resolve({ stream: convertArrayToReadableStream(script(options)) })
  })

/** Every text of a prompt, in order (system, user and assistant texts, tool outputs). */
const textsOf = (prompt: LanguageModelV4Prompt): Array<string> =>
  prompt.flatMap((message) =>
    message.role === "system"
      ? [message.content]
      : message.content.flatMap((part) =>
        part.type === "text"
          ? [part.text]
          : part.type === "tool-result" && part.output.type === "text"
          ? [part.output.value]
          : []
      )
  )

const lastUserText = (prompt: LanguageModelV4Prompt): string => {
  const user = prompt.filter((m) => m.role === "user").at(-1)
  return user === undefined ? "" : user.content.map((p) => (p.type === "text" ? p.text : "")).join("")
}

/** usable 4,000 tokens: soft threshold 2,400. */
const SMALL = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

const note = (i: number) =>
  `Note ${i}: module-${i} lives in src/module${i}.ts. ${"Ordinary filler words follow. ".repeat(40)}`

/** A Promise-API session on the test bundle (SQLite in memory; MockLlm writes the summaries). */
const withSession = async <A>(
  config: MnesisConfigOverrides,
  body: (session: Awaited<ReturnType<ReturnType<typeof client>["open"]>>) => Promise<A>
): Promise<A> => {
  const app = client(makeTest({ config }))
  try {
    const session = await app.open({ model: "openai/gpt-4.1", systemPrompt: "Session prompt." })
    try {
      return await body(session)
    } finally {
      await session.close()
    }
  } finally {
    await app.dispose()
  }
}

// ---------------------------------------------------------------------------------------------
// The middleware
// ---------------------------------------------------------------------------------------------

describe("withMnesis (the middleware)", () => {
  it("a two-turn streamText conversation: the second request carries the first exchange", () =>
    withSession({}, async (session) => {
      let call = 0
      const mock = mockModel(() => textParts(`Reply ${++call}: noted.`, usage(30, 6, 100, 20)))
      const model = withMnesis(mock, { session })

      const messages: Array<ModelMessage> = [{
        role: "user",
        content: "My name is Alice and I work on compilers."
      }]
      const first = streamText({ model, system: "You are terse.", messages })
      expect(await first.text).toBe("Reply 1: noted.")
      messages.push(...(await first.response).messages, { role: "user", content: "What is my name?" })
      const second = streamText({ model, system: "You are terse.", messages })
      expect(await second.text).toBe("Reply 2: noted.")

      const sent = mock.doStreamCalls[1]!.prompt
      expect(sent.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"])
      expect(textsOf(sent)).toEqual([
        "You are terse.",
        "My name is Alice and I work on compilers.",
        "Reply 1: noted.",
        "What is my name?"
      ])
      const stored = await session.messages()
      expect(stored.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"])
      // the reported usage was recorded, cache reads and writes apart
      expect(stored[1]!.tokens).toMatchObject({ input: 30, output: 6, cacheRead: 100, cacheWrite: 20 })
      expect(stored[3]!.finishReason).toBe("stop")
    }))

  it("survives a compaction: later requests carry a summary instead of the caller's full history", () =>
    withSession(SMALL, async (session) => {
      let call = 0
      const mock = mockModel(() => textParts(`Noted ${++call}.`))
      const model = withMnesis(mock, { session })
      const messages: Array<ModelMessage> = []
      for (let i = 0; i < 16; i++) {
        messages.push({ role: "user", content: note(i) })
        const result = streamText({ model, messages })
        await result.consumeStream()
        messages.push(...(await result.response).messages)
      }
      await session.awaitCompaction()
      messages.push({ role: "user", content: "Where does module-0 live?" })
      const last = streamText({ model, messages })
      expect(await last.text).toBe("Noted 17.")

      const sent = mock.doStreamCalls.at(-1)!.prompt
      const texts = textsOf(sent)
      expect(texts.some((t) => t.includes("<summary id=\"sum_"))).toBe(true)
      expect(texts).not.toContain(note(0))
      expect(lastUserText(sent)).toBe("Where does module-0 live?")
      // the caller sent everything; the model got far less, and the session lost nothing
      expect(sent.length).toBeLessThan(messages.length)
      expect((await session.messages()).filter((m) => !m.isSummary).length).toBe(34)
      expect((await session.grep({ pattern: "module-0" })).hits.length).toBeGreaterThan(0)
    }))

  it("a multi-step tool loop: the call is stored pending, its result arrives with the next call", () =>
    withSession({}, async (session) => {
      const mock = mockModel((options) =>
        options.prompt.some((m) => m.role === "tool")
          ? textParts("It is 21 °C in Lisbon.")
          : toolCallParts("call_w", "weather", "{\"city\":\"Lisbon\"}")
      )
      const weather = tool({
        description: "today's weather",
        inputSchema: jsonSchema<{ city: string }>({
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"]
        }),
        execute: ({ city }) => Promise.resolve(`${city}: 21 °C`)
      })
      const result = streamText({
        model: withMnesis(mock, { session }),
        messages: [{ role: "user", content: "Weather in Lisbon?" }],
        tools: { weather },
        stopWhen: stepCountIs(3)
      })
      expect(await result.text).toBe("It is 21 °C in Lisbon.")

      const second = mock.doStreamCalls[1]!.prompt
      expect(second.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"])
      expect(textsOf(second)).toContain("Lisbon: 21 °C")
      expect(mock.doStreamCalls[1]!.tools?.map((t) => t.name)).toEqual(["weather"])
      const stored = await session.messages()
      expect(stored.map((m) => m.role)).toEqual(["user", "assistant", "assistant"])
      expect(stored[1]!.parts).toMatchObject([
        {
          type: "tool",
          toolName: "weather",
          toolCallId: "call_w",
          input: { city: "Lisbon" },
          status: "completed"
        }
      ])
    }))

  it("a file in the newest user message reaches the model on that call; later calls get mnesis's note", () =>
    withSession({}, async (session) => {
      const mock = mockModel(() => textParts("A cat."))
      const model = withMnesis(mock, { session })
      const image = new Uint8Array([137, 80, 78, 71])
      const messages: Array<ModelMessage> = [{
        role: "user",
        content: [{ type: "text", text: "What is in this picture?" }, {
          type: "file",
          data: image,
          mediaType: "image/png",
          filename: "cat.png"
        }]
      }]
      const first = streamText({ model, messages })
      await first.consumeStream()
      messages.push(...(await first.response).messages, { role: "user", content: "And its colour?" })
      await streamText({ model, messages }).consumeStream()

      const [withFile, later] = mock.doStreamCalls.map((call) => call.prompt)
      expect(withFile!.at(-1)).toMatchObject({
        role: "user",
        content: [{ type: "text", text: "What is in this picture?" }, {
          type: "file",
          mediaType: "image/png"
        }]
      })
      expect(textsOf(later!)).toContain("[file image/png cat.png]")
      expect(later!.some((m) => m.role === "user" && m.content.some((p) => p.type === "file"))).toBe(false)
    }))

  it("generateText is stored the same way", () =>
    withSession({}, async (session) => {
      const mock = new MockLanguageModelV4({
        doGenerate: {
          content: [{ type: "text", text: "A write-ahead log records changes before applying them." }],
          finishReason: { unified: "stop", raw: "stop" },
          usage: usage(25, 12),
          warnings: []
        }
      })
      const { text } = await generateText({
        model: withMnesis(mock, { session }),
        prompt: "What is a write-ahead log?"
      })
      expect(text).toContain("write-ahead")
      expect(textsOf(mock.doGenerateCalls[0]!.prompt)).toEqual([
        "Session prompt.",
        "What is a write-ahead log?"
      ])
      const stored = await session.messages()
      expect(stored.map((m) => m.role)).toEqual(["user", "assistant"])
      expect(stored[1]!.tokens).toMatchObject({ input: 25, output: 12 })
    }))
})

// ---------------------------------------------------------------------------------------------
// An AI SDK model as mnesis's provider
// ---------------------------------------------------------------------------------------------

const layerFor = (model: MockLanguageModelV4, config: MnesisConfigOverrides = {}) =>
  makeLayer({
    settings: Settings.layer(config),
    storage: SqliteStore.layerMemory,
    provider: providerLayer(model)
  })

const add = MnesisTool.make({
  name: "add",
  description: "a + b",
  input: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  handler: ({ a, b }) => Effect.succeed(a + b)
})

describe("an AI SDK model as the provider", () => {
  it.effect("drives send through a tool call and back, with usage and the finish reason", () => {
    const mock = mockModel((options) =>
      options.prompt.some((m) => m.role === "tool")
        ? textParts("2 + 3 = 5", usage(60, 9, 200, 0))
        : toolCallParts("call_1", "add", "{\"a\":2,\"b\":3}")
    )
    return Effect.gen(function*() {
      const session = yield* Session.open({ model: "openai/gpt-4.1", systemPrompt: "You add numbers." })
      const turn = yield* session.send("What is 2 + 3?", { tools: [add] })
      expect(turn).toMatchObject({ text: "2 + 3 = 5", steps: 2, finishReason: "stop" })
      expect(turn.parts.filter((p) => p.type === "tool")).toMatchObject([
        { toolName: "add", toolCallId: "call_1", status: "completed", output: "5" }
      ])
      expect(turn.tokens).toMatchObject({ input: 40 + 60, output: 8 + 9, cacheRead: 200 })

      const [first, second] = mock.doStreamCalls
      expect(first!.tools).toEqual([{
        type: "function",
        name: "add",
        description: "a + b",
        inputSchema: add.inputSchema
      }])
      expect(first!.maxOutputTokens).toBeGreaterThan(0)
      expect(second!.prompt.find((m) => m.role === "tool")?.content).toEqual([
        { type: "tool-result", toolCallId: "call_1", toolName: "add", output: { type: "text", value: "5" } }
      ])
    }).pipe(Effect.scoped, Effect.provide(layerFor(mock)))
  })

  it.effect("writes compaction's summaries", () => {
    const mock = mockModel((options) =>
      lastUserText(options.prompt).includes("<transcript>")
        ? textParts("SUMMARY-VIA-AI-SDK: the user sent numbered notes about modules.")
        : textParts("Noted.")
    )
    return Effect.gen(function*() {
      const session = yield* Session.open({ model: "openai/gpt-4.1", config: SMALL })
      for (let i = 0; i < 16; i++) yield* session.send(note(i))
      yield* session.awaitCompaction
      const context = yield* session.contextForNextTurn()
      const summaryIds = context.items.filter((item) => item.kind === "summary").map((item) => item.id)
      expect(summaryIds.length).toBeGreaterThan(0)
      for (const id of summaryIds) {
        const { description } = yield* session.describe({ id })
        expect(description).toMatchObject({ kind: "summary", node: { level: 1 } })
        if (description.kind === "summary") expect(description.node.content).toContain("SUMMARY-VIA-AI-SDK")
      }
    }).pipe(Effect.scoped, Effect.provide(layerFor(mock)))
  })
})

const request: LlmRequest = {
  model: "openai/gpt-4.1",
  system: [{ text: "Be brief.", cache: true }],
  messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
  maxTokens: 256,
  temperature: 0.2,
  stop: ["END"]
}

const streamOf = (model: MockLanguageModelV4) => collect("mock", makeProvider(model).stream(request))

const throwing = (error: Error) =>
  new MockLanguageModelV4({ provider: "mock-provider", doStream: () => Promise.reject(error) })

const apiError = (
  statusCode: number | undefined,
  headers: Record<string, string> = {},
  isRetryable?: boolean
) =>
  new APICallError({
    message: "the API said no",
    url: "https://api.example.test/v1/chat",
    requestBodyValues: {},
    ...(statusCode === undefined ? {} : { statusCode }),
    responseHeaders: headers,
    ...(isRetryable === undefined ? {} : { isRetryable })
  })

describe("the provider's requests, events and errors", () => {
  it.effect("sends the request's settings, and cache marks the way @ai-sdk/anthropic reads them", () => {
    const mock = mockModel(() => textParts("hi"))
    return Effect.gen(function*() {
      yield* streamOf(mock)
      const options = mock.doStreamCalls[0]!
      expect(options).toMatchObject({ maxOutputTokens: 256, temperature: 0.2, stopSequences: ["END"] })
      expect(options.prompt[0]).toEqual({
        role: "system",
        content: "Be brief.",
        providerOptions: { anthropic: { cacheControl: { type: "ephemeral" } } }
      })
    })
  })

  it.effect("reasoning with its signature; invalid tool arguments are kept with the reason", () =>
    Effect.gen(function*() {
      const response = yield* streamOf(mockModel(() => [
        { type: "reasoning-start", id: "r" },
        { type: "reasoning-delta", id: "r", delta: "Thinking." },
        { type: "reasoning-end", id: "r", providerMetadata: { anthropic: { signature: "sig-1" } } },
        { type: "tool-call", toolCallId: "c1", toolName: "add", input: "{\"a\":" },
        finish("tool-calls")
      ]))
      expect(response.reasoning).toBe("Thinking.")
      expect(response.toolCalls).toMatchObject([{ id: "c1", name: "add", input: "{\"a\":" }])
      expect(response.toolCalls[0]!.inputError).toContain("not valid JSON")
      expect(response.finishReason).toBe("tool_calls")
    }))

  it.effect("finish reasons: length is max_tokens; an interrupted or failed stream is an error", () =>
    Effect.gen(function*() {
      const length = yield* streamOf(mockModel(() => [finish("length")]))
      expect(length.finishReason).toBe("max_tokens")
      for (const unified of ["interrupted", "error"] as const) {
        const failure = yield* Effect.flip(streamOf(mockModel(() => [finish(unified)])))
        expect(failure._tag).toBe("LlmConnectionError")
      }
      const errorPart = yield* Effect.flip(streamOf(mockModel(() => [
        { type: "error", error: apiError(529) }
      ])))
      expect(errorPart._tag).toBe("LlmOverloaded")
    }))

  it.effect("thrown errors become the tagged errors retries and callers act on", () =>
    Effect.gen(function*() {
      const cases: Array<[Error, string]> = [
        [apiError(429), "LlmRateLimited"],
        [apiError(401), "LlmAuthenticationError"],
        [apiError(413), "LlmContextTooLong"],
        [apiError(400), "LlmInvalidRequest"],
        [apiError(500), "LlmServerError"],
        [apiError(undefined, {}, true), "LlmConnectionError"],
        [new LoadAPIKeyError({ message: "OPENAI_API_KEY is missing" }), "LlmAuthenticationError"],
        [new TypeError("model.doStream is not a function"), "LlmInvalidRequest"]
      ]
      for (const [error, tag] of cases) {
        const failure = yield* Effect.flip(streamOf(throwing(error)))
        expect(failure._tag, String(error)).toBe(tag)
        expect(failure).toMatchObject({ provider: "mock-provider" })
      }
      const limited = yield* Effect.flip(streamOf(throwing(apiError(429, { "Retry-After": "3" }))))
      expect(limited).toMatchObject({ _tag: "LlmRateLimited", retryAfterMs: 3_000 })
    }))
})
