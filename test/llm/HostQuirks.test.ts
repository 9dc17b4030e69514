/**
 * The wire details particular to one host, each against a local server on 127.0.0.1: Gemini's
 * parallel calls, missing ids, thought signatures, `reasoning_effort` and error bodies; Azure's
 * routes, `api-version` and `api-key` header (kept out of traces); Mistral's refusals.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Chunk, ConfigProvider, Effect, Layer, Redacted, Stream, Tracer } from "effect"
import { SKIP_SIGNATURE } from "../../src/llm/openai/Request.js"
import * as OpenAiCompat from "../../src/llm/OpenAiCompat.js"
import * as Router from "../../src/llm/Router.js"
import type { LlmEvent, LlmMessage, LlmRequest, Service, ToolCall } from "../../src/LlmProvider.js"
import { complete, LlmProvider } from "../../src/LlmProvider.js"
import type { RecordedRequest } from "./support/openaiServer.js"
import * as FakeServer from "./support/openaiServer.js"
import { reply, sse } from "./support/openaiServer.js"

const KEY = "quirk-key-0123456789abcdef"

const request = (model: string, messages: ReadonlyArray<LlmMessage> = []): LlmRequest => ({
  model,
  system: [{ text: "Be brief." }],
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }, ...messages],
  maxTokens: 64
})

const eventsOf = (provider: Service, req: LlmRequest) =>
  Effect.map(Stream.runCollect(provider.stream(req)), Chunk.toReadonlyArray)

const callsOf = (events: ReadonlyArray<LlmEvent>): Array<ToolCall> =>
  events.filter((event): event is ToolCall => event.type === "tool_call")

const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: object = {}) =>
  sse.data({
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra
  })

const geminiCall = (name: string, args: string, extra: Record<string, unknown> = {}) => ({
  type: "function",
  function: { name, arguments: args },
  ...extra
})

const toolCallsSent = (recorded: RecordedRequest | undefined): unknown =>
  (recorded?.body as { messages: ReadonlyArray<{ tool_calls?: unknown }> }).messages.flatMap((m) =>
    m.tool_calls === undefined ? [] : [m.tool_calls]
  )

const routerWith = (env: ReadonlyArray<readonly [string, string]>, options: Router.RouterOptions = {}) =>
  Router.layerWith(options).pipe(
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(env))))
  )

layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("host quirks", (it) => {
  describe("gemini", () => {
    const gemini = (server: FakeServer.FakeOpenAi) =>
      OpenAiCompat.make({ provider: "gemini", baseURL: server.baseURL, apiKey: Redacted.make(KEY) })

    it.scoped("keeps parallel calls apart when each comes whole, with index 0 or none, and makes up unique ids", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.makeWith({ basePath: "/v1beta/openai" })
        const parallel = reply.stream([
          chunk({
            role: "assistant",
            tool_calls: [{ index: 0, id: "", ...geminiCall("weather", "{\"city\":\"Paris\"}") }]
          }),
          chunk({ tool_calls: [{ index: 0, ...geminiCall("weather", "{\"city\":\"Rome\"}") }] }),
          chunk({ tool_calls: [geminiCall("clock", "{}")] }, "stop"),
          sse.done
        ])
        yield* server.enqueue(parallel, parallel)
        const provider = yield* gemini(server)
        const first = callsOf(yield* eventsOf(provider, request("gemini/gemini-2.5-flash")))
        const second = callsOf(yield* eventsOf(provider, request("gemini/gemini-2.5-flash")))
        expect(first.map((call) => [call.name, call.input])).toEqual([
          ["weather", { city: "Paris" }],
          ["weather", { city: "Rome" }],
          ["clock", {}]
        ])
        const ids = [...first, ...second].map((call) => call.id)
        expect(ids.every((id) => /^call_[0-9a-z]{6}_[0-9]+$/.test(id))).toBe(true)
        // Unique within and across responses: the store pairs results with calls by id.
        expect(new Set(ids).size).toBe(6)
      }))

    it.scoped("an id Gemini gives is kept, and a call split over chunks still assembles", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.makeWith({ basePath: "/v1beta/openai" })
        yield* server.enqueue(reply.stream([
          chunk({ tool_calls: [{ id: "function-call-7", ...geminiCall("weather", "{\"city\":") }] }),
          chunk({ tool_calls: [{ function: { arguments: "\"Oslo\"}" } }] }, "stop"),
          sse.done
        ]))
        const calls = callsOf(yield* eventsOf(yield* gemini(server), request("gemini/gemini-2.5-flash")))
        expect(calls).toEqual([{
          type: "tool_call",
          id: "function-call-7",
          name: "weather",
          input: { city: "Oslo" }
        }])
      }))

    it.scoped("sends each call's thought signature back, Gemini's stand-in for one it never saw", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.makeWith({ basePath: "/v1beta/openai" })
        yield* server.enqueue(
          reply.stream([
            chunk({
              tool_calls: [
                geminiCall("weather", "{\"city\":\"Paris\"}", {
                  id: "fc-1",
                  extra_content: { google: { thought_signature: "SIG-1" } }
                }),
                geminiCall("weather", "{\"city\":\"Rome\"}", { id: "fc-2" })
              ]
            }, "stop"),
            sse.done
          ]),
          reply.text(["ok"]),
          reply.text(["ok"])
        )
        const provider = yield* gemini(server)
        yield* eventsOf(provider, request("gemini/gemini-3-pro-preview"))
        const replay: LlmMessage = {
          role: "assistant",
          content: [
            { type: "tool_use", id: "fc-1", name: "weather", input: { city: "Paris" } },
            { type: "tool_use", id: "fc-2", name: "weather", input: { city: "Rome" } }
          ]
        }
        yield* eventsOf(provider, request("gemini/gemini-3-pro-preview", [replay]))
        // A history this process did not see (another model's, or from before a restart).
        const foreign: LlmMessage = {
          role: "assistant",
          content: [
            { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Paris" } },
            { type: "tool_use", id: "toolu_2", name: "weather", input: { city: "Rome" } }
          ]
        }
        yield* eventsOf(provider, request("gemini/gemini-3-pro-preview", [foreign]))
        const [, replayed, withForeign] = yield* server.requests
        expect(toolCallsSent(replayed)).toMatchObject([[
          { id: "fc-1", extra_content: { google: { thought_signature: "SIG-1" } } },
          { id: "fc-2" }
        ]])
        expect(JSON.stringify(toolCallsSent(replayed))).not.toContain(SKIP_SIGNATURE)
        // Only the first call of a step is checked, so only it gets the stand-in.
        expect(toolCallsSent(withForeign)).toMatchObject([[
          { id: "toolu_1", extra_content: { google: { thought_signature: SKIP_SIGNATURE } } },
          { id: "toolu_2" }
        ]])
        expect(JSON.stringify(toolCallsSent(withForeign)).split(SKIP_SIGNATURE)).toHaveLength(2)
      }))

    it.scoped("sends reasoning_effort when the router is told to, and only then", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.makeWith({ basePath: "/v1beta/openai" })
        yield* server.enqueue(reply.text(["a"]), reply.text(["b"]))
        const env = [["GEMINI_API_KEY", KEY], ["GEMINI_BASE_URL", server.baseURL]] as const
        yield* complete(request("gemini/gemini-2.5-pro")).pipe(
          Effect.provide(routerWith(env, { gemini: { reasoningEffort: "low" } }))
        )
        yield* complete(request("gemini/gemini-2.5-pro")).pipe(Effect.provide(routerWith(env)))
        const [tuned, plain] = yield* server.requests
        expect(tuned?.body).toMatchObject({
          model: "gemini-2.5-pro",
          reasoning_effort: "low",
          max_tokens: 64
        })
        expect(plain?.body).not.toHaveProperty("reasoning_effort")
        expect(tuned?.headers["authorization"]).toBe(`Bearer ${KEY}`)
      }))

    it.scoped("reads Google's error bodies: the message, and a 429's RetryInfo delay", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.makeWith({ basePath: "/v1beta/openai" })
        yield* server.enqueue(
          reply.error(429, [{
            error: {
              code: 429,
              message: "You exceeded your current quota.",
              status: "RESOURCE_EXHAUSTED",
              details: [
                { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [] },
                { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "39s" }
              ]
            }
          }]),
          reply.error(400, [{
            error: { code: 400, message: "API key not valid.", status: "INVALID_ARGUMENT" }
          }])
        )
        const provider = yield* gemini(server)
        const limited = yield* Effect.flip(eventsOf(provider, request("gemini/gemini-2.5-flash")))
        expect(limited).toMatchObject({ _tag: "LlmRateLimited", provider: "gemini", retryAfterMs: 39_000 })
        expect(limited.message).toContain("You exceeded your current quota.")
        const invalid = yield* Effect.flip(eventsOf(provider, request("gemini/gemini-2.5-flash")))
        expect(invalid).toMatchObject({ _tag: "LlmInvalidRequest", status: 400 })
        expect(invalid.message).toContain("API key not valid. (400)")
      }))
  })

  describe("azure", () => {
    const azureServer = FakeServer.makeWith({
      basePath: "",
      route: (method, url) =>
        method === "POST" && /^\/openai\/deployments\/[^/]+\/chat\/completions$/.test(url.pathname)
    })

    it.scoped("posts to the deployment's route with api-version, and sends the key as api-key only", () =>
      Effect.gen(function*() {
        const server = yield* azureServer
        yield* server.enqueue(reply.text(["a"]), reply.text(["b"]))
        const env = [["AZURE_API_KEY", KEY], ["AZURE_API_BASE", `${server.baseURL}/openai/`]] as const
        yield* complete(request("azure/gpt 4o eu")).pipe(Effect.provide(routerWith(env)))
        yield* complete(request("azure/o3-mini")).pipe(
          Effect.provide(routerWith([...env, ["AZURE_API_VERSION", "2025-04-01-preview"]]))
        )
        const [first, second] = yield* server.requests
        expect(first?.path).toBe("/openai/deployments/gpt%204o%20eu/chat/completions?api-version=2024-10-21")
        expect(second?.path).toBe(
          "/openai/deployments/o3-mini/chat/completions?api-version=2025-04-01-preview"
        )
        expect(first?.headers["api-key"]).toBe(KEY)
        expect(first?.headers["authorization"]).toBeUndefined()
        expect(first?.body).toMatchObject({
          max_completion_tokens: 64,
          stream_options: { include_usage: true }
        })
      }))

    it.effect("a missing AZURE_API_BASE fails the call naming it", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(complete(request("azure/prod"))).pipe(
          Effect.provide(routerWith([["AZURE_API_KEY", KEY]]))
        )
        expect(error).toMatchObject({ _tag: "ConfigError", path: "AZURE_API_BASE" })
        expect(error.message).toContain("https://<resource>.openai.azure.com")
      }))

    it.scoped("the HTTP client's span shows the api-key header redacted", () =>
      Effect.gen(function*() {
        const server = yield* azureServer
        yield* server.enqueue(reply.text(["a"]))
        const attributes: Array<[string, unknown]> = []
        const base = yield* Effect.tracer
        const tracer = Tracer.make({
          span: (name, parent, context, links, startTime, kind, options) => {
            const span = base.span(name, parent, context, links, startTime, kind, options)
            const attribute = span.attribute.bind(span)
            span.attribute = (key: string, value: unknown) => {
              attributes.push([key, value])
              attribute(key, value)
            }
            return span
          },
          context: base.context
        })
        const provider = yield* OpenAiCompat.make({
          provider: "azure",
          baseURL: server.baseURL,
          apiKey: Redacted.make(KEY)
        })
        yield* eventsOf(provider, request("azure/prod")).pipe(Effect.withTracer(tracer))
        const header = attributes.find(([key]) => key === "http.request.header.api-key")
        expect(header).toBeDefined()
        expect(JSON.stringify(attributes)).not.toContain(KEY)
      }))
  })

  describe("mistral", () => {
    it.scoped("sends neither stream_options nor max_completion_tokens, and reads its 422 body", () =>
      Effect.gen(function*() {
        const refuse = (recorded: RecordedRequest) => {
          const body = recorded.body as Record<string, unknown>
          return "stream_options" in body
            ? reply.error(422, {
              object: "error",
              message: {
                detail: [{
                  type: "extra_forbidden",
                  loc: ["body", "stream_options"],
                  msg: "Extra inputs are not permitted"
                }]
              },
              type: "invalid_request_error",
              code: null
            })
            : undefined
        }
        const server = yield* FakeServer.makeWith({ refuse })
        yield* server.enqueue(reply.text(["fine"]))
        const mistral = yield* OpenAiCompat.make({
          provider: "mistral",
          baseURL: server.baseURL,
          apiKey: Redacted.make(KEY)
        })
        expect(
          (yield* complete(request("mistral/mistral-small-latest")).pipe(
            Effect.provideService(LlmProvider, mistral)
          )).text
        ).toBe("fine")
        const [sent] = yield* server.requests
        expect(sent?.body).toMatchObject({ max_tokens: 64 })
        expect(sent?.body).not.toHaveProperty("max_completion_tokens")
        // Forcing the field shows what a refusal reads like.
        const forced = yield* OpenAiCompat.make({
          provider: "mistral",
          baseURL: server.baseURL,
          apiKey: Redacted.make(KEY),
          streamUsage: true
        })
        const error = yield* Effect.flip(eventsOf(forced, request("mistral/mistral-small-latest")))
        expect(error).toMatchObject({ _tag: "LlmInvalidRequest", status: 422 })
        expect(error.message).toContain("body.stream_options: Extra inputs are not permitted")
      }))
  })

  describe("together_ai", () => {
    it.scoped("reads TOGETHER_API_KEY as well as litellm's TOGETHERAI_API_KEY", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(reply.text(["a"]))
        const response = yield* complete(request("together_ai/Qwen/Qwen3-235B")).pipe(
          Effect.provide(routerWith([["TOGETHER_API_KEY", KEY], ["TOGETHER_BASE_URL", server.baseURL]]))
        )
        expect(response.text).toBe("a")
        const [sent] = yield* server.requests
        expect(sent?.headers["authorization"]).toBe(`Bearer ${KEY}`)
        expect(sent?.body).toMatchObject({ model: "Qwen/Qwen3-235B" })
      }))
  })
})
