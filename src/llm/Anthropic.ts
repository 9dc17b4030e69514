/**
 * The Anthropic provider: a provider-neutral {@link LlmRequest} sent through the official
 * `@anthropic-ai/sdk` as a streaming Messages API call, its server-sent events turned into live
 * {@link LlmEvent}s, and every SDK failure mapped once, here, to mnesis's tagged provider errors.
 *
 * Retries belong to `llm/Retry.ts`, so the SDK's own retries are switched off. The API key is a
 * `Redacted` value: it is handed to the SDK and nowhere else, and scrubbed from every error text.
 *
 * @since 0.1.0
 */
import {
  Anthropic,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError
} from "@anthropic-ai/sdk"
import type {
  ContentBlockParam,
  MessageCreateParamsStreaming,
  MessageParam,
  TextBlockParam,
  Tool
} from "@anthropic-ai/sdk/resources/messages"
import {
  Chunk,
  Clock,
  Config,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  ParseResult,
  Redacted,
  Schema,
  Stream
} from "effect"
import type { FinishReason } from "../Domain.js"
import { TokenUsage } from "../Domain.js"
import type { LlmError } from "../Errors.js"
import {
  ConfigError,
  LlmAuthenticationError,
  LlmConnectionError,
  LlmContextTooLong,
  LlmInvalidRequest,
  LlmOverloaded,
  LlmRateLimited,
  LlmServerError,
  LlmTimeout
} from "../Errors.js"
import type {
  ContentBlock,
  LlmEvent,
  LlmFailure,
  LlmMessage,
  LlmRequest,
  Service,
  ToolCall
} from "../LlmProvider.js"
import { LlmProvider, modelNameOf } from "../LlmProvider.js"

const PROVIDER = "anthropic"
const DEFAULT_BASE_URL = "https://api.anthropic.com"
const DEFAULT_TIMEOUT: Duration.Duration = Duration.minutes(10)
/** The largest delay a Node timer can hold; longer timeouts are clamped to it. */
const MAX_TIMER_MS = 2 ** 31 - 1

// ---------------------------------------------------------------------------------------------
// Options and constructors
// ---------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface AnthropicOptions {
  /** Handed to the SDK, which sends it with each request; never logged, scrubbed from error details. */
  readonly apiKey: Redacted.Redacted<string>
  /** Defaults to `https://api.anthropic.com`; override for a proxy or a gateway. */
  readonly baseURL?: string | undefined
  /**
   * How long to wait for the response headers, and then for each streamed event. Default
   * 10 minutes. Anthropic keeps healthy streams alive with `ping` events, which do not count
   * as events here: lower this only when you want a stalled stream to fail sooner.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Extra headers sent with every request (e.g. `anthropic-beta`). */
  readonly defaultHeaders?: Readonly<Record<string, string>> | undefined
}

/**
 * Builds the provider. The SDK client holds no resource that needs closing (it uses the
 * global `fetch`), so no scope is required.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: AnthropicOptions): Effect.Effect<Service> =>
  Effect.sync(() => {
    const timeoutMs = clampTimeout(options.timeout)
    const client = new Anthropic({
      apiKey: Redacted.value(options.apiKey),
      // Explicit so the SDK does not silently pick up ANTHROPIC_BASE_URL behind `layer`'s back;
      // `layerConfig` reads that variable itself.
      baseURL: options.baseURL ?? DEFAULT_BASE_URL,
      timeout: timeoutMs,
      // mnesis's Retry module owns retries (with events and the configured backoff).
      maxRetries: 0,
      // Every failure surfaces as a typed error, so the SDK's own logging is off. (It still
      // prints deprecated-model notices with console.warn; no option turns those off.)
      logLevel: "off",
      ...(options.defaultHeaders === undefined ? {} : { defaultHeaders: { ...options.defaultHeaders } })
    })
    const failures = failureMapper(Redacted.value(options.apiKey), timeoutMs)
    return LlmProvider.of({
      stream: (request) => streamMessages(client, failures, request, Duration.millis(timeoutMs))
    })
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: AnthropicOptions): Layer.Layer<LlmProvider> =>
  Layer.effect(LlmProvider, make(options))

const missingKey = new ConfigError({
  path: "ANTHROPIC_API_KEY",
  rule: "is not set; export your Anthropic API key (or set MNESIS_MOCK_LLM=1 to use the mock)"
})

/**
 * A provider whose every call fails naming the missing variable: building it must not fail,
 * so that users of other providers never need an Anthropic key.
 */
