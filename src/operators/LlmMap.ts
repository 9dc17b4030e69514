/**
 * LLM-Map: one stateless model call per item, its reply decoded with an Effect `Schema`.
 *
 * ```ts
 * const batch = yield* LlmMap.runAll({
 *   items: tickets,
 *   template: "Classify this support ticket: {{ item.text }}",
 *   schema: Schema.Struct({ category: Schema.Literal("bug", "billing", "other") })
 * })
 * ```
 *
 * - Structured output where the provider has it (a forced tool call at Anthropic, a JSON Schema
 *   response format on OpenAI-compatible servers), JSON in text otherwise; the schema is also in
 *   the instructions, so every model knows what to write.
 * - A reply that does not decode is retried with the actual decode error and the rejected reply in
 *   the conversation (up to `maxRetries`); transient provider errors are retried with backoff by
 *   the session's retry policy (also up to `maxRetries`). Backoff never holds a call slot.
 * - Each call may take `timeout`; at most `concurrency` calls are in flight.
 * - Results stream in completion order (`run`) or come as a batch (`runAll`); the run and each
 *   item's status live in the store, so `resume(runId)` finishes an interrupted run without paying
 *   again for what finished.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Either, Layer, Ref, Schema, Stream } from "effect"
import type { MnesisConfig } from "../Config.js"
import { Settings } from "../Config.js"
import { TokenUsage } from "../Domain.js"
import type {
  ConfigError,
  DelegationRefused,
  InvalidInput,
  JsonlFileError,
  RunNotFound,
  SessionIsClosed,
  SessionNotFound
} from "../Errors.js"
import { LlmTimeout } from "../Errors.js"
import { EventBus } from "../Events.js"
import * as Retry from "../llm/Retry.js"
import type { LlmFailure, LlmMessage, LlmRequest } from "../LlmProvider.js"
import { collect as collectResponse, LlmProvider, providerOf } from "../LlmProvider.js"
import * as ModelRegistry from "../ModelRegistry.js"
import type { Session } from "../Session.js"
import { decodeInput } from "../session/options.js"
import * as Storage from "../Storage.js"
import * as Engine from "./Engine.js"
import type { Delegation } from "./Guard.js"
import type * as Items from "./Items.js"
import type { MapBatch, MapFailure, MapResult, RunId } from "./Run.js"
import * as Runs from "./Runs.js"
import * as Structured from "./Structured.js"
import * as Template from "./Template.js"

/**
 * @since 0.1.0
 */
export interface RunOptions<I, A, AI, E = never, IE = unknown> {
  readonly items: Items.ItemsSource<I, E, IE>
  /** The prompt of each item: `{{ item }}`, or paths such as `{{ item.title }}`. */
  readonly template: string
  /** Each reply is decoded with it (`AI` is what the model writes, as JSON). */
  readonly schema: Schema.Schema<A, AI, never>
  /** `provider/model`; the session's model when absent. */
  readonly model?: string | undefined
  /** A system prompt for every call (the schema's instructions follow it). */
  readonly system?: string | undefined
  /** The session that starts the run: its store and configuration are used, and it gets a note. */
  readonly session?: Session | undefined
  /** Calls in flight at once (default `operators.llmMapConcurrency`). */
  readonly concurrency?: number | undefined
  /** Retries per item, for replies that do not decode and for transient errors (default `operators.maxRetries`). */
  readonly maxRetries?: number | undefined
  /** How long one call may take (default `operators.itemTimeout`). */
  readonly timeout?: Duration.DurationInput | undefined
  readonly temperature?: number | undefined
  /** Output limit of each call (default: the model's). */
  readonly maxTokens?: number | undefined
  /**
   * Ask the provider to enforce the schema (default true). Turn it off for servers that reject
   * `response_format: json_schema`: the schema still goes with the instructions.
   */
  readonly structuredOutput?: boolean | undefined
  /** Write each result to this JSON Lines file as it completes. */
  readonly output?: { readonly jsonl: string } | undefined
  /** For a sub-agent's nested run of as many items as its own run: what it hands off, what it keeps. */
  readonly delegation?: Delegation | undefined
  /** Leave the run's note in `session` when it ends (default true). */
  readonly note?: boolean | undefined
}

/**
 * @since 0.1.0
 */
