/**
 * `MockLlm`: a deterministic model for tests, examples and `MNESIS_MOCK_LLM=1`.
 *
 * - Replies are derived from the request (same request → same reply) unless a test scripts them;
 *   a request for structured output gets a JSON value of its schema.
 * - Usage is counted with the real tokenizer, so budgets and compaction behave as with a model.
 * - Replies stream in several deltas, with an optional latency per delta (driven by `Clock`, so
 *   `TestClock` controls it).
 * - Scripts queue replies, tool calls, malformed tool calls, typed failures and cut streams.
 * - mnesis's own summarisation requests (recognised by the `<transcript>` the summariser sends,
 *   see {@link summaryRequestOf}) get a real extractive summary of that transcript, always
 *   shorter than it; tests may script those too.
 *
 * @since 0.1.0
 */
import { Chunk, Context, Duration, Effect, Layer, Option, Ref, Stream } from "effect"
import { extract } from "../compaction/Extract.js"
import type { FinishReason, TokenUsageFields } from "../Domain.js"
import { TokenUsage } from "../Domain.js"
import type { LlmError } from "../Errors.js"
import { LlmConnectionError } from "../Errors.js"
import type { LlmEvent, LlmFailure, LlmRequest, Service } from "../LlmProvider.js"
import { LlmProvider } from "../LlmProvider.js"
import { countTokens } from "../Tokenizer.js"
import { sampleOf } from "./mockJson.js"

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

interface Timed {
  /** Wait before the first event (e.g. to trip a timeout). */
  readonly latency?: Duration.DurationInput | undefined
}

export type MockReply =
  | Timed & {
    readonly _tag: "Text"
    readonly text: string
    readonly reasoning?: string | undefined
    readonly finishReason?: FinishReason | undefined
    readonly usage?: Partial<TokenUsageFields> | undefined
  }
  | Timed & {
    readonly _tag: "ToolCalls"
    readonly calls: ReadonlyArray<
      { readonly name: string; readonly input: unknown; readonly id?: string | undefined }
    >
    readonly text?: string | undefined
  }
  | Timed & {
    readonly _tag: "Malformed"
    readonly name: string
    readonly rawInput: string
    readonly id?: string
  }
  | Timed & { readonly _tag: "Fail"; readonly error: LlmError }
  | Timed & { readonly _tag: "Cut"; readonly text: string }

/** A scripted reply, or a function of the request that returns one. */
export type MockStep = MockReply | ((request: LlmRequest) => MockReply)

/** Constructors for scripted replies. */
export const Reply = {
  text: (
    text: string,
    extra: Omit<Extract<MockReply, { _tag: "Text" }>, "_tag" | "text"> = {}
  ): MockReply => ({
    _tag: "Text",
    text,
    ...extra
  }),
  toolCalls: (
    calls: Extract<MockReply, { _tag: "ToolCalls" }>["calls"],
    extra: { readonly text?: string; readonly latency?: Duration.DurationInput } = {}
  ): MockReply => ({ _tag: "ToolCalls", calls, ...extra }),
  malformed: (name: string, rawInput: string): MockReply => ({ _tag: "Malformed", name, rawInput }),
  fail: (error: LlmError, latency?: Duration.DurationInput): MockReply => ({ _tag: "Fail", error, latency }),
  cut: (text: string): MockReply => ({ _tag: "Cut", text })
} as const

export interface MockOptions {
  /** Replies to turn requests, in order; when empty, replies are derived from the request. */
  readonly script?: ReadonlyArray<MockStep> | undefined
  /** Replies to summarisation requests, in order; when empty, extractive summaries. */
  readonly summaries?: ReadonlyArray<MockStep> | undefined
  /** Pause before each delta. */
  readonly deltaLatency?: Duration.DurationInput | undefined
  /** How many deltas a reply is split into (default 4). */
  readonly deltas?: number | undefined
  /**
   * Keep every request for `MockLlmControl.requests` (default true). Off for the mock behind
   * `MNESIS_MOCK_LLM=1`, where a long demo would otherwise hold every prompt in memory.
   */
  readonly keepRequests?: boolean | undefined
}