const withoutKey: Service = LlmProvider.of({ stream: () => Stream.fail(missingKey) })

/**
 * Builds the provider from the environment: `ANTHROPIC_API_KEY` (redacted) and the optional
 * `ANTHROPIC_BASE_URL`. A missing key does not fail here; the provider's calls fail with a
 * `ConfigError` naming it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeConfig = (
  options: Omit<AnthropicOptions, "apiKey" | "baseURL"> = {}
): Effect.Effect<Service, ConfigError> =>
  Effect.gen(function*() {
    const apiKey = yield* readEnv("ANTHROPIC_API_KEY", Config.redacted("ANTHROPIC_API_KEY"))
    const baseURL = yield* readEnv("ANTHROPIC_BASE_URL", Config.string("ANTHROPIC_BASE_URL"))
    const key = Option.filter(apiKey, (value) => Redacted.value(value).trim() !== "")
    if (Option.isNone(key)) return withoutKey
    return yield* make({
      ...options,
      apiKey: key.value,
      baseURL: Option.getOrUndefined(Option.filter(baseURL, (url) => url.trim() !== ""))
    })
  })

/** An optional variable; a config provider that cannot read it at all fails naming it. */
const readEnv = <A>(name: string, config: Config.Config<A>) =>
  Effect.mapError(
    Config.option(config),
    () => new ConfigError({ path: name, rule: "could not be read from the environment" })
  )

/**
 * The provider configured from the environment (see {@link makeConfig}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<LlmProvider, ConfigError> = Layer.effect(LlmProvider, makeConfig())

const clampTimeout = (input: Duration.DurationInput | undefined): number => {
  const millis = Duration.toMillis(input === undefined ? DEFAULT_TIMEOUT : Duration.decode(input))
  // The SDK wants a positive integer; a NaN or infinite duration means "as long as possible".
  if (!(millis < MAX_TIMER_MS)) return MAX_TIMER_MS
  return Math.max(1, Math.ceil(millis))
}

// ---------------------------------------------------------------------------------------------
// Request mapping
// ---------------------------------------------------------------------------------------------

const ephemeral = { cache_control: { type: "ephemeral" } } as const

const cacheMark = (cache: boolean | undefined) => cache === true ? ephemeral : {}

/**
 * Maps a provider-neutral request to the Messages API's streaming parameters.
 *
 * @since 0.1.0
 */
export const toParams = (request: LlmRequest): MessageCreateParamsStreaming => {
  const system: Array<TextBlockParam> = request.system.map((block) => ({
    type: "text",
    text: block.text,
    ...cacheMark(block.cache)
  }))
  const tools: Array<Tool> = (request.tools ?? []).map((tool) => ({
    name: tool.name,
    description: tool.description,
    // The API only accepts object schemas for tool input.
    input_schema: { ...tool.inputSchema, type: "object" }
  }))
  return {
    model: modelNameOf(request.model),
    max_tokens: request.maxTokens,
    messages: request.messages.map(toMessageParam),
    stream: true,
    ...(system.length > 0 ? { system } : {}),
    ...(tools.length > 0 ? { tools } : {}),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.stop === undefined || request.stop.length === 0 ? {} : { stop_sequences: [...request.stop] })
  }
}

const toMessageParam = (message: LlmMessage): MessageParam => ({
  role: message.role,
  content: message.content.flatMap(toContentBlockParam)
})