export interface ResumeOptions<A, AI> {
  /** The run's schema (stored outputs are decoded with it, new replies too). */
  readonly schema: Schema.Schema<A, AI, never>
  /** Leave a note in this session when the run ends. */
  readonly session?: Session | undefined
  readonly concurrency?: number | undefined
  /** Write every result, earlier ones included, to this JSON Lines file (default: the run's). */
  readonly output?: { readonly jsonl: string } | undefined
}

/** Failures that stop a whole run (an item's failure is a result, never one of these). */
export type LlmMapError =
  | InvalidInput
  | ConfigError
  | JsonlFileError
  | DelegationRefused
  | SessionIsClosed
  | RunNotFound
  | Engine.EngineError
  | Storage.StoreFailure
  | SessionNotFound

/**
 * @since 0.1.0
 */
export interface Service {
  readonly run: <I, A, AI, E = never, IE = unknown>(
    options: RunOptions<I, A, AI, E, IE>
  ) => Stream.Stream<MapResult<I, A>, LlmMapError | E>
  readonly runAll: <I, A, AI, E = never, IE = unknown>(
    options: RunOptions<I, A, AI, E, IE>
  ) => Effect.Effect<MapBatch<I, A>, LlmMapError | E>
  /** Runs what an interrupted run left (pending and running items); yields earlier results first. */
  readonly resume: <A, AI>(
    runId: RunId | string,
    options: ResumeOptions<A, AI>
  ) => Stream.Stream<MapResult<unknown, A>, LlmMapError>
  readonly resumeAll: <A, AI>(
    runId: RunId | string,
    options: ResumeOptions<A, AI>
  ) => Effect.Effect<MapBatch<unknown, A>, LlmMapError>
}

/**
 * @since 0.1.0
 */
export class LlmMap extends Context.Tag("mnesis/LlmMap")<LlmMap, Service>() {}

/** What a run stores about itself, so `resume` can make the same calls. */
const Spec = Schema.Struct({
  template: Schema.String,
  model: Schema.String,
  system: Schema.optional(Schema.String),
  concurrency: Schema.Int,
  maxRetries: Schema.Int,
  timeoutMs: Schema.Number,
  temperature: Schema.optional(Schema.Number),
  maxTokens: Schema.optional(Schema.Int),
  structuredOutput: Schema.Boolean,
  outputPath: Schema.optional(Schema.String),
  /** For people reading the store; `resume` decodes with the schema it is given. */
  jsonSchema: Schema.Unknown
})
type Spec = typeof Spec.Type

const Limits = Schema.Struct({
  concurrency: Schema.optional(Schema.Int.pipe(Schema.between(1, 128))),
  maxRetries: Schema.optional(Schema.Int.pipe(Schema.between(0, 10))),
  maxTokens: Schema.optional(Schema.Int.pipe(Schema.positive())),
  temperature: Schema.optional(Schema.Number.pipe(Schema.between(0, 2)))
})

const DEFAULT_SYSTEM = "You are a careful assistant. Follow the instructions exactly."

const failureOf = (error: LlmFailure, timeoutMs: number): MapFailure =>
  error._tag === "LlmTimeout"
    ? { _tag: "Timeout", timeoutMs, message: error.message }
    : { _tag: "ProviderFailed", errorTag: error._tag, message: error.message }

/**
 * The work of one item: calls until a reply decodes, feeding each rejected reply back with its
 * error; transient errors retried with backoff outside the call slot.
 */
