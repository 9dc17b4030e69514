import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import {
  Chunk,
  ConfigProvider,
  Deferred,
  Duration,
  Effect,
  Either,
  Fiber,
  Inspectable,
  Redacted,
  Ref,
  Schedule,
  Schema,
  Stream
} from "effect"
import { RetryConfig } from "../../src/Config.js"
import { readEndpoint } from "../../src/llm/openai/Config.js"
import * as OpenAiCompat from "../../src/llm/OpenAiCompat.js"
import * as Retry from "../../src/llm/Retry.js"
import type { LlmEvent, LlmFailure, LlmRequest, Service } from "../../src/LlmProvider.js"
import { complete, LlmProvider } from "../../src/LlmProvider.js"
import type { FakeOpenAi } from "./support/openaiServer.js"
import * as FakeServer from "./support/openaiServer.js"
import { reply, sse } from "./support/openaiServer.js"

const SECRET = "sk-test-0123456789abcdef"

const baseRequest = (model: string, overrides: Partial<LlmRequest> = {}): LlmRequest => ({
  model,
  system: [{ text: "You are terse." }],
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  maxTokens: 256,
  ...overrides
})

const providerFor = (server: FakeOpenAi, options: Partial<OpenAiCompat.Options> = {}) =>
  OpenAiCompat.make({ provider: "openai-compat", baseURL: server.baseURL, timeout: "5 seconds", ...options })

const collectEvents = (
  service: Service,
  request: LlmRequest = baseRequest("openai-compat/test-model")
): Effect.Effect<ReadonlyArray<LlmEvent>, LlmFailure> =>
  Effect.map(Stream.runCollect(service.stream(request)), Chunk.toReadonlyArray)

const failureOf = (service: Service, request?: LlmRequest) => Effect.flip(collectEvents(service, request))

const textOf = (events: ReadonlyArray<LlmEvent>) =>
  events.map((event) => (event.type === "text_delta" ? event.text : "")).join("")

const withEnv = (entries: ReadonlyArray<readonly [string, string]>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))

const tinyRetries = Schema.decodeSync(RetryConfig)({
  maxRetries: 2,
  baseDelay: 1,
  maxDelay: 5,
  jitter: false
})

