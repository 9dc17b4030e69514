/**
 * Each host the router reaches over the Chat Completions wire format, against a local server on
 * 127.0.0.1 that speaks that host's wire details: its path and authentication, the fields it
 * refuses, and the shape of its stream (Gemini's whole parallel calls without ids and its thought
 * signatures, Azure's deployment routes and filter chunks, Groq's `x_groq.usage`, Mistral's
 * content arrays and 9-character call ids, DeepSeek's reasoning and cache counts, Together's
 * `eos`). Every host runs a streamed turn with a tool call through the session's tool loop, and a
 * missing key fails with a `ConfigError` naming the host's variable.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Schema } from "effect"
import { Settings } from "../../src/Config.js"
import { makeLayer } from "../../src/Layers.js"
import * as Router from "../../src/llm/Router.js"
import type { LlmRequest } from "../../src/LlmProvider.js"
import { complete } from "../../src/LlmProvider.js"
import * as Session from "../../src/Session.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import * as Tool from "../../src/Tool.js"
import type { RecordedRequest, Reply, ServerOptions } from "./support/openaiServer.js"
import * as FakeServer from "./support/openaiServer.js"
import { reply, sse } from "./support/openaiServer.js"

const KEY = "host-key-0123456789abcdef"

/** What one host looks like on the wire. */
interface HostWire {
  readonly prefix: string
  readonly model: string
  /** The variable that holds the key, as a missing key's error must name it. */
  readonly keyVar: string
  /** The variables that point the host at the local server, and the key. */
  readonly env: (baseURL: string) => ReadonlyArray<readonly [string, string]>
  readonly server: ServerOptions
  /** The key as the host reads it from a request. */
  readonly keyOf: (request: RecordedRequest) => unknown
  /** The host's stream for a call of `weather({ city: "Paris" })`. */
  readonly toolCall: Reply
  /** The host's stream for the final answer, "In Paris it is sunny." in pieces. */
  readonly answer: Reply
  /** Usage the two replies report, summed (input excludes cached tokens). */
  readonly tokens: { readonly input: number; readonly output: number; readonly cacheRead: number }
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: object = {}) =>
  sse.data({
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra
  })

const usage = (prompt: number, completion: number, more: object = {}) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  ...more
})

const bearer = (request: RecordedRequest) => request.headers["authorization"]

const answerPieces = ["In Paris ", "it is ", "sunny."]

/** An OpenAI-shaped answer: text in pieces, stop, a separate usage chunk, [DONE]. */
const plainAnswer = (prompt: number, completion: number, more: object = {}) =>
  reply.stream([
    ...answerPieces.map((text) => chunk({ content: text })),
    chunk({}, "stop"),
    sse.data({ object: "chat.completion.chunk", choices: [], usage: usage(prompt, completion, more) }),
    sse.done
  ])

/** Gemini refuses a replayed function call whose first call lacks its thought signature. */
const geminiRefuse = (request: RecordedRequest): Reply | undefined => {
  const messages = bodyMessages(request)
  const unsigned = messages.some((m) => {
    const first = m.tool_calls?.[0]
    return first !== undefined && first.extra_content?.google?.thought_signature === undefined
  })
  if (!unsigned) return undefined
  return reply.error(400, [{
    error: {
      code: 400,
      message: "Function call is missing a thought_signature in functionCall parts.",
      status: "INVALID_ARGUMENT"
    }
  }])
}

/** Mistral refuses fields it does not know, with its own error body. */
const mistralRefuse = (request: RecordedRequest): Reply | undefined => {
  const body = request.body as Record<string, unknown>
  const extra = ["stream_options", "max_completion_tokens"].filter((field) => field in body)
  const badIds = bodyMessages(request).filter((m) =>
    m.role === "tool" && !/^[a-zA-Z0-9]{9}$/.test(m.tool_call_id ?? "")
  )
  if (extra.length === 0 && badIds.length === 0) return undefined
  return reply.error(422, {
    object: "error",
    message: {
      detail: [
        ...extra.map((field) => ({
          type: "extra_forbidden",
          loc: ["body", field],
          msg: "Extra inputs are not permitted"
        })),
        ...badIds.map(() => ({ loc: ["body", "messages", "tool_call_id"], msg: "Tool call id was invalid" }))
      ]
    },
    type: "invalid_request_error",
    param: null,
    code: null
  })
}

