/**
 * Agentic-Map: one sub-agent per item. Each item gets its own sub-session (same store; its
 * `parentId` is the caller's session), with its own memory and compaction, a system prompt of the
 * caller's choosing and tools it runs through the tool loop; it works up to `maxTurns` model calls
 * and its final answer is the item's output — decoded with a `Schema` when one is given (a final
 * answer that does not decode is sent back with the error, up to `maxRetries` times).
 *
 * Outcomes are honest: a provider failure is a failed item (`ProviderFailed`), an agent that ran
 * out of turns or stopped on a tool only the host runs is `Incomplete`, never a success carrying
 * error text. Sub-sessions stay in the store: load one by its id to read what the agent did.
 *
 * @since 0.1.0
 */
import type { Option } from "effect"
import { Context, Duration, Effect, Either, Layer, Ref, Schema, Stream } from "effect"
import type { MnesisConfigOverrides } from "../Config.js"
import { MnesisConfig, Settings } from "../Config.js"
import { TokenUsage } from "../Domain.js"
import type { SessionId } from "../Domain.js"
import { InvalidInput } from "../Errors.js"
import { EventBus } from "../Events.js"
import type { MnesisError, MnesisServices, Session } from "../Session.js"
import { decodeInput } from "../session/options.js"
import { create as createSession, spawn } from "../session/start.js"
import * as Storage from "../Storage.js"
import type { Tool } from "../Tool.js"
import * as Engine from "./Engine.js"
import type { Delegation } from "./Guard.js"
import * as Guard from "./Guard.js"
import type * as Items from "./Items.js"
import { LlmMap, type LlmMapError } from "./LlmMap.js"
import * as ModelTools from "./ModelTools.js"
import type { MapBatch, MapFailure, MapResult, RunId } from "./Run.js"
import * as Runs from "./Runs.js"
import * as Structured from "./Structured.js"
import * as Template from "./Template.js"

/**
 * @since 0.1.0
 */
export interface RunOptions<I, E = never, IE = unknown> {
  readonly items: Items.ItemsSource<I, E, IE>
  /** The first message of each sub-agent: `{{ item }}`, or paths such as `{{ item.title }}`. */
  readonly template: string
  /** `provider/model`; the session's model when absent. */
  readonly model?: string | undefined
  /** The sub-agents' system prompt. */
  readonly systemPrompt?: string | undefined
  /** Tools the sub-agents may use (run by the tool loop). */
  readonly tools?: ReadonlyArray<Tool> | undefined
  /** Offer only the tools that declare `readOnly: true` (default false). */
  readonly readOnly?: boolean | undefined
  /** Model calls a sub-agent may make for its task (the tool loop's steps; default 20). */
  readonly maxTurns?: number | undefined
  /** Give the sub-agents the memory tools over their own history (default true). */
  readonly memoryTools?: boolean | undefined
  /**
   * Give the sub-agents `llm_map` and `agentic_map` so they can delegate in turn (default false).
   * The delegation guard holds them to a narrower scope and to `operators.maxDepth`.
   */
  readonly operatorTools?: boolean | undefined
  /** Configuration of the sub-sessions, over the caller's. */
  readonly config?: MnesisConfigOverrides | undefined
  /** The session that starts the run: sub-sessions are its children, and it gets a note. */
  readonly session?: Session | undefined
  /** Sub-agents at work at once (default `operators.agenticMapConcurrency`). */
  readonly concurrency?: number | undefined
  /** Follow-ups for a final answer that does not decode (default `operators.maxRetries`). */
  readonly maxRetries?: number | undefined
  /** How long one sub-agent may work (default: no limit). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Write each result to this JSON Lines file as it completes. */
  readonly output?: { readonly jsonl: string } | undefined
  /** For a sub-agent's nested run of as many items as its own run: what it hands off, what it keeps. */
  readonly delegation?: Delegation | undefined
  /** Leave the run's note in `session` when it ends (default true). */
  readonly note?: boolean | undefined
  /** The final answers are plain text; give `schema` to decode them. */
  readonly schema?: undefined
}

/** {@link RunOptions} with a schema for the final answers. */
export interface RunOptionsWithSchema<I, A, AI, E = never, IE = unknown>
  extends Omit<RunOptions<I, E, IE>, "schema">
{
  readonly schema: Schema.Schema<A, AI, never>
}

/**
 * @since 0.1.0
 */