const itemWorker = <A, AI>(
  env: {
    readonly provider: LlmProvider["Type"]
    readonly slots: Effect.Semaphore
    readonly config: MnesisConfig
    readonly info: ModelRegistry.ModelInfo
    readonly spec: Spec
    readonly template: Template.Template
    readonly structured: Structured.Structured<A>
    readonly schema: Schema.Schema<A, AI, never>
  }
) => {
  const { info, spec, structured } = env
  const encode = Schema.encodeEither(env.schema)
  const system = [
    { text: spec.system ?? DEFAULT_SYSTEM },
    { text: Structured.instructions(structured), cache: true }
  ]
  const retryConfig = { ...env.config.session.retry, maxRetries: spec.maxRetries }
  const timeout = Duration.millis(spec.timeoutMs)
  const providerName = providerOf(spec.model)
  return (_index: number, input: unknown) =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const usage = yield* Ref.make(TokenUsage.zero)
      const done = (outcome: Engine.Worked<A>["outcome"]) =>
        Effect.gen(function*() {
          const tokens = yield* Ref.get(usage)
          return {
            outcome,
            attempts: yield* Ref.get(attempts),
            tokens,
            cost: ModelRegistry.costOf(tokens, info)
          }
        })
      const prompt = Template.render(env.template, input)
      if (Either.isLeft(prompt)) {
        return yield* done({ _tag: "Failed", reason: { _tag: "InvalidItem", message: prompt.left } })
      }

      const call = (messages: ReadonlyArray<LlmMessage>) => {
        const request: LlmRequest = {
          model: spec.model,
          system,
          messages,
          maxTokens: spec.maxTokens ?? info.maxOutputTokens,
          ...(spec.temperature === undefined ? {} : { temperature: spec.temperature }),
          ...(spec.structuredOutput ? { output: structured.format } : {})
        }
        const once = env.slots.withPermits(1)(
          Effect.zipRight(
            Ref.update(attempts, (n) => n + 1),
            collectResponse(providerName, env.provider.stream(request)).pipe(
              Effect.timeoutFail({
                duration: timeout,
                onTimeout: () =>
                  new LlmTimeout({
                    provider: providerName,
                    detail: `no reply within ${spec.timeoutMs} ms (the item's timeout)`
                  })
              })
            )
          )
        )
        // The backoff between tries happens here, outside `withPermits`: it holds no slot.
        return Retry.retry(once, { config: retryConfig })
      }

      let messages: ReadonlyArray<LlmMessage> = [{
        role: "user",
        content: [{ type: "text", text: prompt.right }]
      }]
      for (let round = 0;; round++) {
        const response = yield* Effect.either(call(messages))
        if (Either.isLeft(response)) {
          return yield* done({ _tag: "Failed", reason: failureOf(response.left, spec.timeoutMs) })
        }
        yield* Ref.update(usage, (total) => TokenUsage.add(total, response.right.usage))
        const reply = Structured.replyOf(response.right, structured.format)
        const decoded = Either.flatMap(reply.value, structured.decode)
        if (Either.isRight(decoded)) {
          const encoded = encode(decoded.right)
          if (Either.isRight(encoded)) {
            return yield* done({ _tag: "Done", output: decoded.right, encoded: encoded.right })
          }
        }
        const error = Either.isLeft(decoded)
          ? decoded.left
          : "the decoded reply could not be encoded for storage"
        if (round >= spec.maxRetries) {
          return yield* done({
            _tag: "Failed",
            reason: {
              _tag: "InvalidOutput",
              error,
              reply: reply.text,
              message: `no reply matched the schema after ${
                round + 1
              } tries; the last one failed with: ${error}`
            }
          })
        }
        // The next try sees what it wrote and exactly why it was refused.
        messages = [
          ...messages,
          {
            role: "assistant",
            content: [{ type: "text", text: reply.text === "" ? "(empty reply)" : reply.text }]
          },
          { role: "user", content: [{ type: "text", text: Structured.feedback(error) }] }
        ]
      }
    })
}