/** DeepSeek refuses its own reasoning sent back as input. */
const deepseekRefuse = (request: RecordedRequest): Reply | undefined =>
  bodyMessages(request).some((m) => m.reasoning_content !== undefined)
    ? reply.openAiError(400, "The reasoning_content is an intermediate result and must not be sent back")
    : undefined

const WireMessage = Schema.Struct({
  role: Schema.String,
  content: Schema.optional(Schema.NullOr(Schema.String)),
  tool_call_id: Schema.optional(Schema.String),
  reasoning_content: Schema.optional(Schema.String),
  tool_calls: Schema.optional(Schema.Array(Schema.Struct({
    id: Schema.String,
    function: Schema.Struct({ name: Schema.String, arguments: Schema.String }),
    extra_content: Schema.optional(Schema.Struct({
      google: Schema.optional(Schema.Struct({ thought_signature: Schema.optional(Schema.String) }))
    }))
  })))
})
const decodeMessages = Schema.decodeUnknownSync(Schema.Struct({ messages: Schema.Array(WireMessage) }))
const bodyMessages = (request: RecordedRequest) => decodeMessages(request.body).messages

const HOSTS: ReadonlyArray<HostWire> = [
  {
    prefix: "gemini",
    model: "gemini-2.5-flash",
    keyVar: "GEMINI_API_KEY",
    env: (base) => [["GEMINI_API_KEY", KEY], ["GEMINI_BASE_URL", base]],
    server: { basePath: "/v1beta/openai", refuse: geminiRefuse },
    keyOf: bearer,
    // One chunk: a whole call without index or id, its signature, "stop" and the usage.
    toolCall: reply.stream([
      chunk(
        {
          role: "assistant",
          tool_calls: [{
            id: "",
            type: "function",
            function: { name: "weather", arguments: "{\"city\":\"Paris\"}" },
            extra_content: { google: { thought_signature: "c2lnLWdlbWluaQ==" } }
          }]
        },
        "stop",
        { usage: usage(40, 12) }
      ),
      sse.done
    ]),
    answer: reply.stream([
      ...answerPieces.slice(0, -1).map((text) => chunk({ content: text, role: "assistant" })),
      chunk({ content: answerPieces.at(-1), role: "assistant" }, "stop", { usage: usage(70, 9) }),
      sse.done
    ]),
    tokens: { input: 110, output: 21, cacheRead: 0 }
  },
  {
    prefix: "azure",
    model: "prod-gpt4o",
    keyVar: "AZURE_API_KEY",
    env: (base) => [["AZURE_API_KEY", KEY], ["AZURE_API_BASE", `${base}/`]],
    server: {
      basePath: "",
      route: (method, url) =>
        method === "POST" && url.pathname === "/openai/deployments/prod-gpt4o/chat/completions" &&
        url.searchParams.get("api-version") === "2024-10-21"
    },
    keyOf: (request) => request.headers["api-key"],
    toolCall: reply.stream([
      // Azure opens with the prompt's content-filter results and no choices.
      sse.data({ choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] }),
      chunk({
        role: "assistant",
        tool_calls: [{
          index: 0,
          id: "call_az1",
          type: "function",
          function: { name: "weather", arguments: "" }
        }]
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "{\"city\":" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "\"Paris\"}" } }] }),
      chunk({}, "tool_calls", { content_filter_results: {} }),
      sse.data({ choices: [], usage: usage(40, 12) }),
      sse.done
    ]),
    answer: plainAnswer(70, 9, { prompt_tokens_details: { cached_tokens: 32 } }),
    tokens: { input: 78, output: 21, cacheRead: 32 }
  },
  {
    prefix: "groq",
    model: "llama-3.3-70b-versatile",
    keyVar: "GROQ_API_KEY",
    env: (base) => [["GROQ_API_KEY", KEY], ["GROQ_BASE_URL", base]],
    server: { basePath: "/openai/v1" },
    keyOf: bearer,
    toolCall: reply.stream([
      chunk({ role: "assistant", content: null }),
      chunk({
        tool_calls: [{
          index: 0,
          id: "call_gq1",
          type: "function",
          function: { name: "weather", arguments: "{\"city\":\"Paris\"}" }
        }]
      }),
      // Groq puts the stream's usage in `x_groq.usage` of the last chunk.
      chunk({}, "tool_calls", { x_groq: { id: "req_1", usage: usage(40, 12) } }),
      sse.done
    ]),
    answer: reply.stream([
      ...answerPieces.map((text) => chunk({ content: text })),
      chunk({}, "stop", { x_groq: { id: "req_2", usage: usage(70, 9) } }),
      sse.done
    ]),
    tokens: { input: 110, output: 21, cacheRead: 0 }
  },
  {
    prefix: "mistral",
    model: "magistral-medium-latest",
    keyVar: "MISTRAL_API_KEY",
    env: (base) => [["MISTRAL_API_KEY", KEY], ["MISTRAL_BASE_URL", base]],
    server: { refuse: mistralRefuse },
    keyOf: bearer,
    toolCall: reply.stream([
      chunk({ role: "assistant", content: "" }),
      chunk(
        {
          tool_calls: [{
            id: "D681PevKs",
            function: { name: "weather", arguments: "{\"city\": \"Paris\"}" },
            index: 0
          }]
        },
        "tool_calls",
        { usage: usage(40, 12) }
      ),
      sse.done
    ]),
    // Magistral streams its thinking as content pieces.
    answer: reply.stream([
      chunk({
        role: "assistant",
        content: [{ type: "thinking", thinking: [{ type: "text", text: "The tool said sunny." }] }]
      }),
      ...answerPieces.slice(0, -1).map((text) => chunk({ content: [{ type: "text", text }] })),
      chunk({ content: answerPieces.at(-1) }, "stop", { usage: usage(70, 9) }),
      sse.done
    ]),
    tokens: { input: 110, output: 21, cacheRead: 0 }
  },
  {
    prefix: "deepseek",
    model: "deepseek-reasoner",
    keyVar: "DEEPSEEK_API_KEY",
    env: (base) => [["DEEPSEEK_API_KEY", KEY], ["DEEPSEEK_BASE_URL", base]],
    server: { basePath: "", refuse: deepseekRefuse },
    keyOf: bearer,
    toolCall: reply.stream([
      chunk({ role: "assistant", content: null, reasoning_content: "Need the weather tool." }),
      chunk({
        tool_calls: [{
          index: 0,
          id: "call_00_ds1",
          type: "function",
          function: { name: "weather", arguments: "{\"city\":\"Paris\"}" }
        }]
      }),
      chunk({}, "tool_calls"),
      sse.data({
        choices: [],
        usage: usage(40, 12, { prompt_cache_hit_tokens: 0, prompt_cache_miss_tokens: 40 })
      }),
      sse.done
    ]),
    answer: plainAnswer(70, 9, { prompt_cache_hit_tokens: 40, prompt_cache_miss_tokens: 30 }),
    tokens: { input: 70, output: 21, cacheRead: 40 }
  },
  {
    prefix: "xai",
    model: "grok-3-mini",
    keyVar: "XAI_API_KEY",
    env: (base) => [["XAI_API_KEY", KEY], ["XAI_BASE_URL", base]],
    server: {},
    keyOf: bearer,
    toolCall: reply.stream([
      chunk({ role: "assistant", reasoning_content: "Call weather." }),
      chunk({
        tool_calls: [{
          index: 0,
          id: "call_x1",
          type: "function",
          function: { name: "weather", arguments: "{\"city\":\"Paris\"}" }
        }]
      }, "tool_calls"),
      sse.data({ choices: [], usage: usage(40, 12, { prompt_tokens_details: { cached_tokens: 8 } }) }),
      sse.done
    ]),
    answer: plainAnswer(70, 9),
    tokens: { input: 102, output: 21, cacheRead: 8 }
  },
  {
    prefix: "together_ai",
    model: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    keyVar: "TOGETHER_API_KEY",
    // The name the Python original's litellm reads.
    env: (base) => [["TOGETHERAI_API_KEY", KEY], ["TOGETHER_BASE_URL", base]],
    server: {},
    keyOf: bearer,
    toolCall: reply.stream([
      chunk({
        role: "assistant",
        tool_calls: [{
          index: 0,
          id: "call_tg1",
          type: "function",
          function: { name: "weather", arguments: "{\"city\":\"Paris\"}" }
        }]
      }),
      chunk({}, "tool_calls", { usage: usage(40, 12) }),
      sse.done
    ]),
    // Together ends plain answers with `eos` and sends usage with the last choice.
    answer: reply.stream([
      ...answerPieces.map((text) => chunk({ content: text })),
      chunk({}, "eos", { usage: usage(70, 9) }),
      sse.done
    ]),
    tokens: { input: 110, output: 21, cacheRead: 0 }
  }
]