export interface ResumeOptions {
  /** The tools the run's sub-agents had (tools are code: the run stores only their names). */
  readonly tools?: ReadonlyArray<Tool> | undefined
  /** Leave a note in this session when the run ends. */
  readonly session?: Session | undefined
  readonly concurrency?: number | undefined
  readonly output?: { readonly jsonl: string } | undefined
  readonly schema?: undefined
}

export interface ResumeOptionsWithSchema<A, AI> extends Omit<ResumeOptions, "schema"> {
  readonly schema: Schema.Schema<A, AI, never>
}

export type AgenticMapError = LlmMapError

/**
 * @since 0.1.0
 */
export interface Service {
  readonly run: {
    <I, E = never, IE = unknown>(
      options: RunOptions<I, E, IE>
    ): Stream.Stream<MapResult<I, string>, AgenticMapError | E>
    <I, A, AI, E = never, IE = unknown>(
      options: RunOptionsWithSchema<I, A, AI, E, IE>
    ): Stream.Stream<MapResult<I, A>, AgenticMapError | E>
  }
  readonly runAll: {
    <I, E = never, IE = unknown>(
      options: RunOptions<I, E, IE>
    ): Effect.Effect<MapBatch<I, string>, AgenticMapError | E>
    <I, A, AI, E = never, IE = unknown>(
      options: RunOptionsWithSchema<I, A, AI, E, IE>
    ): Effect.Effect<MapBatch<I, A>, AgenticMapError | E>
  }
  readonly resume: {
    (
      runId: RunId | string,
      options?: ResumeOptions
    ): Stream.Stream<MapResult<unknown, string>, AgenticMapError>
    <A, AI>(
      runId: RunId | string,
      options: ResumeOptionsWithSchema<A, AI>
    ): Stream.Stream<MapResult<unknown, A>, AgenticMapError>
  }
  readonly resumeAll: {
    (
      runId: RunId | string,
      options?: ResumeOptions
    ): Effect.Effect<MapBatch<unknown, string>, AgenticMapError>
    <A, AI>(
      runId: RunId | string,
      options: ResumeOptionsWithSchema<A, AI>
    ): Effect.Effect<MapBatch<unknown, A>, AgenticMapError>
  }
}

/**
 * @since 0.1.0
 */
export class AgenticMap extends Context.Tag("mnesis/AgenticMap")<AgenticMap, Service>() {}

/** What a run stores about itself, so `resume` can start the same sub-agents. */
const Spec = Schema.Struct({
  template: Schema.String,
  model: Schema.String,
  systemPrompt: Schema.optional(Schema.String),
  toolNames: Schema.Array(Schema.String),
  readOnly: Schema.Boolean,
  maxTurns: Schema.Int,
  memoryTools: Schema.Boolean,
  operatorTools: Schema.Boolean,
  /** The sub-sessions' configuration overrides, as written (durations in milliseconds or text). */
  config: Schema.optional(Schema.encodedSchema(MnesisConfig)),
  concurrency: Schema.Int,
  maxRetries: Schema.Int,
  timeoutMs: Schema.optional(Schema.Number),
  structured: Schema.Boolean,
  outputPath: Schema.optional(Schema.String)
})
type Spec = typeof Spec.Type

const Limits = Schema.Struct({
  concurrency: Schema.optional(Schema.Int.pipe(Schema.between(1, 32))),
  maxRetries: Schema.optional(Schema.Int.pipe(Schema.between(0, 10))),
  maxTurns: Schema.optional(Schema.Int.pipe(Schema.between(1, 200)))
})

const DEFAULT_SYSTEM =
  "You are a capable agent working on one task of a larger job. Do the task, then give " +
  "your final answer."

/** How final answers become outputs: as text, or decoded with a schema. */
interface Output<A> {
  readonly instructions?: string | undefined
  readonly read: (text: string) => Either.Either<{ readonly output: A; readonly encoded: unknown }, string>
  readonly decodeStored: (stored: unknown) => Option.Option<A>
  readonly encode: (output: A) => unknown
}

const textOutput: Output<string> = {
  read: (text) => Either.right({ output: text, encoded: text }),
  decodeStored: Schema.decodeUnknownOption(Schema.String),
  encode: (text) => text
}