// Real sockets and real timeouts: the test services (TestClock) are left out on purpose.
layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("OpenAiCompat", (it) => {
  describe("streaming", () => {
    it.scoped("delivers each delta while the server is still sending", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        const gate = yield* Deferred.make<void>()
        yield* server.enqueue(
          reply.stream([
            sse.role(),
            sse.text("Hel"),
            sse.gate(gate),
            sse.text("lo"),
            sse.finish("stop"),
            sse.done
          ])
        )
        const provider = yield* providerFor(server)
        const firstDelta = yield* Deferred.make<string>()
        const seen = yield* Ref.make<ReadonlyArray<LlmEvent>>([])
        const fiber = yield* provider.stream(baseRequest("openai-compat/test-model")).pipe(
          Stream.tap((event) =>
            Effect.zipRight(
              Ref.update(seen, (events) => [...events, event]),
              event.type === "text_delta" ? Deferred.succeed(firstDelta, event.text) : Effect.void
            )
          ),
          Stream.runDrain,
          Effect.fork
        )
        // The server holds the rest behind the gate, so this only resolves if the delta came live.
        const first = yield* Deferred.await(firstDelta).pipe(Effect.timeout("3 seconds"))
        expect(first).toBe("Hel")
        expect(yield* Ref.get(seen)).toEqual([{ type: "text_delta", text: "Hel" }])
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(fiber)
        const events = yield* Ref.get(seen)
        expect(textOf(events)).toBe("Hello")
        expect(events.at(-1)).toEqual({ type: "finish", reason: "stop", model: "test-model" })
      }))

    it.scoped("collects text, usage (cached tokens apart) and the finish reason, usage before finish", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.text(["Hel", "lo", " world"], { prompt: 120, completion: 7, cached: 100 })
        )
        const events = yield* collectEvents(yield* providerFor(server))
        expect(textOf(events)).toBe("Hello world")
        const tail = events.slice(-2)
        expect(tail[0]?.type).toBe("usage")
        expect(tail[1]).toEqual({ type: "finish", reason: "stop", model: "test-model" })
        if (tail[0]?.type !== "usage") throw new Error("expected a usage event")
        const usage = tail[0].usage
        expect([usage.input, usage.cacheRead, usage.output, usage.cacheWrite, usage.total]).toEqual([
          20,
          100,
          7,
          0,
          127
        ])
      }))

    it.scoped("streams reasoning from reasoning_content and from reasoning", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.stream([
            sse.reasoning("think "),
            sse.reasoning("more", "reasoning"),
            sse.text("answer"),
            sse.finish("stop"),
            sse.done
          ])
        )
        const events = yield* collectEvents(yield* providerFor(server))
        expect(events.slice(0, 3)).toEqual([
          { type: "reasoning_delta", text: "think " },
          { type: "reasoning_delta", text: "more" },
          { type: "text_delta", text: "answer" }
        ])
        // No usage chunk was sent: no usage event, and the finish still comes last.
        expect(events.some((event) => event.type === "usage")).toBe(false)
        expect(events.at(-1)).toEqual({ type: "finish", reason: "stop", model: "test-model" })
      }))

    it.scoped("assembles two parallel tool calls from interleaved fragments", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.stream([
            sse.role(),
            sse.toolCallStart(0, "call_a", "read_file", "{\"pa"),
            sse.toolCallStart(1, "call_b", "grep"),
            sse.toolCallArgs(0, "th\": \"src/a.ts\"}"),
            sse.toolCallArgs(1, "{\"pattern\":"),
            sse.toolCallArgs(1, " \"foo\", \"limit\": 3}"),
            sse.finish("tool_calls"),
            sse.usage({ prompt: 50, completion: 20 }),
            sse.done
          ])
        )
        const events = yield* collectEvents(yield* providerFor(server))
        expect(events).toEqual([
          { type: "tool_call", id: "call_a", name: "read_file", input: { path: "src/a.ts" } },
          { type: "tool_call", id: "call_b", name: "grep", input: { pattern: "foo", limit: 3 } },
          expect.objectContaining({ type: "usage" }),
          { type: "finish", reason: "tool_calls", model: "test-model" }
        ])
      }))

    it.scoped("keeps malformed tool arguments raw with an inputError; empty arguments are {}", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.stream([
            sse.toolCallStart(0, "call_bad", "write_file", "{\"path\": \"a.ts\", "),
            sse.toolCallArgs(0, "\"content\": "),
            sse.toolCallStart(1, "call_empty", "list_files"),
            sse.finish("tool_calls"),
            sse.done
          ])
        )
        const events = yield* collectEvents(yield* providerFor(server))
        const calls = events.filter((event) => event.type === "tool_call")
        expect(calls).toHaveLength(2)
        expect(calls[0]).toMatchObject({ id: "call_bad", input: "{\"path\": \"a.ts\", \"content\": " })
        expect(calls[0]?.inputError).toMatch(/not valid JSON/)
        expect(calls[1]).toEqual({ type: "tool_call", id: "call_empty", name: "list_files", input: {} })
        expect(events.at(-1)).toEqual({ type: "finish", reason: "tool_calls", model: "test-model" })
      }))

    it.scoped("maps finish reasons", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        const cases = [
          ["length", "max_tokens"],
          ["content_filter", "content_filter"],
          ["function_call", "tool_calls"],
          ["eos_token", "other"]
        ] as const
        for (const [wire] of cases) {
          yield* server.enqueue(reply.stream([sse.text("x"), sse.finish(wire), sse.done]))
        }
        const provider = yield* providerFor(server)
        for (const [wire, expected] of cases) {
          const events = yield* collectEvents(provider)
          expect(events.at(-1), wire).toEqual({ type: "finish", reason: expected, model: "test-model" })
        }
      }))

    it.scoped("ignores SSE comments and tolerates a missing [DONE] after the finish", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.stream([sse.raw(": OPENROUTER PROCESSING\n\n"), sse.text("ok"), sse.finish("stop")])
        )
        const events = yield* collectEvents(yield* providerFor(server))
        expect(events).toEqual([{ type: "text_delta", text: "ok" }, {
          type: "finish",
          reason: "stop",
          model: "test-model"
        }])
      }))
  })

  describe("request mapping", () => {
    it.scoped("sends the conversation, tools and limits in Chat Completions form (openai/)", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(reply.text(["done"]))
        const provider = yield* OpenAiCompat.make({
          provider: "openai",
          baseURL: `${server.baseURL}/`,
          apiKey: Redacted.make(SECRET),
          headers: { "x-title": "mnesis-test" }
        })
        const response = yield* complete(
          baseRequest("openai/gpt-4.1-mini", {
            system: [{ text: "Rule one.", cache: true }, { text: "Rule two." }],
            messages: [
              { role: "user", content: [{ type: "text", text: "Read a.ts" }] },
              {
                role: "assistant",
                content: [
                  { type: "reasoning", text: "private thoughts", signature: "sig" },
                  { type: "text", text: "Reading it." },
                  { type: "tool_use", id: "call_1", name: "read_file", input: { path: "a.ts" } },
                  { type: "tool_use", id: "call_2", name: "stat", input: { path: "a.ts" } }
                ]
              },
              {
                role: "user",
                content: [
                  { type: "tool_result", toolUseId: "call_1", content: "export {}" },
                  { type: "tool_result", toolUseId: "call_2", content: "ENOENT", isError: true },
                  { type: "text", text: "Now summarise." }
                ]
              }
            ],
            tools: [{
              name: "read_file",
              description: "Reads a file",
              inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] }
            }],
            temperature: 0.2,
            stop: ["END"]
          })
        ).pipe(Effect.provideService(LlmProvider, provider))
        expect(response.text).toBe("done")
        const [recorded] = yield* server.requests
        expect(recorded?.path).toBe("/v1/chat/completions")
        expect(recorded?.headers["authorization"]).toBe(`Bearer ${SECRET}`)
        expect(recorded?.headers["accept"]).toBe("text/event-stream")
        expect(recorded?.headers["x-title"]).toBe("mnesis-test")
        expect(recorded?.body).toEqual({
          model: "gpt-4.1-mini",
          stream: true,
          stream_options: { include_usage: true },
          max_completion_tokens: 256,
          temperature: 0.2,
          stop: ["END"],
          tools: [{
            type: "function",
            function: {
              name: "read_file",
              description: "Reads a file",
              parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] }
            }
          }],
          messages: [
            { role: "system", content: "Rule one.\n\nRule two." },
            { role: "user", content: "Read a.ts" },
            {
              role: "assistant",
              content: "Reading it.",
              tool_calls: [
                {
                  id: "call_1",
                  type: "function",
                  function: { name: "read_file", arguments: "{\"path\":\"a.ts\"}" }
                },
                {
                  id: "call_2",
                  type: "function",
                  function: { name: "stat", arguments: "{\"path\":\"a.ts\"}" }
                }
              ]
            },
            { role: "tool", tool_call_id: "call_1", content: "export {}" },
            { role: "tool", tool_call_id: "call_2", content: "Error: ENOENT" },
            { role: "user", content: "Now summarise." }
          ]
        })
      }))

    it.scoped("ollama/ from the environment: no Authorization header, max_tokens, no tools field", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(reply.text(["hi"]))
        const provider = yield* OpenAiCompat.fromEnv("ollama").pipe(
          withEnv([["OLLAMA_BASE_URL", server.baseURL]])
        )
        yield* collectEvents(provider, baseRequest("ollama/llama3.2:3b"))
        const [recorded] = yield* server.requests
        expect(recorded?.headers["authorization"]).toBeUndefined()
        expect(recorded?.body).toMatchObject({ model: "llama3.2:3b", max_tokens: 256, stream: true })
        expect(recorded?.body).not.toHaveProperty("max_completion_tokens")
        expect(recorded?.body).not.toHaveProperty("tools")
        expect(recorded?.body).not.toHaveProperty("temperature")
      }))

    it.scoped("layerConfig reads base URL and optional key for openai-compat/", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(reply.text(["via layer"]))
        const response = yield* complete(baseRequest("openai-compat/qwen")).pipe(
          Effect.provide(OpenAiCompat.layerConfig("openai-compat")),
          withEnv([["OPENAI_COMPAT_BASE_URL", server.baseURL], ["OPENAI_COMPAT_API_KEY", SECRET]])
        )
        expect(response.text).toBe("via layer")
        const [recorded] = yield* server.requests
        expect(recorded?.headers["authorization"]).toBe(`Bearer ${SECRET}`)
        expect(recorded?.body).toMatchObject({ model: "qwen", max_tokens: 256 })
      }))
  })

  describe("errors", () => {
    it.scoped("maps each HTTP status to its tagged error with the provider's message", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        const provider = yield* providerFor(server)
        const cases: ReadonlyArray<readonly [FakeServer.Reply, Record<string, unknown>]> = [
          [reply.openAiError(400, "Invalid 'messages[0]'"), { _tag: "LlmInvalidRequest", status: 400 }],
          [
            reply.openAiError(400, "This model's maximum context length is 8192 tokens", {
              code: "context_length_exceeded"
            }),
            { _tag: "LlmContextTooLong" }
          ],
          [reply.openAiError(404, "The model `nope` does not exist"), {
            _tag: "LlmInvalidRequest",
            status: 404
          }],
          [reply.openAiError(422, "Unprocessable"), { _tag: "LlmInvalidRequest", status: 422 }],
          [reply.openAiError(401, "Incorrect API key provided"), { _tag: "LlmAuthenticationError" }],
          [reply.openAiError(403, "Forbidden"), { _tag: "LlmAuthenticationError" }],
          [reply.openAiError(402, "Insufficient credits"), { _tag: "LlmAuthenticationError" }],
          [reply.error(413, "Request Entity Too Large"), { _tag: "LlmContextTooLong" }],
          [
            reply.openAiError(429, "Rate limit reached", { headers: { "retry-after": "2" } }),
            { _tag: "LlmRateLimited", retryAfterMs: 2000 }
          ],
          [
            reply.openAiError(429, "Rate limit reached", {
              headers: { "retry-after-ms": "1500", "retry-after": "9" }
            }),
            { _tag: "LlmRateLimited", retryAfterMs: 1500 }
          ],
          [reply.openAiError(500, "The server had an error"), { _tag: "LlmServerError", status: 500 }],
          [reply.error(502, "<html>Bad Gateway</html>"), { _tag: "LlmServerError", status: 502 }],
          [reply.openAiError(503, "Service Unavailable"), { _tag: "LlmOverloaded" }],
          [reply.openAiError(529, "Overloaded"), { _tag: "LlmOverloaded" }]
        ]
        yield* server.enqueue(...cases.map(([r]) => r))
        for (const [scripted, expected] of cases) {
          const error = yield* failureOf(provider)
          expect(error, JSON.stringify(scripted)).toMatchObject({ provider: "openai-compat", ...expected })
        }
        const detail = (yield* Effect.flip(collectEvents(provider))).message
        // No reply left: the fake answers 500 with an OpenAI body, whose message is the detail.
        expect(detail).toContain("the fake server has no scripted reply left")
      }))

    it.scoped("reads retry-after given as an HTTP date", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        const inTenSeconds = new Date(Date.now() + 10_000).toUTCString()
        yield* server.enqueue(
          reply.openAiError(429, "slow down", { headers: { "retry-after": inTenSeconds } })
        )
        const error = yield* failureOf(yield* providerFor(server))
        if (error._tag !== "LlmRateLimited") throw new Error(`expected LlmRateLimited, got ${error._tag}`)
        expect(error.retryAfterMs).toBeGreaterThan(5_000)
        expect(error.retryAfterMs).toBeLessThanOrEqual(10_000)
      }))

    it.scoped("an error object inside the stream becomes the matching error", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.stream([
            sse.text("part"),
            sse.data({ error: { code: 502, message: "upstream provider failed" } })
          ])
        )
        const error = yield* failureOf(yield* providerFor(server))
        expect(error).toMatchObject({ _tag: "LlmServerError", status: 502 })
        expect(error.message).toContain("upstream provider failed")
      }))

    it.scoped("a body cut mid-stream is a connection error, never a short answer", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.stream([sse.text("partial"), sse.pause(20), sse.cut]),
          reply.stream([sse.text("partial")]),
          reply.stream([sse.text("partial"), sse.done])
        )
        const provider = yield* providerFor(server)
        const cut = yield* failureOf(provider)
        expect(cut._tag).toBe("LlmConnectionError")
        const endedEarly = yield* failureOf(provider)
        expect(endedEarly).toMatchObject({ _tag: "LlmConnectionError" })
        expect(endedEarly.message).toContain("ended before the model finished")
        const doneWithoutFinish = yield* failureOf(provider)
        expect(doneWithoutFinish).toMatchObject({ _tag: "LlmConnectionError" })
        expect(doneWithoutFinish.message).toContain("without a finish reason")
      }))

    it.scoped("a malformed chunk is a connection error naming the chunk", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.stream([
            sse.text("ok"),
            sse.raw("data: {\"choices\": [ oops\n\n"),
            sse.finish("stop"),
            sse.done
          ]),
          reply.stream([sse.data({ choices: "not an array" }), sse.done])
        )
        const provider = yield* providerFor(server)
        const notJson = yield* failureOf(provider)
        expect(notJson).toMatchObject({ _tag: "LlmConnectionError" })
        expect(notJson.message).toContain("malformed stream chunk")
        const wrongShape = yield* failureOf(provider)
        expect(wrongShape.message).toContain("malformed stream chunk")
      }))

    it.scoped("a slow first byte and a stalled stream both time out", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        yield* server.enqueue(
          reply.stream([sse.text("late"), sse.finish("stop"), sse.done], { firstByteDelayMs: 3_000 }),
          reply.stream([sse.text("early"), sse.pause(3_000), sse.finish("stop"), sse.done])
        )
        const provider = yield* providerFor(server, { timeout: "150 millis" })
        const slowStart = yield* failureOf(provider).pipe(Effect.timed)
        expect(slowStart[1]).toMatchObject({ _tag: "LlmTimeout" })
        expect(slowStart[1].message).toContain("no response within")
        expect(Duration.toMillis(slowStart[0])).toBeLessThan(2_000)
        const stalled = yield* failureOf(provider)
        expect(stalled).toMatchObject({ _tag: "LlmTimeout" })
        expect(stalled.message).toContain("no data from the stream")
      }))

    it.scoped("a refused connection is a connection error", () =>
      Effect.gen(function*() {
        const port = yield* FakeServer.unusedPort
        const provider = yield* OpenAiCompat.make({
          provider: "ollama",
          baseURL: `http://127.0.0.1:${port}/v1`
        })
        const error = yield* failureOf(provider)
        expect(error).toMatchObject({ _tag: "LlmConnectionError", provider: "ollama" })
        expect(error.message).toMatch(/ECONNREFUSED|could not be sent/)
      }))

    it.scoped("interrupting the consumer aborts the HTTP request", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        const never = yield* Deferred.make<void>()
        yield* server.enqueue(reply.stream([sse.text("first"), sse.gate(never), sse.text("never sent")]))
        const provider = yield* providerFor(server)
        const events = yield* provider.stream(baseRequest("openai-compat/x")).pipe(
          Stream.take(1),
          Stream.runCollect
        )
        expect(Chunk.toReadonlyArray(events)).toEqual([{ type: "text_delta", text: "first" }])
        const aborted = yield* server.aborted.pipe(
          Effect.filterOrFail((n) => n === 1, () => "not yet"),
          Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo("3 seconds"))),
          Effect.either
        )
        expect(aborted).toEqual(Either.right(1))
      }))
  })

  describe("configuration and secrets", () => {
    it.scoped("a missing key or base URL fails the call (not the layer) with a ConfigError naming it", () =>
      Effect.gen(function*() {
        const empty = withEnv([])
        const openai = yield* OpenAiCompat.fromEnv("openai").pipe(empty)
        expect(yield* failureOf(openai, baseRequest("openai/gpt-4.1"))).toMatchObject({
          _tag: "ConfigError",
          path: "OPENAI_API_KEY"
        })
        const openrouter = yield* OpenAiCompat.fromEnv("openrouter").pipe(
          withEnv([["OPENROUTER_API_KEY", "  "]])
        )
        const blank = yield* failureOf(openrouter, baseRequest("openrouter/x"))
        expect(blank).toMatchObject({ _tag: "ConfigError", path: "OPENROUTER_API_KEY" })
        expect(blank.message).toContain("is not set")
        const compat = yield* OpenAiCompat.fromEnv("openai-compat").pipe(empty)
        expect(yield* failureOf(compat, baseRequest("openai-compat/x"))).toMatchObject({
          _tag: "ConfigError",
          path: "OPENAI_COMPAT_BASE_URL"
        })
        const ollama = yield* readEndpoint("ollama").pipe(empty)
        expect(Either.map(ollama, (settings) => [settings.baseURL, settings.apiKey])).toEqual(
          Either.right(["http://127.0.0.1:11434/v1", undefined])
        )
        const openaiOk = yield* readEndpoint("openai").pipe(withEnv([["OPENAI_API_KEY", SECRET]]))
        if (Either.isLeft(openaiOk)) throw new Error("expected settings")
        expect(openaiOk.right.baseURL).toBe("https://api.openai.com/v1")
        expect(openaiOk.right.maxTokensParam).toBe("max_completion_tokens")
        // The key is held as a Redacted value: usable when sent, hidden when printed or serialised.
        const key = openaiOk.right.apiKey
        expect(key === undefined ? undefined : Redacted.value(key)).toBe(SECRET)
        expect(`${JSON.stringify(openaiOk.right)} ${Inspectable.format(openaiOk.right)}`).not.toContain(
          SECRET
        )
      }))

    it.scoped("the API key never appears in errors, even when the server echoes it", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        const echo = (request: FakeServer.RecordedRequest) => ({
          error: {
            message: `bad credentials: ${String(request.headers["authorization"])}`,
            code: "invalid_api_key"
          }
        })
        yield* server.enqueue(
          { _tag: "Error", status: 401, body: null, bodyOf: echo },
          reply.stream([sse.data({ error: { code: 500, message: `upstream saw ${SECRET}` } })]),
          reply.stream([sse.raw(`data: {"leak": "${SECRET}"\n\n`)])
        )
        const provider = yield* providerFor(server, { apiKey: Redacted.make(SECRET) })
        const errors = [
          yield* failureOf(provider),
          yield* failureOf(provider),
          yield* failureOf(provider)
        ]
        expect(errors.map((error) => error._tag)).toEqual([
          "LlmAuthenticationError",
          "LlmServerError",
          "LlmConnectionError"
        ])
        for (const error of errors) {
          const rendered = `${error.message} ${JSON.stringify(error)} ${String(error)}`
          expect(rendered).not.toContain(SECRET)
          expect(rendered).toContain("[redacted]")
        }
      }))
  })

  describe("retries through Retry.retryStream", () => {
    const retried = (provider: Service) =>
      Retry.retryStream(provider.stream(baseRequest("openai-compat/x")), { config: tinyRetries }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )

    it.scoped("retries 429, 503, 500 and a cut stream, then succeeds", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        const provider = yield* providerFor(server)
        yield* server.enqueue(
          reply.openAiError(429, "slow down", { headers: { "retry-after-ms": "1" } }),
          reply.openAiError(503, "busy"),
          reply.text(["recovered"])
        )
        const first = yield* retried(provider)
        expect(textOf(first)).toBe("recovered")
        expect(yield* server.requests).toHaveLength(3)

        yield* server.enqueue(
          reply.openAiError(500, "oops"),
          reply.stream([sse.text("lost "), sse.pause(20), sse.cut]),
          reply.text(["again"])
        )
        const second = yield* retried(provider)
        // The cut attempt's delta was already emitted; callers discard a failed attempt's output.
        expect(textOf(second)).toBe("lost again")
        expect(second.at(-1)).toEqual({ type: "finish", reason: "stop", model: "test-model" })
        expect(yield* server.requests).toHaveLength(6)
      }))

    it.scoped("gives up after maxRetries and never retries 400 or 401", () =>
      Effect.gen(function*() {
        const server = yield* FakeServer.make
        const provider = yield* providerFor(server)
        yield* server.enqueue(
          ...Array.from({ length: 3 }, () =>
            reply.openAiError(429, "slow down", { headers: { "retry-after": "0" } }))
        )
        expect(yield* Effect.flip(retried(provider))).toMatchObject({ _tag: "LlmRateLimited" })
        expect(yield* server.requests).toHaveLength(3)

        yield* server.enqueue(reply.openAiError(400, "bad"), reply.openAiError(401, "who are you"))
        expect(yield* Effect.flip(retried(provider))).toMatchObject({ _tag: "LlmInvalidRequest" })
        expect(yield* server.requests).toHaveLength(4)
        expect(yield* Effect.flip(retried(provider))).toMatchObject({ _tag: "LlmAuthenticationError" })
        expect(yield* server.requests).toHaveLength(5)
      }))
  })
})
