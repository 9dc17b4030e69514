/**
 * The Anthropic provider end to end: the real `@anthropic-ai/sdk` talking to a fake Messages API
 * on 127.0.0.1 (test/support/anthropicServer.ts), so request mapping, SSE parsing, error mapping,
 * cancellation and timeouts are exercised over real sockets.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Duration } from "effect"
import {
  Clock,
  ConfigProvider,
  Effect,
  Either,
  Fiber,
  Layer,
  Queue,
  Redacted,
  Schedule,
  Schema,
  Stream
} from "effect"
import { RetryConfig } from "../../src/Config.js"
import * as Anthropic from "../../src/llm/Anthropic.js"
import * as Retry from "../../src/llm/Retry.js"
import type { LlmEvent, LlmFailure, LlmRequest } from "../../src/LlmProvider.js"
import { collect, complete, LlmProvider } from "../../src/LlmProvider.js"
import type { ScriptedResponse, Step } from "../support/anthropicServer.js"
import * as Fake from "../support/anthropicServer.js"

const KEY = "sk-ant-test-0123456789abcdef"

const request: LlmRequest = {
  model: "anthropic/claude-test-1",
  system: [{ text: "You are terse." }],
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
  maxTokens: 256
}

const setup = (options: { readonly timeout?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const server = yield* Fake.start
    const provider = yield* Anthropic.make({ apiKey: Redacted.make(KEY), baseURL: server.url, ...options })
    return { server, provider }
  })

/** Runs a stream to its end, keeping every event seen before it finished or failed. */
const run = (stream: Stream.Stream<LlmEvent, LlmFailure>) =>
  Effect.gen(function*() {
    const events: Array<LlmEvent> = []
    const result = yield* stream.pipe(
      Stream.runForEach((event) => Effect.sync(() => events.push(event))),
      Effect.either
    )
    return { events, result }
  })

const failureOf = (stream: Stream.Stream<LlmEvent, LlmFailure>) => Effect.flip(collect("anthropic", stream))

const expectNoKey = (error: LlmFailure) => {
  expect(error.message).not.toContain(KEY)
  expect(String(error)).not.toContain(KEY)
  expect(JSON.stringify(error)).not.toContain(KEY)
}

/** The key as the SDK sent it (`x-api-key`, or a bearer token in newer API versions). */
const sentKey = (headers: Record<string, string | ReadonlyArray<string> | undefined> | undefined) => {
  const apiKey = headers?.["x-api-key"]
  if (typeof apiKey === "string") return apiKey
  const authorization = headers?.["authorization"]
  return typeof authorization === "string" ? authorization.replace(/^Bearer /, "") : undefined
}

const typesOf = (events: ReadonlyArray<LlmEvent>) => events.map((event) => event.type)

const textDeltas = (events: ReadonlyArray<LlmEvent>) =>
  events.flatMap((event) => event.type === "text_delta" ? [event.text] : [])