const schemaOutput = <A, AI>(schema: Schema.Schema<A, AI, never>): Output<A> => {
  const structured = Structured.make(schema)
  const encode = Schema.encodeEither(schema)
  return {
    instructions:
      "When you are done, give your final answer as one JSON object and nothing else (no prose, " +
      `no code fences). It must match this JSON Schema:\n${structured.schemaText}`,
    read: (text) =>
      Either.flatMap(Either.flatMap(Structured.parseJson(text), structured.decode), (output) =>
        Either.map(
          Either.mapLeft(encode(output), () => "the decoded answer could not be encoded for storage"),
          (encoded) => ({ output, encoded })
        )),
    decodeStored: Schema.decodeUnknownOption(schema),
    encode: Schema.encodeSync(schema)
  }
}

/** Provider failures (and the router's configuration errors) fail an item as `ProviderFailed`. */
const failureOf = (error: MnesisError): MapFailure =>
  error._tag.startsWith("Llm") || error._tag === "ConfigError"
    ? { _tag: "ProviderFailed", errorTag: error._tag, message: error.message }
    : { _tag: "SessionFailed", errorTag: error._tag, message: error.message }

const ENDS_WITH_ANSWER: ReadonlySet<string> = new Set(["stop", "stop_sequence"])

/**
 * Builds the service from the services sessions need.
 *
 * @since 0.1.0
 */