const toContentBlockParam = (block: ContentBlock): ReadonlyArray<ContentBlockParam> => {
  switch (block.type) {
    case "text":
      return [{ type: "text", text: block.text, ...cacheMark(block.cache) }]
    case "reasoning":
      // The API verifies every thinking block it gets back against its signature and rejects
      // unsigned ones (400), so reasoning without a signature (e.g. from another provider) is
      // left out rather than sent.
      return block.signature === undefined || block.signature === ""
        ? []
        : [{ type: "thinking", thinking: block.text, signature: block.signature }]
    case "tool_use":
      return [{ type: "tool_use", id: block.id, name: block.name, input: toolInput(block.input) }]
    case "tool_result":
      return [{
        type: "tool_result",
        tool_use_id: block.toolUseId,
        content: block.content,
        ...(block.isError === true ? { is_error: true } : {}),
        ...cacheMark(block.cache)
      }]
  }
}

/**
 * The API requires a tool_use input to be a JSON object. A call whose arguments were not valid
 * JSON is stored with its raw text as input; it is sent back wrapped, so the model still sees
 * what it wrote (its tool result carries the parse error).
 */
const toolInput = (input: unknown): unknown =>
  input !== null && typeof input === "object" && !Array.isArray(input) ? input : { invalid_input: input }

// ---------------------------------------------------------------------------------------------
// Response events: the subset of the Messages stream mnesis reads, decoded at the boundary
// ---------------------------------------------------------------------------------------------

const Count = Schema.NonNegativeInt
const MaybeCount = Schema.optional(Schema.NullOr(Count))

const WireUsage = Schema.Struct({
  input_tokens: MaybeCount,
  output_tokens: MaybeCount,
  cache_creation_input_tokens: MaybeCount,
  cache_read_input_tokens: MaybeCount
})
type WireUsage = typeof WireUsage.Type

/** Block or delta types this provider does not represent (redacted thinking, server tools, citations). */
const otherThan = (...known: ReadonlyArray<string>) =>
  Schema.Struct({ type: Schema.String.pipe(Schema.filter((type) => !known.includes(type))) })

const BlockStart = Schema.Union(
  Schema.Struct({ type: Schema.Literal("tool_use"), id: Schema.String, name: Schema.String }),
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.optional(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("thinking"), thinking: Schema.optional(Schema.String) }),
  otherThan("tool_use", "text", "thinking")
)

const BlockDelta = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text_delta"), text: Schema.String }),
  Schema.Struct({ type: Schema.Literal("input_json_delta"), partial_json: Schema.String }),
  Schema.Struct({ type: Schema.Literal("thinking_delta"), thinking: Schema.String }),
  Schema.Struct({ type: Schema.Literal("signature_delta"), signature: Schema.String }),
  otherThan("text_delta", "input_json_delta", "thinking_delta", "signature_delta")
)

const WireEvent = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("message_start"),
    message: Schema.Struct({ usage: Schema.optional(WireUsage) })
  }),
  Schema.Struct({ type: Schema.Literal("content_block_start"), index: Count, content_block: BlockStart }),
  Schema.Struct({ type: Schema.Literal("content_block_delta"), index: Count, delta: BlockDelta }),
  Schema.Struct({ type: Schema.Literal("content_block_stop"), index: Count }),
  Schema.Struct({
    type: Schema.Literal("message_delta"),
    delta: Schema.Struct({ stop_reason: Schema.optional(Schema.NullOr(Schema.String)) }),
    usage: Schema.optional(WireUsage)
  }),
  Schema.Struct({ type: Schema.Literal("message_stop") })
)
type WireEvent = typeof WireEvent.Type

const knownEventTypes: ReadonlySet<string> = new Set([
  "message_start",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "message_delta",
  "message_stop"
])

const decodeWireEvent = Schema.decodeUnknownEither(WireEvent)

/**
 * Decodes one streamed event; `None` for event types added to the API after this code was
 * written, which are skipped rather than failing the call.
 */
const readEvent = (raw: unknown): Either.Either<Option.Option<WireEvent>, string> => {
  const type = raw !== null && typeof raw === "object" && "type" in raw ? raw.type : undefined
  if (typeof type !== "string" || !knownEventTypes.has(type)) return Either.right(Option.none())
  return Either.match(decodeWireEvent(raw), {
    onLeft: (error) => Either.left(ParseResult.TreeFormatter.formatErrorSync(error)),
    onRight: (event) => Either.right(Option.some(event))
  })
}

/**
 * `stop_reason` → {@link FinishReason}.
 *
 * @since 0.1.0
 */