const weather = Tool.make({
  name: "weather",
  description: "today's weather in a city",
  input: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) => Effect.succeed(city === "Paris" ? "sunny, 21°C" : "unknown city")
})

/** The router, configured from `env` alone. */
const routerWith = (env: ReadonlyArray<readonly [string, string]>) =>
  Router.layer.pipe(
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(env))))
  )

/** mnesis with that router (SQLite in memory). */
const mnesisWith = (env: ReadonlyArray<readonly [string, string]>) =>
  makeLayer({ settings: Settings.layer(), storage: SqliteStore.layerMemory, provider: routerWith(env) })

const request = (model: string): LlmRequest => ({
  model,
  system: [{ text: "Be brief." }],
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  maxTokens: 64
})

// Real sockets: the test services (TestClock) are left out.
layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("hosts", (it) => {
  for (const host of HOSTS) {
    describe(`${host.prefix}/`, () => {
      it.scoped("runs a streamed turn with a tool call through the session's tool loop", () =>
        Effect.gen(function*() {
          const server = yield* FakeServer.makeWith(host.server)
          yield* server.enqueue(host.toolCall, host.answer)
          const deltas: Array<string> = []
          const result = yield* Effect.gen(function*() {
            const session = yield* Session.create({ model: `${host.prefix}/${host.model}` })
            return yield* session.send("What is the weather in Paris?", {
              tools: [weather],
              onPart: (event) => {
                if (event.type === "text_delta") deltas.push(event.text)
              }
            })
          }).pipe(Effect.provide(mnesisWith(host.env(server.baseURL))))

          expect(result).toMatchObject({ steps: 2, finishReason: "stop", text: "In Paris it is sunny." })
          expect(deltas.length).toBeGreaterThan(1)
          expect(result.parts.filter((part) => part.type === "tool")).toMatchObject([
            { toolName: "weather", status: "completed", input: { city: "Paris" }, output: "sunny, 21°C" }
          ])
          expect(result.tokens).toMatchObject(host.tokens)

          const [first, second] = yield* server.requests
          expect(host.keyOf(first!)).toBe(host.prefix === "azure" ? KEY : `Bearer ${KEY}`)
          expect(first!.body).toMatchObject({ stream: true, tools: [{ function: { name: "weather" } }] })
          // The second call carries the call and its result, paired by the call's id.
          const messages = bodyMessages(second!)
          const call = messages.find((m) => m.tool_calls !== undefined)?.tool_calls?.[0]
          const result_ = messages.find((m) => m.role === "tool")
          expect(call?.function).toEqual({ name: "weather", arguments: "{\"city\":\"Paris\"}" })
          expect(result_).toMatchObject({ tool_call_id: call?.id, content: "sunny, 21°C" })
          expect(call?.id).not.toBe("")
        }))

      it.effect(`a missing key fails the call with a ConfigError naming ${host.keyVar}`, () =>
        Effect.gen(function*() {
          // Everything else is set: only the key is missing.
          const env = host.env("http://127.0.0.1:9/v1").filter(([name]) => !name.endsWith("_API_KEY"))
          const error = yield* Effect.flip(complete(request(`${host.prefix}/${host.model}`))).pipe(
            Effect.provide(routerWith(env))
          )
          expect(error).toMatchObject({ _tag: "ConfigError", path: host.keyVar })
          expect(error.message).toContain(`"${host.keyVar}": is not set`)
        }))
    })
  }
})