export const make = Effect.gen(function*() {
  const services = yield* Effect.context<MnesisServices>()
  const llmMap = yield* LlmMap
  const bus = yield* EventBus
  const settings = yield* Settings
  const store = yield* Storage.Storage
  const defaults: Runs.Defaults = { store, config: settings }
  const decodeLimits = decodeInput(Limits, "options")

  /** The work of one item: a sub-session, its turns, its final answer. */
  const worker = <A>(
    caller: Runs.Caller,
    spec: Spec,
    tools: ReadonlyArray<Tool>,
    output: Output<A>,
    run: { readonly runId: RunId; readonly total: number }
  ) => {
    const template = Template.parse(spec.template)
    const systemPrompt = [spec.systemPrompt ?? DEFAULT_SYSTEM, output.instructions].filter((t) =>
      t !== undefined
    )
      .join("\n\n")
    return (index: number, input: unknown) =>
      Effect.gen(function*() {
        const steps = yield* Ref.make(0)
        const usage = yield* Ref.make({ tokens: TokenUsage.zero, cost: 0 })
        const sessionRef = yield* Ref.make<SessionId | undefined>(undefined)
        const done = (outcome: Engine.Worked<A>["outcome"]) =>
          Effect.gen(function*() {
            const { cost, tokens } = yield* Ref.get(usage)
            const sessionId = yield* Ref.get(sessionRef)
            return {
              outcome,
              attempts: yield* Ref.get(steps),
              tokens,
              cost,
              ...(sessionId === undefined ? {} : { sessionId })
            } satisfies Engine.Worked<A>
          })
        const prompt = Either.flatMap(template, (t) => Either.mapLeft(Template.render(t, input), (m) => m))
        if (Either.isLeft(prompt)) {
          const message = typeof prompt.left === "string" ? prompt.left : prompt.left.message
          return yield* done({ _tag: "Failed", reason: { _tag: "InvalidItem", message } })
        }
        const options = {
          model: spec.model,
          systemPrompt,
          agent: "agentic_map",
          tools,
          memoryTools: spec.memoryTools,
          ...(spec.config === undefined ? {} : { config: spec.config }),
          metadata: Guard.mark(run.runId, index, run.total, caller.depth + 1)
        }
        type Outcome = Engine.Worked<A>["outcome"]
        const agent: Effect.Effect<Outcome, MnesisError, MnesisServices> = Effect.scoped(
          Effect.gen(function*() {
            const session = yield* Effect.acquireRelease(
              caller.session === undefined ? createSession(options) : spawn(caller.session, options),
              (session) => session.close
            )
            yield* Ref.set(sessionRef, session.id)
            // Its own operators: bound to its session, so the guard sees who delegates.
            const delegate = spec.operatorTools
              ? ModelTools.make({ llmMap, agenticMap: service }, session, {
                agentTools: tools,
                readOnly: spec.readOnly,
                nested: true
              })
              : []
            let message = prompt.right
            for (let round = 0;; round++) {
              const turn = yield* session.send(message, { maxSteps: spec.maxTurns, tools: delegate })
              yield* Ref.update(steps, (n) => n + turn.steps)
              yield* Ref.update(
                usage,
                (u) => ({ tokens: TokenUsage.add(u.tokens, turn.tokens), cost: u.cost + turn.cost })
              )
              if (!ENDS_WITH_ANSWER.has(turn.finishReason)) {
                return {
                  _tag: "Failed",
                  reason: {
                    _tag: "Incomplete",
                    finishReason: turn.finishReason,
                    message: turn.finishReason === "max_steps"
                      ? `the agent used its ${spec.maxTurns} turns without a final answer`
                      : `the agent stopped without a final answer (finish reason ${turn.finishReason})`
                  }
                } as const
              }
              const read = output.read(turn.text)
              if (Either.isRight(read)) return { _tag: "Done", ...read.right } as const
              if (round >= spec.maxRetries) {
                return {
                  _tag: "Failed",
                  reason: {
                    _tag: "InvalidOutput",
                    error: read.left,
                    reply: turn.text,
                    message: `the final answer did not match the schema after ${
                      round + 1
                    } tries: ${read.left}`
                  }
                } as const
              }
              // The agent sees why its answer was refused, in its own history.
              message = Structured.feedback(read.left)
            }
          })
        )
        const timeoutMs = spec.timeoutMs
        const bounded = timeoutMs === undefined ? agent : agent.pipe(
          Effect.timeoutTo({
            duration: Duration.millis(timeoutMs),
            onSuccess: (outcome): Outcome => outcome,
            onTimeout: (): Outcome => ({
              _tag: "Failed",
              reason: {
                _tag: "Timeout",
                timeoutMs,
                message: `the agent did not finish within ${timeoutMs} ms`
              }
            })
          })
        )
        const outcome = yield* Effect.either(Effect.provide(bounded, services))
        return yield* done(
          Either.isLeft(outcome) ? { _tag: "Failed", reason: failureOf(outcome.left) } : outcome.right
        )
      })
  }

  /** Runs `plan`'s items with sub-agents as `spec` says. */
  const start = <I, A>(
    caller: Runs.Caller,
    spec: Spec,
    tools: ReadonlyArray<Tool>,
    output: Output<A>,
    plan: Runs.PlanItems<I, A>,
    note: boolean
  ) =>
    Engine.run<I, A>({
      ...plan,
      operator: "agentic_map",
      model: spec.model,
      sessionId: caller.sessionId,
      // A sub-agent holds its slot for its whole task: its turns are one conversation.
      inFlight: spec.concurrency,
      work: worker(caller, spec, tools, output, plan),
      store: caller.store,
      publish: bus.publish,
      outputPath: spec.outputPath,
      onEnd: (end) =>
        Runs.leaveNote(
          caller,
          note,
          Runs.noteText({ id: plan.runId, operator: "agentic_map" }, end, {
            model: spec.model,
            template: spec.template,
            outputPath: spec.outputPath
          })
        )
    }, output.encode)

  /** The tools a run offers: all of them, or only those that only read. */
  const offered = (tools: ReadonlyArray<Tool>, readOnly: boolean) =>
    readOnly ? tools.filter((tool) => tool.readOnly === true) : tools

  const prepare = <I, A, E, IE>(
    options: Omit<RunOptions<I, E, IE>, "schema">,
    output: Output<A>,
    structured: boolean
  ) =>
    Effect.gen(function*() {
      yield* decodeLimits(options)
      const { caller, inputs, model, template } = yield* Runs.begin(defaults, options)
      const readOnly = options.readOnly ?? false
      const tools = offered(options.tools ?? [], readOnly)
      const spec: Spec = {
        template: template.source,
        model,
        ...(options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt }),
        toolNames: tools.map((tool) => tool.name),
        readOnly,
        maxTurns: options.maxTurns ?? 20,
        memoryTools: options.memoryTools ?? true,
        operatorTools: options.operatorTools ?? false,
        ...(options.config === undefined
          ? {}
          : { config: yield* decodeInput(ConfigInput, "config")(options.config) }),
        concurrency: options.concurrency ?? caller.config.operators.agenticMapConcurrency,
        maxRetries: options.maxRetries ?? caller.config.operators.maxRetries,
        ...(options.timeout === undefined ? {} : { timeoutMs: Duration.toMillis(options.timeout) }),
        structured,
        ...(options.output === undefined ? {} : { outputPath: options.output.jsonl })
      }
      const created = yield* Runs.create(caller, "agentic_map", Schema.encodeSync(Spec)(spec), inputs)
      const results = start<I, A>(
        caller,
        spec,
        tools,
        output,
        Runs.freshItems(created, inputs),
        options.note ?? true
      )
      return { runId: created.info.id, total: inputs.length, results }
    }).pipe(Effect.withSpan("AgenticMap.start", { captureStackTrace: false }))

  const prepareResume = <A>(
    runId: RunId | string,
    options: Omit<ResumeOptions, "schema">,
    output: Output<A>,
    structured: boolean
  ) =>
    Effect.gen(function*() {
      const caller = yield* Runs.callerOf(defaults, options.session, { items: 0 })
      const taken = yield* Runs.takeOver(caller.store, runId, "agentic_map")
      const stored = yield* decodeInput(Spec, "the run's stored spec")(taken.info.spec)
      if (stored.structured !== structured) {
        return yield* new InvalidInput({
          field: "schema",
          reason: stored.structured
            ? "the run decoded its answers with a schema: resume it with that schema"
            : "the run kept its answers as text: resume it without a schema"
        })
      }
      const tools = offered(options.tools ?? [], stored.readOnly)
      const missing = stored.toolNames.filter((name) => !tools.some((tool) => tool.name === name))
      if (missing.length > 0) {
        return yield* new InvalidInput({
          field: "tools",
          reason: `the run's sub-agents had ${
            missing.map((n) => `"${n}"`).join(", ")
          }; pass the same tools to resume`
        })
      }
      const spec: Spec = {
        ...stored,
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(options.output === undefined ? {} : { outputPath: options.output.jsonl })
      }
      const results = start<unknown, A>(
        caller,
        spec,
        tools,
        output,
        Runs.resumedItems(taken, output.decodeStored),
        options.session !== undefined
      )
      return { runId: taken.info.id, total: taken.info.total, results }
    }).pipe(Effect.withSpan("AgenticMap.resume", { captureStackTrace: false }))

  function run<I, E = never, IE = unknown>(
    options: RunOptions<I, E, IE>
  ): Stream.Stream<MapResult<I, string>, AgenticMapError | E>
  function run<I, A, AI, E = never, IE = unknown>(
    options: RunOptionsWithSchema<I, A, AI, E, IE>
  ): Stream.Stream<MapResult<I, A>, AgenticMapError | E>
  function run<I, A, AI, E, IE>(options: RunOptions<I, E, IE> | RunOptionsWithSchema<I, A, AI, E, IE>) {
    return options.schema === undefined
      ? Stream.unwrap(Effect.map(prepare(options, textOutput, false), (p) => p.results))
      : Stream.unwrap(Effect.map(prepare(options, schemaOutput(options.schema), true), (p) => p.results))
  }

  function runAll<I, E = never, IE = unknown>(
    options: RunOptions<I, E, IE>
  ): Effect.Effect<MapBatch<I, string>, AgenticMapError | E>
  function runAll<I, A, AI, E = never, IE = unknown>(
    options: RunOptionsWithSchema<I, A, AI, E, IE>
  ): Effect.Effect<MapBatch<I, A>, AgenticMapError | E>
  function runAll<I, A, AI, E, IE>(options: RunOptions<I, E, IE> | RunOptionsWithSchema<I, A, AI, E, IE>) {
    return options.schema === undefined
      ? Effect.flatMap(prepare(options, textOutput, false), Engine.collectBatch)
      : Effect.flatMap(prepare(options, schemaOutput(options.schema), true), Engine.collectBatch)
  }

  function resume(
    runId: RunId | string,
    options?: ResumeOptions
  ): Stream.Stream<MapResult<unknown, string>, AgenticMapError>
  function resume<A, AI>(
    runId: RunId | string,
    options: ResumeOptionsWithSchema<A, AI>
  ): Stream.Stream<MapResult<unknown, A>, AgenticMapError>
  function resume<A, AI>(
    runId: RunId | string,
    options: ResumeOptions | ResumeOptionsWithSchema<A, AI> = {}
  ) {
    return options.schema === undefined
      ? Stream.unwrap(Effect.map(prepareResume(runId, options, textOutput, false), (p) => p.results))
      : Stream.unwrap(
        Effect.map(prepareResume(runId, options, schemaOutput(options.schema), true), (p) => p.results)
      )
  }

  function resumeAll(
    runId: RunId | string,
    options?: ResumeOptions
  ): Effect.Effect<MapBatch<unknown, string>, AgenticMapError>
  function resumeAll<A, AI>(
    runId: RunId | string,
    options: ResumeOptionsWithSchema<A, AI>
  ): Effect.Effect<MapBatch<unknown, A>, AgenticMapError>
  function resumeAll<A, AI>(
    runId: RunId | string,
    options: ResumeOptions | ResumeOptionsWithSchema<A, AI> = {}
  ) {
    return options.schema === undefined
      ? Effect.flatMap(prepareResume(runId, options, textOutput, false), Engine.collectBatch)
      : Effect.flatMap(prepareResume(runId, options, schemaOutput(options.schema), true), Engine.collectBatch)
  }

  const service: Service = { run, runAll, resume, resumeAll }
  return service
})