describe("Anthropic provider", () => {
  describe("streaming", () => {
    it.scoped("emits each text delta and collects text, usage with cache counts and the finish reason", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        const script: Fake.MessageScript = {
          blocks: [Fake.Block.text("Hel", "lo, ", "world")],
          usage: {
            input_tokens: 120,
            output_tokens: 9,
            cache_creation_input_tokens: 30,
            cache_read_input_tokens: 400
          }
        }
        server.enqueue(Fake.Reply.message(script), Fake.Reply.message(script))

        const { events, result } = yield* run(provider.stream(request))
        expect(Either.isRight(result)).toBe(true)
        expect(textDeltas(events)).toEqual(["Hel", "lo, ", "world"])
        // Exactly one usage event, right before the finish that ends the stream.
        expect(typesOf(events).filter((type) => type === "usage")).toHaveLength(1)
        expect(typesOf(events).slice(-2)).toEqual(["usage", "finish"])

        const response = yield* collect("anthropic", provider.stream(request))
        expect(response.text).toBe("Hello, world")
        expect(response.finishReason).toBe("stop")
        expect(response.toolCalls).toEqual([])
        expect({ ...response.usage }).toEqual({
          input: 120,
          output: 9,
          cacheRead: 400,
          cacheWrite: 30,
          total: 0
        })
      }))

    it.scopedLive("delivers the first delta while the server still holds back the rest", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        const gate = Fake.makeGate()
        const steps = Fake.messageSteps({ blocks: [Fake.Block.text("first", " second", " third")] })
        const afterFirstDelta = steps.findIndex((step) =>
          step.kind === "event" && step.event === "content_block_delta"
        )
        server.enqueue(
          Fake.Reply.stream([
            ...steps.slice(0, afterFirstDelta + 1),
            { kind: "gate", gate },
            ...steps.slice(afterFirstDelta + 1)
          ])
        )

        const received = yield* Queue.unbounded<LlmEvent>()
        const consumer = yield* provider.stream(request).pipe(
          Stream.runForEach((event) => Queue.offer(received, event)),
          Effect.fork
        )
        // The server sends nothing more until the gate opens, so seeing this delta proves it
        // was not buffered behind the rest of the response.
        const first = yield* Queue.take(received).pipe(
          Effect.timeoutFail({
            duration: "5 seconds",
            onTimeout: () => new Error("the first delta never arrived")
          })
        )
        expect(first).toEqual({ type: "text_delta", text: "first" })
        expect(yield* Queue.size(received)).toBe(0)

        gate.open()
        yield* Fiber.join(consumer)
        const rest = yield* Queue.takeAll(received)
        expect(textDeltas([...rest])).toEqual([" second", " third"])
        expect(typesOf([...rest]).at(-1)).toBe("finish")
      }))

    it.scoped("assembles a tool_use block from fragmented input_json_delta into one tool_call", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(Fake.Reply.message({
          blocks: [
            Fake.Block.text("Let me look."),
            Fake.Block.toolUse(
              "toolu_1",
              "read_file",
              "{\"pa",
              "th\": \"/tmp/a",
              ".txt\", \"lim",
              "it\": 20}"
            ),
            Fake.Block.toolUse("toolu_2", "list_files")
          ],
          stopReason: "tool_use"
        }))

        const { events, result } = yield* run(provider.stream(request))
        expect(Either.isRight(result)).toBe(true)
        const calls = events.filter((event) => event.type === "tool_call")
        expect(calls).toEqual([
          { type: "tool_call", id: "toolu_1", name: "read_file", input: { path: "/tmp/a.txt", limit: 20 } },
          { type: "tool_call", id: "toolu_2", name: "list_files", input: {} }
        ])
        expect(events.at(-1)).toEqual({ type: "finish", reason: "tool_calls", model: "claude-fake" })
      }))

    it.scoped("keeps malformed tool JSON as raw input with an inputError", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(Fake.Reply.message({
          blocks: [
            Fake.Block.toolUse("toolu_9", "write_file", "{\"path\": \"/tmp", "/a.txt\", \"content\": ")
          ],
          stopReason: "tool_use"
        }))

        const response = yield* collect("anthropic", provider.stream(request))
        expect(response.toolCalls).toHaveLength(1)
        const call = response.toolCalls[0]
        expect(call?.input).toBe("{\"path\": \"/tmp/a.txt\", \"content\": ")
        expect(call?.inputError).toEqual(expect.any(String))
        expect(call?.inputError?.length).toBeGreaterThan(0)
      }))

    it.scoped("streams thinking as reasoning deltas and the signature as its own delta", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(Fake.Reply.message({
          blocks: [Fake.Block.thinking("sig-abc", "Let me ", "think."), Fake.Block.text("Answer")]
        }))

        const { events } = yield* run(provider.stream(request))
        expect(events.filter((event) => event.type === "reasoning_delta")).toEqual([
          { type: "reasoning_delta", text: "Let me " },
          { type: "reasoning_delta", text: "think." },
          { type: "reasoning_delta", text: "", signature: "sig-abc" }
        ])
        expect(textDeltas(events)).toEqual(["Answer"])
      }))

    it.scoped("maps every stop_reason to a finish reason", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        const cases = [
          ["end_turn", "stop"],
          ["max_tokens", "max_tokens"],
          ["stop_sequence", "stop_sequence"],
          ["refusal", "content_filter"],
          ["pause_turn", "other"]
        ] as const
        for (const [stopReason] of cases) {
          server.enqueue(Fake.Reply.message({ blocks: [Fake.Block.text("x")], stopReason }))
        }
        const reasons = yield* Effect.forEach(
          cases,
          () =>
            Effect.map(collect("anthropic", provider.stream(request)), (response) => response.finishReason)
        )
        expect(reasons).toEqual(cases.map(([, reason]) => reason))
      }))
  })

  describe("request mapping", () => {
    it.scoped("sends system cache_control, tools, history blocks, stop sequences and the bare model name", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(Fake.Reply.message({ blocks: [Fake.Block.text("ok")] }))

        yield* collect(
          "anthropic",
          provider.stream({
            model: "anthropic/claude-mapping-test",
            system: [{ text: "You are mnesis.", cache: true }, { text: "Be brief." }],
            messages: [
              { role: "user", content: [{ type: "text", text: "Read a.txt", cache: true }] },
              {
                role: "assistant",
                content: [
                  { type: "reasoning", text: "I should read it.", signature: "sig-1" },
                  { type: "reasoning", text: "unsigned thoughts from another provider" },
                  { type: "text", text: "Reading." },
                  { type: "tool_use", id: "toolu_1", name: "read_file", input: { path: "a.txt" } }
                ]
              },
              {
                role: "user",
                content: [
                  {
                    type: "tool_result",
                    toolUseId: "toolu_1",
                    content: "no such file",
                    isError: true,
                    cache: true
                  },
                  { type: "text", text: "Try again" }
                ]
              }
            ],
            tools: [{
              name: "read_file",
              description: "Reads a file",
              inputSchema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] }
            }],
            maxTokens: 1024,
            temperature: 0.2,
            stop: ["END", "STOP"]
          })
        )

        const [sent] = server.requests()
        expect(server.requests()).toHaveLength(1)
        expect(sent?.method).toBe("POST")
        expect(sent?.path).toBe("/v1/messages")
        expect(sentKey(sent?.headers)).toBe(KEY)
        expect(sent?.headers["anthropic-version"]).toEqual(expect.any(String))
        expect(sent?.body).toEqual({
          model: "claude-mapping-test",
          max_tokens: 1024,
          stream: true,
          temperature: 0.2,
          stop_sequences: ["END", "STOP"],
          system: [
            { type: "text", text: "You are mnesis.", cache_control: { type: "ephemeral" } },
            { type: "text", text: "Be brief." }
          ],
          tools: [{
            name: "read_file",
            description: "Reads a file",
            input_schema: { type: "object", properties: { path: { type: "string" } }, required: ["path"] }
          }],
          messages: [
            {
              role: "user",
              content: [{ type: "text", text: "Read a.txt", cache_control: { type: "ephemeral" } }]
            },
            {
              role: "assistant",
              content: [
                { type: "thinking", thinking: "I should read it.", signature: "sig-1" },
                { type: "text", text: "Reading." },
                { type: "tool_use", id: "toolu_1", name: "read_file", input: { path: "a.txt" } }
              ]
            },
            {
              role: "user",
              content: [
                {
                  type: "tool_result",
                  tool_use_id: "toolu_1",
                  content: "no such file",
                  is_error: true,
                  cache_control: { type: "ephemeral" }
                },
                { type: "text", text: "Try again" }
              ]
            }
          ]
        })
      }))

    it("leaves out empty optional fields and wraps a non-object tool input", () => {
      const params = Anthropic.toParams({
        model: "claude-bare",
        system: [],
        messages: [{
          role: "assistant",
          content: [{ type: "tool_use", id: "t", name: "n", input: "{broken" }]
        }],
        maxTokens: 10,
        stop: []
      })
      expect(params).toEqual({
        model: "claude-bare",
        max_tokens: 10,
        stream: true,
        messages: [{
          role: "assistant",
          content: [{ type: "tool_use", id: "t", name: "n", input: { invalid_input: "{broken" } }]
        }]
      })
    })
  })

  describe("errors", () => {
    const inStream = (type: string, message: string): ScriptedResponse =>
      Fake.Reply.stream([...Fake.messageSteps({ blocks: [] }).slice(0, 2), Fake.errorEvent(type, message)])

    const cases: ReadonlyArray<{
      readonly name: string
      readonly reply: ScriptedResponse
      readonly expected: Record<string, unknown>
    }> = [
      {
        name: "400 → LlmInvalidRequest",
        reply: Fake.Reply.error(400, "invalid_request_error", "messages.0: field required"),
        expected: { _tag: "LlmInvalidRequest", status: 400 }
      },
      {
        name: "400 prompt is too long → LlmContextTooLong",
        reply: Fake.Reply.error(
          400,
          "invalid_request_error",
          "prompt is too long: 250000 tokens > 200000 maximum"
        ),
        expected: { _tag: "LlmContextTooLong" }
      },
      {
        name: "401 → LlmAuthenticationError",
        reply: Fake.Reply.error(401, "authentication_error", "invalid x-api-key"),
        expected: { _tag: "LlmAuthenticationError" }
      },
      {
        name: "403 → LlmAuthenticationError",
        reply: Fake.Reply.error(403, "permission_error", "this key cannot use this model"),
        expected: { _tag: "LlmAuthenticationError" }
      },
      {
        name: "404 → LlmInvalidRequest",
        reply: Fake.Reply.error(404, "not_found_error", "model: claude-test-1"),
        expected: { _tag: "LlmInvalidRequest", status: 404 }
      },
      {
        name: "413 → LlmContextTooLong",
        reply: Fake.Reply.error(
          413,
          "request_too_large",
          "Request exceeds the maximum allowed number of bytes"
        ),
        expected: { _tag: "LlmContextTooLong" }
      },
      {
        name: "429 with retry-after seconds → LlmRateLimited",
        reply: Fake.Reply.error(429, "rate_limit_error", "slow down", { "retry-after": "7" }),
        expected: { _tag: "LlmRateLimited", retryAfterMs: 7000 }
      },
      {
        name: "429 with retry-after-ms → LlmRateLimited",
        reply: Fake.Reply.error(429, "rate_limit_error", "slow down", {
          "retry-after-ms": "1500",
          "retry-after": "2"
        }),
        expected: { _tag: "LlmRateLimited", retryAfterMs: 1500 }
      },
      {
        name: "500 → LlmServerError",
        reply: Fake.Reply.error(500, "api_error", "Internal server error"),
        expected: { _tag: "LlmServerError", status: 500 }
      },
      {
        name: "529 → LlmOverloaded",
        reply: Fake.Reply.error(529, "overloaded_error", "Overloaded"),
        expected: { _tag: "LlmOverloaded" }
      },
      {
        name: "in-stream overloaded_error → LlmOverloaded",
        reply: inStream("overloaded_error", "Overloaded"),
        expected: { _tag: "LlmOverloaded" }
      },
      {
        name: "in-stream api_error → LlmServerError",
        reply: inStream("api_error", "Internal server error"),
        expected: { _tag: "LlmServerError", status: 500 }
      }
    ]

    for (const { expected, name, reply } of cases) {
      it.scoped(name, () =>
        Effect.gen(function*() {
          const { provider, server } = yield* setup()
          server.enqueue(reply)
          const error = yield* failureOf(provider.stream(request))
          expect(error).toMatchObject({ provider: "anthropic", ...expected })
          expectNoKey(error)
          // The SDK's own retries are off: one request per call.
          expect(server.requests()).toHaveLength(1)
        }))
    }

    it.scopedLive("parses retry-after given as an HTTP date", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        const now = yield* Clock.currentTimeMillis
        const date = new Date(now + 30_000).toUTCString()
        server.enqueue(Fake.Reply.error(429, "rate_limit_error", "slow down", { "retry-after": date }))
        const error = yield* failureOf(provider.stream(request))
        expect(error._tag).toBe("LlmRateLimited")
        const retryAfterMs = error._tag === "LlmRateLimited" ? error.retryAfterMs : undefined
        // HTTP dates have whole seconds.
        expect(retryAfterMs).toBeGreaterThan(25_000)
        expect(retryAfterMs).toBeLessThanOrEqual(30_000)
      }))

    it.scoped("scrubs the API key from error details even when the server echoes it", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(Fake.Reply.error(401, "authentication_error", `invalid x-api-key: ${KEY}`))
        const error = yield* failureOf(provider.stream(request))
        expect(error._tag).toBe("LlmAuthenticationError")
        expect(error.message).toContain("[redacted]")
        expectNoKey(error)
      }))

    it.scoped("fails with LlmConnectionError, and never finishes, when the connection drops mid-message", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        // message_start, ping, content_block_start, the first text delta, ping — then the cut.
        server.enqueue(Fake.Reply.cutAfter({ blocks: [Fake.Block.text("Hel", "lo")] }, 5))
        const { events, result } = yield* run(provider.stream(request))
        expect(textDeltas(events)).toEqual(["Hel"])
        expect(typesOf(events)).not.toContain("finish")
        expect(typesOf(events)).not.toContain("usage")
        const error = Either.getLeft(result)
        expect(error._tag === "Some" ? error.value._tag : "no error").toBe("LlmConnectionError")
      }))

    it.scoped("treats a stream that ends before message_stop as cut, not as a short answer", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        const steps = Fake.messageSteps({ blocks: [Fake.Block.text("almost")] })
        const withoutStop: Array<Step> = [...steps.slice(0, -1), { kind: "end" }]
        server.enqueue(Fake.Reply.stream(withoutStop))
        const { events, result } = yield* run(provider.stream(request))
        expect(textDeltas(events)).toEqual(["almost"])
        expect(typesOf(events)).not.toContain("finish")
        expect(Either.isLeft(result) && result.left._tag).toBe("LlmConnectionError")
      }))

    it.scoped("rejects an event it cannot read with a retryable LlmConnectionError", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        const steps = Fake.messageSteps({ blocks: [Fake.Block.text("x")] })
        server.enqueue(Fake.Reply.stream([
          ...steps.slice(0, 2),
          {
            kind: "event",
            event: "content_block_start",
            data: {
              type: "content_block_start",
              index: 0,
              content_block: { type: "tool_use", name: "no id" }
            }
          },
          ...steps.slice(3)
        ]))
        const error = yield* failureOf(provider.stream(request))
        expect(error._tag).toBe("LlmConnectionError")
        expect(error.message).toContain("could not read")
      }))

    it.scopedLive("times out with LlmTimeout when the server is slow to answer", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup({ timeout: "200 millis" })
        server.enqueue(Fake.Reply.message({ blocks: [Fake.Block.text("late")] }, { headersDelayMs: 10_000 }))
        const started = yield* Clock.currentTimeMillis
        const error = yield* failureOf(provider.stream(request))
        const elapsed = (yield* Clock.currentTimeMillis) - started
        expect(error._tag).toBe("LlmTimeout")
        expect(elapsed).toBeLessThan(3_000)
        expectNoKey(error)
      }))

    it.scopedLive("times out with LlmTimeout when a started stream stalls", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup({ timeout: "300 millis" })
        const steps = Fake.messageSteps({ blocks: [Fake.Block.text("Hel", "lo")] })
        server.enqueue(
          Fake.Reply.stream([...steps.slice(0, 5), { kind: "delay", ms: 10_000 }, ...steps.slice(5)])
        )
        const { events, result } = yield* run(provider.stream(request))
        expect(textDeltas(events)).toEqual(["Hel"])
        expect(Either.isLeft(result) && result.left._tag).toBe("LlmTimeout")
      }))

    it.scopedLive("interrupting the consumer aborts the HTTP request", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        const gate = Fake.makeGate() // never opened: the server would hold the rest forever
        const steps = Fake.messageSteps({ blocks: [Fake.Block.text("first", " never")] })
        server.enqueue(Fake.Reply.stream([...steps.slice(0, 4), { kind: "gate", gate }, ...steps.slice(4)]))

        const received = yield* Queue.unbounded<LlmEvent>()
        const consumer = yield* provider.stream(request).pipe(
          Stream.runForEach((event) => Queue.offer(received, event)),
          Effect.fork
        )
        const first = yield* Queue.take(received).pipe(
          Effect.timeoutFail({
            duration: "5 seconds",
            onTimeout: () => new Error("the first delta never arrived")
          })
        )
        expect(first).toEqual({ type: "text_delta", text: "first" })

        yield* Fiber.interrupt(consumer)
        const closed = yield* server.closed(0).pipe(
          Effect.timeoutFail({
            duration: "5 seconds",
            onTimeout: () => new Error("the server never saw the close")
          })
        )
        expect(closed.endedByServer).toBe(false)
      }))
    it.scopedLive("interrupting while the server has not answered yet aborts the HTTP request too", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(Fake.Reply.message({ blocks: [Fake.Block.text("late")] }, { headersDelayMs: 10_000 }))
        const consumer = yield* provider.stream(request).pipe(Stream.runDrain, Effect.fork)
        // Wait until the request reached the server, then give up on it.
        yield* Effect.sync(() => server.requests().length).pipe(
          Effect.repeat({ until: (count) => count > 0, schedule: Schedule.spaced("10 millis") }),
          Effect.timeoutFail({
            duration: "5 seconds",
            onTimeout: () => new Error("the request never arrived")
          })
        )
        yield* Fiber.interrupt(consumer)
        const closed = yield* server.closed(0).pipe(
          Effect.timeoutFail({
            duration: "5 seconds",
            onTimeout: () => new Error("the server never saw the close")
          })
        )
        expect(closed.endedByServer).toBe(false)
      }))
  })

  describe("configuration", () => {
    const fromEnv = (entries: ReadonlyArray<readonly [string, string]>) =>
      Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries)))

    it.scoped("without ANTHROPIC_API_KEY the layer builds and calls fail with a ConfigError naming it", () =>
      Effect.gen(function*() {
        const server = yield* Fake.start
        const provider = yield* LlmProvider.pipe(
          Effect.provide(
            Anthropic.layerConfig.pipe(Layer.provide(fromEnv([["ANTHROPIC_BASE_URL", server.url]])))
          )
        )
        const error = yield* failureOf(provider.stream(request))
        expect(error).toMatchObject({ _tag: "ConfigError", path: "ANTHROPIC_API_KEY" })
        expect(error.message).toContain("ANTHROPIC_API_KEY")
        expect(error.message).toContain("MNESIS_MOCK_LLM")
        expect(server.requests()).toHaveLength(0)
      }))

    it.scoped("an empty ANTHROPIC_API_KEY counts as missing", () =>
      Effect.gen(function*() {
        const provider = yield* Anthropic.makeConfig().pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ANTHROPIC_API_KEY", " "]])))
        )
        const error = yield* failureOf(provider.stream(request))
        expect(error).toMatchObject({ _tag: "ConfigError", path: "ANTHROPIC_API_KEY" })
      }))

    it.scoped("layerConfig reads the key and the base URL from the environment", () =>
      Effect.gen(function*() {
        const server = yield* Fake.start
        server.enqueue(Fake.Reply.message({ blocks: [Fake.Block.text("configured")] }))
        const response = yield* complete(request).pipe(
          Effect.provide(
            Anthropic.layerConfig.pipe(
              Layer.provide(fromEnv([["ANTHROPIC_API_KEY", KEY], ["ANTHROPIC_BASE_URL", server.url]]))
            )
          )
        )
        expect(response.text).toBe("configured")
        expect(sentKey(server.requests()[0]?.headers)).toBe(KEY)
      }))
  })

  describe("with Retry", () => {
    const config = Schema.decodeSync(RetryConfig)({
      maxRetries: 2,
      baseDelay: 1,
      maxDelay: 20,
      jitter: false
    })
    const ok = Fake.Reply.message({ blocks: [Fake.Block.text("recovered")] })

    it.scopedLive("retries 429 (honouring retry-after-ms) and 529, then succeeds", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(
          Fake.Reply.error(429, "rate_limit_error", "slow down", { "retry-after-ms": "5" }),
          Fake.Reply.error(529, "overloaded_error", "Overloaded"),
          ok
        )
        const retries: Array<Retry.RetryInfo> = []
        const response = yield* collect(
          "anthropic",
          Retry.retryStream(provider.stream(request), {
            config,
            onRetry: (info) => Effect.sync(() => retries.push(info))
          })
        )
        expect(response.text).toBe("recovered")
        expect(server.requests()).toHaveLength(3)
        expect(retries.map((info) => [info.attempt, info.error._tag])).toEqual([
          [1, "LlmRateLimited"],
          [2, "LlmOverloaded"]
        ])
      }))

    it.scopedLive("retries a 500 and a cut stream, then succeeds", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(
          Fake.Reply.error(500, "api_error", "Internal server error"),
          Fake.Reply.cutAfter({ blocks: [Fake.Block.text("Hel", "lo")] }, 5),
          ok
        )
        const response = yield* Retry.retry(collect("anthropic", provider.stream(request)), { config })
        expect(response.text).toBe("recovered")
        expect(server.requests()).toHaveLength(3)
      }))

    it.scopedLive("retries an in-stream overloaded error", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        server.enqueue(
          Fake.Reply.stream([
            ...Fake.messageSteps({ blocks: [] }).slice(0, 2),
            Fake.errorEvent("overloaded_error", "x")
          ]),
          ok
        )
        const response = yield* Retry.retry(collect("anthropic", provider.stream(request)), { config })
        expect(response.text).toBe("recovered")
        expect(server.requests()).toHaveLength(2)
      }))

    it.scopedLive("gives up after maxRetries", () =>
      Effect.gen(function*() {
        const { provider, server } = yield* setup()
        const overloaded = Fake.Reply.error(529, "overloaded_error", "Overloaded")
        server.enqueue(overloaded, overloaded, overloaded, ok)
        const error = yield* Effect.flip(
          Retry.retry(collect("anthropic", provider.stream(request)), { config })
        )
        expect(error._tag).toBe("LlmOverloaded")
        expect(server.requests()).toHaveLength(3)
      }))

    const permanent = [
      [400, "invalid_request_error", "LlmInvalidRequest"],
      [401, "authentication_error", "LlmAuthenticationError"],
      [413, "request_too_large", "LlmContextTooLong"]
    ] as const
    for (const [status, type, tag] of permanent) {
      it.scopedLive(`does not retry ${status}`, () =>
        Effect.gen(function*() {
          const { provider, server } = yield* setup()
          server.enqueue(Fake.Reply.error(status, type, "no"), ok)
          const error = yield* Effect.flip(
            collect("anthropic", Retry.retryStream(provider.stream(request), { config }))
          )
          expect(error._tag).toBe(tag)
          expect(server.requests()).toHaveLength(1)
        }))
    }
  })
})