/**
 * Lets a test script the mock and read what it was sent.
 *
 * @since 0.1.0
 */
export interface Control {
  readonly enqueue: (...steps: ReadonlyArray<MockStep>) => Effect.Effect<void>
  readonly enqueueSummaries: (...steps: ReadonlyArray<MockStep>) => Effect.Effect<void>
  /** Every request received, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<LlmRequest>>
}

export class MockLlmControl extends Context.Tag("mnesis/MockLlmControl")<MockLlmControl, Control>() {}

// ---------------------------------------------------------------------------------------------
// Default behaviour
// ---------------------------------------------------------------------------------------------

/** Everything a request carries, as text, for counting its input tokens. */
export const requestText = (request: LlmRequest): string => {
  const parts: Array<string> = request.system.map((block) => block.text)
  for (const message of request.messages) {
    for (const block of message.content) {
      switch (block.type) {
        case "text":
        case "reasoning":
          parts.push(block.text)
          break
        case "tool_use":
          parts.push(`${block.name} ${JSON.stringify(block.input)}`)
          break
        case "tool_result":
          parts.push(block.content)
          break
      }
    }
  }
  return parts.join("\n")
}

const lastUserText = (request: LlmRequest): string => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!
    if (message.role !== "user") continue
    const texts = message.content.flatMap((block) => block.type === "text" ? [block.text] : [])
    if (texts.length > 0) return texts[texts.length - 1]!
  }
  return ""
}

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`
}

/** The reply to a turn nobody scripted: echoes the last user text and describes the context. */
export const defaultReply = (request: LlmRequest): string => {
  const summaries = request.messages.reduce(
    (n, message) =>
      n +
      message.content.filter((block) => block.type === "text" && block.text.startsWith("<summary ")).length,
    0
  )
  const context = `I can see ${request.messages.length} message${request.messages.length === 1 ? "" : "s"}` +
    (summaries > 0 ? ` and ${summaries} summar${summaries === 1 ? "y" : "ies"}` : "") + " in my context."
  return `[mock reply] You said: "${oneLine(lastUserText(request), 160)}". ${context}`
}

/** An extractive summary of the transcript, at most about a third (level 1) or a fifth (level 2) of it. */
export const defaultSummary = (request: LlmRequest, transcript: string, level: 1 | 2): string => {
  const inputTokens = countTokens(transcript)
  const share = level === 1 ? 0.35 : 0.2
  const maxTokens = Math.max(8, Math.min(request.maxTokens, Math.floor(inputTokens * share)))
  return extract(transcript, { maxTokens, countTokens, header: `Summary (level ${level}):` })
}

/**
 * What a summarisation request asks for.
 *
 * @since 0.1.0
 */
export interface SummaryRequest {
  /** The text to summarise, exactly as the request carries it. */
  readonly transcript: string
  /** 1 detailed, 2 terse. */
  readonly level: 1 | 2
}

/** The summariser's one user message: the span inside `<transcript>` tags, then the instruction. */
const TRANSCRIPT = /^<transcript>\n([\s\S]*)\n<\/transcript>\n\nWrite the summary now\.$/

/**
 * Recognises one of mnesis's own summarisation requests from what it carries: a single user
 * message holding the span inside `<transcript>` tags, as the compactor writes it. Its level is
 * read from the instructions (level 2 asks for a terse note); a custom `compactionPrompt` that
 * does not say so reads as level 1.
 *
 * @since 0.1.0
 */
export const summaryRequestOf = (request: LlmRequest): Option.Option<SummaryRequest> => {
  if (request.messages.length !== 1 || request.tools !== undefined && request.tools.length > 0) {
    return Option.none()
  }
  const [message] = request.messages
  const [block] = message?.content ?? []
  if (message?.role !== "user" || message.content.length !== 1 || block?.type !== "text") return Option.none()
  const match = TRANSCRIPT.exec(block.text)
  if (match === null) return Option.none()
  const terse = request.system.some((part) => /\bterse\b/i.test(part.text))
  return Option.some({ transcript: match[1]!, level: terse ? 2 : 1 })
}

/** True for mnesis's own summarisation requests (see {@link summaryRequestOf}). */
export const isSummaryRequest = (request: LlmRequest): boolean => Option.isSome(summaryRequestOf(request))

/** Splits text into `n` deltas at word boundaries (their concatenation is the text). */
export const splitDeltas = (text: string, n: number): Array<string> => {
  if (text === "" || n <= 1) return text === "" ? [] : [text]
  const words = text.match(/\s*\S+/g) ?? [text]
  const size = Math.ceil(words.length / n)
  const out: Array<string> = []
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(""))
  const tail = text.slice(out.join("").length)
  if (tail !== "" && out.length > 0) out[out.length - 1] += tail
  return out
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

const PROVIDER = "mock"

// Requests re-send the same (cached) blocks turn after turn: count each block once.
const blockCounts = new WeakMap<object, number>()
const countBlock = (block: object, text: () => string): number => {
  const known = blockCounts.get(block)
  if (known !== undefined) return known
  const n = countTokens(text())
  blockCounts.set(block, n)
  return n
}

/** Input tokens of a request: what `requestText` would count, block by block. */
const inputTokens = (request: LlmRequest): number => {
  let total = 0
  for (const block of request.system) total += countBlock(block, () => block.text)
  for (const message of request.messages) {
    for (const block of message.content) {
      total += countBlock(
        block,
        () => requestText({ ...request, system: [], messages: [{ role: message.role, content: [block] }] })
      )
    }
  }
  return total
}

const usageFor = (request: LlmRequest, output: string, override?: Partial<TokenUsageFields>): TokenUsage =>
  TokenUsage.of({ input: inputTokens(request), output: countTokens(output), ...override })

/** The streams, one after the other. */
const sequence = (
  ...streams: ReadonlyArray<Stream.Stream<LlmEvent, LlmFailure>>
): Stream.Stream<LlmEvent, LlmFailure> =>
  streams.reduce((all, next) => Stream.concat(all, next), Stream.empty as Stream.Stream<LlmEvent, LlmFailure>)

/** Turns one resolved reply into the event stream a provider would produce. */
const eventsOf = (
  request: LlmRequest,
  reply: MockReply,
  options: { readonly deltas: number; readonly deltaLatency: Duration.Duration; readonly callIndex: number }
): Stream.Stream<LlmEvent, LlmFailure> => {
  const pause = Duration.isZero(options.deltaLatency) ? Effect.void : Effect.sleep(options.deltaLatency)
  const textEvents = (text: string) =>
    Stream.fromIterable(splitDeltas(text, options.deltas)).pipe(
      Stream.mapEffect((delta) => Effect.as(pause, { type: "text_delta", text: delta } satisfies LlmEvent))
    )
  const wait = reply.latency === undefined ?
    Stream.empty :
    Stream.fromEffect(Effect.sleep(reply.latency)).pipe(
      Stream.drain
    )
  const finish = (output: string, reason: FinishReason, override?: Partial<TokenUsageFields>) =>
    Stream.make<Array<LlmEvent>>(
      { type: "usage", usage: usageFor(request, output, override) },
      { type: "finish", reason }
    )
  switch (reply._tag) {
    case "Text": {
      const reasoning = reply.reasoning === undefined
        ? Stream.empty
        : Stream.make<Array<LlmEvent>>({
          type: "reasoning_delta",
          text: reply.reasoning,
          signature: "mock-signature"
        })
      return sequence(
        wait,
        reasoning,
        textEvents(reply.text),
        finish(reply.text, reply.finishReason ?? "stop", reply.usage)
      )
    }
    case "ToolCalls": {
      const calls = reply.calls.map((call, i): LlmEvent => ({
        type: "tool_call",
        id: call.id ?? `toolu_mock_${options.callIndex}_${i}`,
        name: call.name,
        input: call.input
      }))
      const described = `${reply.text ?? ""}${JSON.stringify(reply.calls)}`
      return sequence(
        wait,
        textEvents(reply.text ?? ""),
        Stream.fromIterable(calls),
        finish(described, "tool_calls")
      )
    }
    case "Malformed":
      return sequence(
        wait,
        Stream.make<Array<LlmEvent>>({
          type: "tool_call",
          id: reply.id ?? `toolu_mock_${options.callIndex}_0`,
          name: reply.name,
          input: reply.rawInput,
          inputError: "the tool input is not valid JSON"
        }),
        finish(reply.rawInput, "tool_calls")
      )
    case "Fail":
      return Stream.concat(wait, Stream.fail(reply.error))
    case "Cut":
      return sequence(
        wait,
        textEvents(reply.text),
        Stream.fail(
          new LlmConnectionError({
            provider: PROVIDER,
            detail: "the stream was cut before the message ended"
          })
        )
      )
  }
}

/**
 * Builds a mock provider and its control.
 *
 * @since 0.1.0
 */
export const make = (
  options: MockOptions = {}
): Effect.Effect<{ readonly provider: Service; readonly control: Control }> =>
  Effect.gen(function*() {
    const turns = yield* Ref.make<ReadonlyArray<MockStep>>(options.script ?? [])
    const summaries = yield* Ref.make<ReadonlyArray<MockStep>>(options.summaries ?? [])
    const received = yield* Ref.make(Chunk.empty<LlmRequest>())
    const calls = yield* Ref.make(0)
    const keep = options.keepRequests ?? true
    const deltaLatency = Duration.decode(options.deltaLatency ?? 0)
    const deltas = Math.max(1, options.deltas ?? 4)

    const take = (queue: Ref.Ref<ReadonlyArray<MockStep>>) =>
      Ref.modify(queue, (steps): [Option.Option<MockStep>, ReadonlyArray<MockStep>] =>
        steps.length === 0 ? [Option.none(), steps] : [Option.some(steps[0]!), steps.slice(1)])

    const resolve = (request: LlmRequest): Effect.Effect<MockReply> =>
      Effect.gen(function*() {
        const summary = summaryRequestOf(request)
        const scripted = yield* take(Option.isSome(summary) ? summaries : turns)
        if (Option.isSome(scripted)) {
          const step = scripted.value
          return typeof step === "function" ? step(request) : step
        }
        return Option.match(summary, {
          onNone: () =>
            request.output === undefined
              ? Reply.text(defaultReply(request))
              // Structured output: a value of the requested schema, so callers that validate pass.
              : Reply.text(JSON.stringify(sampleOf(request.output.schema, lastUserText(request)))),
          onSome: ({ level, transcript }) =>
            Reply.text(defaultSummary(request, transcript, level))
        })
      })

    const provider: Service = {
      stream: (request) =>
        Stream.unwrap(Effect.gen(function*() {
          const callIndex = yield* Ref.getAndUpdate(calls, (n) =>
            n + 1)
          if (keep) {
            yield* Ref.update(received, Chunk.append(request))
          }
          const reply = yield* resolve(request)
          return eventsOf(request, reply, { deltas, deltaLatency, callIndex })
        })).pipe(Stream.withSpan("MockLlm.stream", { captureStackTrace: false }))
    }
    const control: Control = {
      enqueue: (...steps) => Ref.update(turns, (queue) => [...queue, ...steps]),
      enqueueSummaries: (...steps) => Ref.update(summaries, (queue) => [...queue, ...steps]),
      requests: Effect.map(Ref.get(received), Chunk.toReadonlyArray)
    }
    return { provider, control }
  })

/**
 * The mock as the `LlmProvider`, with its `MockLlmControl`.
 *
 * @since 0.1.0
 */
export const layer = (options: MockOptions = {}): Layer.Layer<LlmProvider | MockLlmControl> =>
  Layer.effectContext(
    Effect.map(
      make(options),
      ({ control, provider }) =>
        Context.make(LlmProvider, provider).pipe(Context.add(MockLlmControl, control))
    )
  )