/** The sub-sessions' configuration overrides, checked as the configuration would read them. */
const ConfigInput = Schema.encodedSchema(MnesisConfig)

/**
 * The service over the services sessions need.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<AgenticMap, never, MnesisServices | LlmMap> = Layer.effect(AgenticMap, make)

/**
 * Runs sub-agents over the items; results in completion order.
 *
 * @since 0.1.0
 */
export function run<I, E = never, IE = unknown>(
  options: RunOptions<I, E, IE>
): Stream.Stream<MapResult<I, string>, AgenticMapError | E, AgenticMap>
export function run<I, A, AI, E = never, IE = unknown>(
  options: RunOptionsWithSchema<I, A, AI, E, IE>
): Stream.Stream<MapResult<I, A>, AgenticMapError | E, AgenticMap>
export function run<I, A, AI, E, IE>(options: RunOptions<I, E, IE> | RunOptionsWithSchema<I, A, AI, E, IE>) {
  return Stream.unwrap(
    Effect.map(AgenticMap, (service) =>
      options.schema === undefined
        ? Stream.map(service.run(options), (r): MapResult<I, A | string> => r)
        : Stream.map(service.run(options), (r): MapResult<I, A | string> => r))
  )
}

/**
 * Runs sub-agents over the items; the batch when all are done.
 *
 * @since 0.1.0
 */