export const finishReasonOf = (stopReason: string | null | undefined): FinishReason => {
  switch (stopReason) {
    case "end_turn":
      return "stop"
    case "max_tokens":
      return "max_tokens"
    case "tool_use":
      return "tool_calls"
    case "stop_sequence":
      return "stop_sequence"
    case "refusal":
      return "content_filter"
    default:
      return "other"
  }
}

/** A tool call's arguments as they arrive in `input_json_delta` fragments. */
interface PendingToolCall {
  readonly id: string
  readonly name: string
  json: string
}

/**
 * Folds the events of one streamed message into {@link LlmEvent}s: deltas pass straight through,
 * tool calls are emitted whole when their block stops, and usage plus finish at `message_stop`.
 * One instance per HTTP response (a retried stream starts over with a fresh one).
 */
class MessageAssembler {
  private usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }
  private stopReason: string | null | undefined = undefined
  private readonly toolCalls = new Map<number, PendingToolCall>()
  /** Set once `message_stop` arrived: the only way a response counts as complete. */
  finished = false

  accept(event: WireEvent): ReadonlyArray<LlmEvent> {
    switch (event.type) {
      case "message_start":
        this.takeUsage(event.message.usage)
        return []
      case "content_block_start": {
        const block = event.content_block
        if (block.type === "tool_use" && "id" in block) {
          this.toolCalls.set(event.index, { id: block.id, name: block.name, json: "" })
          return []
        }
        if (block.type === "text" && "text" in block && block.text !== undefined && block.text !== "") {
          return [{ type: "text_delta", text: block.text }]
        }
        if (
          block.type === "thinking" && "thinking" in block && block.thinking !== undefined &&
          block.thinking !== ""
        ) {
          return [{ type: "reasoning_delta", text: block.thinking }]
        }
        return []
      }
      case "content_block_delta":
        return this.acceptDelta(event.index, event.delta)
      case "content_block_stop": {
        const pending = this.toolCalls.get(event.index)
        if (pending === undefined) return []
        this.toolCalls.delete(event.index)
        return [toolCallOf(pending)]
      }
      case "message_delta":
        this.stopReason = event.delta.stop_reason ?? this.stopReason
        this.takeUsage(event.usage)
        return []
      case "message_stop":
        this.finished = true
        return [
          { type: "usage", usage: TokenUsage.of(this.usage) },
          { type: "finish", reason: finishReasonOf(this.stopReason) }
        ]
    }
  }

  private acceptDelta(index: number, delta: typeof BlockDelta.Type): ReadonlyArray<LlmEvent> {
    if ("text" in delta) return delta.text === "" ? [] : [{ type: "text_delta", text: delta.text }]
    if ("thinking" in delta) {
      return delta.thinking === ""
        ? []
        : [{ type: "reasoning_delta", text: delta.thinking }]
    }
    if ("signature" in delta) return [{ type: "reasoning_delta", text: "", signature: delta.signature }]
    if ("partial_json" in delta) {
      const pending = this.toolCalls.get(index)
      if (pending !== undefined) pending.json += delta.partial_json
    }
    return []
  }

  /** `message_start` carries the input side; `message_delta` the (cumulative) output side. */
  private takeUsage(usage: WireUsage | undefined): void {
    if (usage === undefined) return
    const pick = (value: number | null | undefined, current: number) => value ?? current
    this.usage = {
      input: pick(usage.input_tokens, this.usage.input),
      output: pick(usage.output_tokens, this.usage.output),
      cacheRead: pick(usage.cache_read_input_tokens, this.usage.cacheRead),
      cacheWrite: pick(usage.cache_creation_input_tokens, this.usage.cacheWrite)
    }
  }
}