/**
 * Builds the service from the layer's services.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const provider = yield* LlmProvider
  const bus = yield* EventBus
  const settings = yield* Settings
  const store = yield* Storage.Storage
  const defaults: Runs.Defaults = { store, config: settings }
  const decodeLimits = decodeInput(Limits, "options")

  /** Runs `plan`'s items with `spec`'s calls. */
  const start = <I, A, AI>(
    caller: Runs.Caller,
    schema: Schema.Schema<A, AI, never>,
    spec: Spec,
    plan: Runs.PlanItems<I, A>,
    note: boolean
  ) =>
    Effect.gen(function*() {
      const template = yield* Template.parse(spec.template)
      const info = yield* ModelRegistry.lookup(spec.model, caller.config.modelOverrides)
      const structured = Structured.make(schema)
      const slots = yield* Effect.makeSemaphore(spec.concurrency)
      const work = itemWorker({
        provider,
        slots,
        config: caller.config,
        info,
        spec,
        template,
        structured,
        schema
      })
      return Engine.run<I, A>({
        ...plan,
        operator: "llm_map",
        model: spec.model,
        sessionId: caller.sessionId,
        // Twice the call slots: items backing off leave their slot to the next ones.
        inFlight: spec.concurrency * 2,
        work,
        store: caller.store,
        publish: bus.publish,
        outputPath: spec.outputPath,
        onEnd: (end) =>
          Runs.leaveNote(
            caller,
            note,
            Runs.noteText({ id: plan.runId, operator: "llm_map" }, end, {
              model: spec.model,
              template: spec.template,
              outputPath: spec.outputPath
            })
          )
      }, Schema.encodeSync(schema))
    })

  /** A new run, created and ready: its id, size and results (which start when pulled). */
  const prepare = <I, A, AI, E, IE>(options: RunOptions<I, A, AI, E, IE>) =>
    Effect.gen(function*() {
      yield* decodeLimits(options)
      const { caller, inputs, model, template } = yield* Runs.begin(defaults, options)
      const config = caller.config.operators
      const spec: Spec = {
        template: template.source,
        model,
        ...(options.system === undefined ? {} : { system: options.system }),
        concurrency: options.concurrency ?? config.llmMapConcurrency,
        maxRetries: options.maxRetries ?? config.maxRetries,
        timeoutMs: Duration.toMillis(options.timeout ?? config.itemTimeout),
        ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
        ...(options.maxTokens === undefined ? {} : { maxTokens: options.maxTokens }),
        structuredOutput: options.structuredOutput ?? true,
        ...(options.output === undefined ? {} : { outputPath: options.output.jsonl }),
        jsonSchema: Structured.make(options.schema).format.schema
      }
      const created = yield* Runs.create(caller, "llm_map", Schema.encodeSync(Spec)(spec), inputs)
      const results = yield* start<I, A, AI>(
        caller,
        options.schema,
        spec,
        Runs.freshItems(created, inputs),
        options.note ?? true
      )
      return { runId: created.info.id, total: inputs.length, results }
    }).pipe(Effect.withSpan("LlmMap.start", { captureStackTrace: false }))

  /** A run taken over, ready to go on. */
  const prepareResume = <A, AI>(runId: RunId | string, options: ResumeOptions<A, AI>) =>
    Effect.gen(function*() {
      const caller = yield* Runs.callerOf(defaults, options.session, { items: 0 })
      const taken = yield* Runs.takeOver(caller.store, runId, "llm_map")
      const stored = yield* decodeInput(Spec, "the run's stored spec")(taken.info.spec)
      const spec: Spec = {
        ...stored,
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(options.output === undefined ? {} : { outputPath: options.output.jsonl })
      }
      const decode = Schema.decodeUnknownOption(options.schema)
      const results = yield* start<unknown, A, AI>(
        caller,
        options.schema,
        spec,
        Runs.resumedItems(taken, decode),
        options.session !== undefined
      )
      return { runId: taken.info.id, total: taken.info.total, results }
    }).pipe(Effect.withSpan("LlmMap.resume", { captureStackTrace: false }))

  const service: Service = {
    run: (options) => Stream.unwrap(Effect.map(prepare(options), (p) => p.results)),
    runAll: (options) => Effect.flatMap(prepare(options), Engine.collectBatch),
    resume: (runId, options) => Stream.unwrap(Effect.map(prepareResume(runId, options), (p) => p.results)),
    resumeAll: (runId, options) => Effect.flatMap(prepareResume(runId, options), Engine.collectBatch)
  }
  return service
})

/**
 * The service over the layer's provider, bus, configuration and store.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<LlmMap, never, LlmProvider | EventBus | Settings | Storage.Storage> = Layer
  .effect(
    LlmMap,
    make
  )

/** @since 0.1.0 */
export const run = <I, A, AI, E = never, IE = unknown>(
  options: RunOptions<I, A, AI, E, IE>
): Stream.Stream<MapResult<I, A>, LlmMapError | E, LlmMap> =>
  Stream.unwrap(Effect.map(LlmMap, (service) => service.run(options)))

/** @since 0.1.0 */
export const runAll = <I, A, AI, E = never, IE = unknown>(
  options: RunOptions<I, A, AI, E, IE>
): Effect.Effect<MapBatch<I, A>, LlmMapError | E, LlmMap> =>
  Effect.flatMap(LlmMap, (service) => service.runAll(options))

/** @since 0.1.0 */
export const resume = <A, AI>(
  runId: RunId | string,
  options: ResumeOptions<A, AI>
): Stream.Stream<MapResult<unknown, A>, LlmMapError, LlmMap> =>
  Stream.unwrap(Effect.map(LlmMap, (service) => service.resume(runId, options)))

/** @since 0.1.0 */
export const resumeAll = <A, AI>(
  runId: RunId | string,
  options: ResumeOptions<A, AI>
): Effect.Effect<MapBatch<unknown, A>, LlmMapError, LlmMap> =>
  Effect.flatMap(LlmMap, (service) => service.resumeAll(runId, options))