export function runAll<I, E = never, IE = unknown>(
  options: RunOptions<I, E, IE>
): Effect.Effect<MapBatch<I, string>, AgenticMapError | E, AgenticMap>
export function runAll<I, A, AI, E = never, IE = unknown>(
  options: RunOptionsWithSchema<I, A, AI, E, IE>
): Effect.Effect<MapBatch<I, A>, AgenticMapError | E, AgenticMap>
export function runAll<I, A, AI, E, IE>(
  options: RunOptions<I, E, IE> | RunOptionsWithSchema<I, A, AI, E, IE>
) {
  return Effect.flatMap(
    AgenticMap,
    (service): Effect.Effect<MapBatch<I, A | string>, AgenticMapError | E> =>
      options.schema === undefined ? service.runAll(options) : service.runAll(options)
  )
}

/**
 * Runs what an interrupted run left; earlier results come first.
 *
 * @since 0.1.0
 */
export function resume(
  runId: RunId | string,
  options?: ResumeOptions
): Stream.Stream<MapResult<unknown, string>, AgenticMapError, AgenticMap>
export function resume<A, AI>(
  runId: RunId | string,
  options: ResumeOptionsWithSchema<A, AI>
): Stream.Stream<MapResult<unknown, A>, AgenticMapError, AgenticMap>
export function resume<A, AI>(
  runId: RunId | string,
  options: ResumeOptions | ResumeOptionsWithSchema<A, AI> = {}
) {
  return Stream.unwrap(
    Effect.map(AgenticMap, (service) =>
      options.schema === undefined
        ? Stream.map(service.resume(runId, options), (r): MapResult<unknown, A | string> => r)
        : Stream.map(service.resume(runId, options), (r): MapResult<unknown, A | string> => r))
  )
}

/**
 * `resume`, collected.
 *
 * @since 0.1.0
 */
export function resumeAll(
  runId: RunId | string,
  options?: ResumeOptions
): Effect.Effect<MapBatch<unknown, string>, AgenticMapError, AgenticMap>
export function resumeAll<A, AI>(
  runId: RunId | string,
  options: ResumeOptionsWithSchema<A, AI>
): Effect.Effect<MapBatch<unknown, A>, AgenticMapError, AgenticMap>
export function resumeAll<A, AI>(
  runId: RunId | string,
  options: ResumeOptions | ResumeOptionsWithSchema<A, AI> = {}
) {
  return Effect.flatMap(
    AgenticMap,
    (service): Effect.Effect<MapBatch<unknown, A | string>, AgenticMapError> =>
      options.schema === undefined ? service.resumeAll(runId, options) : service.resumeAll(runId, options)
  )
}