/** Parses assembled tool arguments; invalid JSON keeps the raw text and says why. */
const toolCallOf = (pending: PendingToolCall): ToolCall => {
  const base = { type: "tool_call", id: pending.id, name: pending.name } as const
  if (pending.json.trim() === "") return { ...base, input: {} }
  try {
    return { ...base, input: JSON.parse(pending.json) as unknown }
  } catch (error) {
    return {
      ...base,
      input: pending.json,
      inputError: error instanceof Error ? error.message : String(error)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------------

type Phase = "request" | "stream"

type FailureMapper = (cause: unknown, phase: Phase, now: number) => LlmError

/** Runs one SDK promise, mapping whatever it throws to a provider error. */
const fromSdk = <A>(
  failures: FailureMapper,
  phase: Phase,
  evaluate: () => Promise<A>
): Effect.Effect<A, LlmError> =>
  Effect.tryPromise({ try: evaluate, catch: (cause) => cause }).pipe(
    Effect.catchAll((cause) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(failures(cause, phase, now)))
    )
  )

const streamMessages = (
  client: Anthropic,
  failures: FailureMapper,
  request: LlmRequest,
  idleTimeout: Duration.Duration
): Stream.Stream<LlmEvent, LlmFailure> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const params = toParams(request)
      // One controller per call: closing the stream's scope (completion, failure or fiber
      // interruption) aborts the HTTP request, whether it waits for headers or for body bytes.
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (controller) => Effect.sync(() => controller.abort())
      )
      const response = yield* fromSdk(
        failures,
        "request",
        () => client.messages.create(params, { signal: controller.signal })
      )
      const iterator = response[Symbol.asyncIterator]()
      const assembler = new MessageAssembler()

      const pull: Effect.Effect<Chunk.Chunk<LlmEvent>, Option.Option<LlmError>> = Effect.suspend(() => {
        // Stop reading at message_stop; anything after it is not part of the message.
        if (assembler.finished) return Effect.fail(Option.none())
        return fromSdk(failures, "stream", () => iterator.next()).pipe(
          Effect.flatMap((next): Effect.Effect<Chunk.Chunk<LlmEvent>, LlmError> => {
            if (next.done === true) {
              return Effect.fail(
                new LlmConnectionError({
                  provider: PROVIDER,
                  detail: "the response stream ended before message_stop (the message is incomplete)"
                })
              )
            }
            return Either.match(readEvent(next.value), {
              // A garbled event is a transport fault (a proxy cut or mixed the body): retryable,
              // as with the OpenAI-compatible provider.
              onLeft: (reason) =>
                Effect.fail(
                  new LlmConnectionError({
                    provider: PROVIDER,
                    detail: `the response stream carried an event mnesis could not read: ${reason}`
                  })
                ),
              onRight: (event) =>
                Effect.succeed(
                  Option.match(event, {
                    onNone: () => Chunk.empty<LlmEvent>(),
                    onSome: (event) => Chunk.fromIterable(assembler.accept(event))
                  })
                )
            })
          }),
          Effect.mapError(Option.some)
        )
      })

      return Stream.repeatEffectChunkOption(pull).pipe(
        // The SDK's timeout covers the headers only; this one catches a stream that stalls.
        Stream.timeoutFail(
          () =>
            new LlmTimeout({
              provider: PROVIDER,
              detail: `no streamed event within ${Duration.format(idleTimeout)}`
            }),
          idleTimeout
        )
      )
    })
  ).pipe(Stream.withSpan("Anthropic.stream", { attributes: { "llm.model": request.model } }))

// ---------------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------------

const tooLongPattern =
  /prompt is too long|exceeds? (?:the )?context (?:window|limit)|too many (?:input )?tokens/i

/** The SDK error classes by status, folded onto mnesis's provider errors. */
const failureMapper = (secret: string, timeoutMs: number): FailureMapper => {
  const scrub = (text: string) => secret === "" ? text : text.split(secret).join("[redacted]")
  return (cause, phase, now) => {
    // Order matters: the timeout and abort classes extend APIConnectionError / APIError.
    if (cause instanceof APIConnectionTimeoutError) {
      return new LlmTimeout({
        provider: PROVIDER,
        detail: `no response within ${Duration.format(Duration.millis(timeoutMs))}`
      })
    }
    if (cause instanceof APIUserAbortError) {
      return new LlmConnectionError({ provider: PROVIDER, detail: "the request was aborted" })
    }
    if (cause instanceof APIConnectionError) {
      return new LlmConnectionError({
        provider: PROVIDER,
        detail: `could not reach the Anthropic API${codeSuffix(cause)}`
      })
    }
    if (isApiError(cause)) return fromApiError(cause, now, scrub)
    if (phase === "stream" && cause instanceof SyntaxError) {
      return new LlmConnectionError({
        provider: PROVIDER,
        detail: "the response stream carried an event that is not JSON"
      })
    }
    // Raw errors from reading the body (undici's "terminated", socket resets) mean the stream
    // was cut; anything else is unexpected. Only the error's name and code are kept: its
    // message could carry request details.
    return new LlmConnectionError({
      provider: PROVIDER,
      detail: phase === "stream"
        ? `the response stream was cut before the message ended${codeSuffix(cause)}`
        : `unexpected ${errorName(cause)} from the Anthropic client${codeSuffix(cause)}`
    })
  }
}

/** Narrows to the SDK's default type arguments (a bare `instanceof` gives `any`s). */
const isApiError = (cause: unknown): cause is APIError => cause instanceof APIError

/** An API error: from an HTTP status, or from an `event: error` inside the stream (no status). */
const fromApiError = (error: APIError, now: number, scrub: (text: string) => string): LlmError => {
  // Widened: in-stream errors may carry types the SDK's union does not list (request_too_large).
  const type: string | undefined = error.type ?? undefined
  const message = scrub(error.apiMessage ?? error.message)
  const detail = type === undefined ? message : `${type}: ${message}`
  const status = error.status ?? statusOfErrorType(type)
  if (type === "overloaded_error" || status === 529 || status === 503) {
    return new LlmOverloaded({ provider: PROVIDER, detail })
  }
  if (status === 413 || type === "request_too_large" || (status === 400 && tooLongPattern.test(message))) {
    return new LlmContextTooLong({ provider: PROVIDER, detail })
  }
  if (status === 429) {
    const retryAfterMs = retryAfterOf(error.headers, now)
    return new LlmRateLimited({
      provider: PROVIDER,
      detail,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs })
    })
  }
  if (status === 401 || status === 402 || status === 403) {
    return new LlmAuthenticationError({ provider: PROVIDER, detail })
  }
  if (status === 408) return new LlmTimeout({ provider: PROVIDER, detail })
  if (status >= 500) return new LlmServerError({ provider: PROVIDER, detail, status })
  return new LlmInvalidRequest({ provider: PROVIDER, detail, status })
}

/**
 * The HTTP status an in-stream error type stands for. An unknown type inside a stream that had
 * started fine is treated as a server-side failure.
 */
const statusOfErrorType = (type: string | undefined): number => {
  switch (type) {
    case "invalid_request_error":
      return 400
    case "authentication_error":
      return 401
    case "billing_error":
      return 402
    case "permission_error":
      return 403
    case "not_found_error":
      return 404
    case "timeout_error":
      return 408
    case "request_too_large":
      return 413
    case "rate_limit_error":
      return 429
    case "overloaded_error":
      return 529
    default:
      return 500
  }
}

/**
 * The rate-limit hint in milliseconds: `retry-after-ms`, else `retry-after` (seconds or an
 * HTTP date, measured from `now`).
 *
 * @since 0.1.0
 */
export const retryAfterOf = (headers: Headers | undefined, now: number): number | undefined => {
  if (headers === undefined) return undefined
  const millis = parseNumber(headers.get("retry-after-ms"))
  if (millis !== undefined) return millis
  const value = headers.get("retry-after")
  if (value === null) return undefined
  const seconds = parseNumber(value)
  if (seconds !== undefined) return seconds * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const parseNumber = (value: string | null): number | undefined => {
  if (value === null || value.trim() === "") return undefined
  const number = Number(value)
  return Number.isFinite(number) && number >= 0 ? number : undefined
}

const errorName = (cause: unknown): string =>
  cause instanceof Error && /^[A-Za-z]+$/.test(cause.name) ? cause.name : "error"

/** A system error code (ECONNREFUSED, UND_ERR_SOCKET…) found on the error or its causes. */
const codeSuffix = (cause: unknown): string => {
  let current: unknown = cause
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const code = "code" in current ? current.code : undefined
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]*$/.test(code)) return ` (${code})`
    current = "cause" in current ? current.cause : undefined
  }
  return ""
}
