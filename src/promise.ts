/**
 * `mnesis/promise`: the same engine for programs that do not use Effect.
 *
 * ```ts
 * import { Mnesis } from "mnesis/promise"
 *
 * // `await using` needs TypeScript ≥ 5.2 (or a runtime with explicit resource management);
 * // in plain JavaScript on Node 20, call `await session.close()` in a `finally` instead.
 * await using session = await Mnesis.open({ model: "anthropic/claude-opus-4-6" })
 * const turn = await session.send("Explain the GIL in Python.")
 * console.log(turn.text)
 * ```
 *
 * Every call runs on one `ManagedRuntime` (by default built from `MnesisLive`, so the environment
 * configures it: `MNESIS_DB_PATH`, `MNESIS_MOCK_LLM=1`, provider keys). Failures reject with the
 * library's own errors, which are `Error` subclasses carrying `_tag` and their fields
 * (`err._tag === "ContextOverflow"`, `err.needed`, …).
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, type Layer, ManagedRuntime, Option, Stream } from "effect"
import type { BuiltContext } from "./ContextBuilder.js"
import type { CompactionResult, Message, TokenUsage, TurnSnapshot } from "./Domain.js"
import type { EventOf, EventTag, MnesisEvent } from "./Events.js"
import { MnesisLive } from "./Layers.js"
import type * as MemoryTools from "./MemoryTools.js"
import * as Operators from "./Operators.js"
import { AgenticMap, LlmMap } from "./Operators.js"
import * as Session from "./Session.js"

type Services = Session.MnesisServices

/** Runs an effect and rejects with the typed error itself (not a wrapper), or a defect as is. */
const run = <A, E>(
  runtime: ManagedRuntime.ManagedRuntime<Services, unknown>,
  effect: Effect.Effect<A, E, Services>
) =>
  runtime.runPromiseExit(effect).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    throw squash(exit.cause)
  })

const interrupted = () => new Error("the operation was interrupted")

const squash = (cause: Cause.Cause<unknown>): unknown =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => error,
    onNone: () => Cause.isInterruptedOnly(cause) ? interrupted() : Cause.squash(cause)
  })

/**
 * A session for async/await callers.
 *
 * @since 0.1.0
 */
export interface PromiseSession extends AsyncDisposable {
  readonly id: string
  readonly model: string
  readonly systemPrompt: string
  send(
    message: string | ReadonlyArray<Session.MessagePart>,
    options?: Session.SendOptions
  ): Promise<Session.TurnResult>
  /** Live events of a turn: deltas, tool calls and results, and a final `turn_complete`. */
  stream(
    message: string | ReadonlyArray<Session.MessagePart>,
    options?: Omit<Session.SendOptions, "onPart">
  ): AsyncIterable<Session.StreamEvent>
  record(input: Session.RecordInput): Promise<Session.RecordResult>
  /**
   * A file (a path, or `{ path, content }`) made ready for a message: its text, or a reference with
   * its content stored (see `Session.attachFile`). Rejects with `FileError` when it cannot be read.
   */
  attachFile(file: Session.AttachFileInput): Promise<Session.AttachedFile>
  contextForNextTurn(options?: { readonly systemPrompt?: string }): Promise<BuiltContext>
  compact(): Promise<CompactionResult>
  messages(options?: { readonly includeSummaries?: boolean }): Promise<ReadonlyArray<Message>>
  /** The turn snapshots: all, or a page (`{ afterTurn, limit }`). */
  history(options?: Session.HistoryOptions): Promise<ReadonlyArray<TurnSnapshot>>
  tokenUsage(): Promise<TokenUsage>
  compactionInProgress(): Promise<boolean>
  /** Waits for the background round in flight, if any; its result, or `undefined` when none ran. */
  awaitCompaction(): Promise<CompactionResult | undefined>
  grep(input: MemoryTools.GrepInput): Promise<MemoryTools.GrepResult>
  describe(input: MemoryTools.DescribeInput): Promise<MemoryTools.DescribeResult>
  expand(input: MemoryTools.ExpandInput): Promise<MemoryTools.ExpandResult>
  /**
   * Calls `handler` for each event of `tag` (or all with `"*"`) until the session closes; resolves
   * once the subscription is active, with a function that ends it.
   */
  on<T extends EventTag | "*">(tag: T, handler: (event: EventOf<T>) => unknown): Promise<() => Promise<void>>
  /** Idempotent. */
  close(): Promise<void>
}

const wrap = (
  runtime: ManagedRuntime.ManagedRuntime<Services, unknown>,
  session: Session.Session,
  onClose: () => void
): PromiseSession => {
  const go = <A, E>(effect: Effect.Effect<A, E, Services>) => run(runtime, effect)
  const close = () => go(session.close).finally(onClose)
  const wrapped: PromiseSession = {
    id: session.id,
    model: session.model,
    systemPrompt: session.systemPrompt,
    send: (message, options) => go(session.send(message, options)),
    stream: (message, options) => ({
      async *[Symbol.asyncIterator]() {
        const events = Stream.toAsyncIterableRuntime(
          session.stream(message, options),
          await runtime.runtime()
        )
        try {
          for await (const event of events) yield event
        } catch (error) {
          // The iterator rejects with the squashed cause: the typed error itself, or Effect's
          // InterruptedException, which reads here as `run`'s interruption error does.
          throw Cause.isInterruptedException(error) ? interrupted() : error
        }
      }
    }),
    record: (input) => go(session.record(input)),
    attachFile: (file) => go(session.attachFile(file)),
    contextForNextTurn: (options) => go(session.contextForNextTurn(options)),
    compact: () => go(session.compact()),
    messages: (options) => go(session.messages(options)),
    history: (options) => go(session.history(options)),
    tokenUsage: () => go(session.tokenUsage),
    compactionInProgress: () => go(session.compactionInProgress),
    awaitCompaction: () => go(Effect.map(session.awaitCompaction, Option.getOrUndefined)),
    grep: (input) => go(session.grep(input)),
    describe: (input) => go(session.describe(input)),
    expand: (input) => go(session.expand(input)),
    on: (tag, handler) => go(Effect.map(session.subscribe(tag, handler), (off) => () => go(off))),
    close,
    [Symbol.asyncDispose]: close
  }
  sessions.set(wrapped, session)
  return wrapped
}

// ---------------------------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------------------------

/** The Effect session behind each Promise session (operators started from one run in it). */
const sessions = new WeakMap<PromiseSession, Session.Session>()

/** Operator options for Promise callers: the session, if any, is a Promise session. */
export type WithPromiseSession<O> = Omit<O, "session"> & { readonly session?: PromiseSession | undefined }

/**
 * One operator run for async/await callers: iterate it (`for await`) for results in completion
 * order, or `await run.all()` for the batch. A run starts when first iterated or asked for all,
 * and only once: iterating again, or both, is refused (a second start would be a second run).
 *
 * @since 0.1.0
 */
export interface PromiseRun<I, A> extends AsyncIterable<Operators.MapResult<I, A>> {
  all(): Promise<Operators.MapBatch<I, A>>
}

const ALREADY_STARTED = "this run has started already; start another for more results"

const oneShot = <I, A, E>(
  runtime: ManagedRuntime.ManagedRuntime<Services, unknown>,
  prepare: () => Stream.Stream<Operators.MapResult<I, A>, E, Services>,
  batch: () => Effect.Effect<Operators.MapBatch<I, A>, E, Services>
): PromiseRun<I, A> => {
  let started = false
  const start = () => {
    if (started) throw new Error(ALREADY_STARTED)
    started = true
  }
  return {
    all: () => {
      if (started) return Promise.reject(new Error(ALREADY_STARTED))
      start()
      return run(runtime, batch())
    },
    async *[Symbol.asyncIterator]() {
      start()
      const results = Stream.toAsyncIterableRuntime(prepare(), await runtime.runtime())
      try {
        for await (const result of results) yield result
      } catch (error) {
        throw Cause.isInterruptedException(error) ? interrupted() : error
      }
    }
  }
}

/** Operator options with the Effect session of their Promise session (when they name one). */
const withEffectSession = <O extends { readonly session?: PromiseSession | undefined }>(
  options: O
): Omit<O, "session"> & { readonly session?: Session.Session } => {
  const { session, ...rest } = options
  if (session === undefined) return rest
  const found = sessions.get(session)
  if (found === undefined) throw new Error("session: must be a session opened by this library's Promise API")
  return { ...rest, session: found }
}

/** Operators over the client's runtime (the operators' layer on top of its services). */
const operatorsOf = (runtime: ManagedRuntime.ManagedRuntime<Services, unknown>) => {
  const provide = <A, E>(effect: Effect.Effect<A, E, Services | LlmMap.LlmMap | AgenticMap.AgenticMap>) =>
    Effect.provide(effect, Operators.layer)
  const provideStream = <A, E>(
    stream: Stream.Stream<A, E, Services | LlmMap.LlmMap | AgenticMap.AgenticMap>
  ) => Stream.provideSomeLayer(stream, Operators.layer)
  function agenticMap<I>(options: WithPromiseSession<AgenticMap.RunOptions<I>>): PromiseRun<I, string>
  function agenticMap<I, A, AI>(
    options: WithPromiseSession<AgenticMap.RunOptionsWithSchema<I, A, AI>>
  ): PromiseRun<I, A>
  function agenticMap<I, A, AI>(
    options:
      | WithPromiseSession<AgenticMap.RunOptions<I>>
      | WithPromiseSession<AgenticMap.RunOptionsWithSchema<I, A, AI>>
  ): PromiseRun<I, A> | PromiseRun<I, string> {
    if (options.schema === undefined) {
      const full = { ...withEffectSession(options), schema: undefined }
      return oneShot(
        runtime,
        () => provideStream(AgenticMap.run(full)),
        () => provide(AgenticMap.runAll(full))
      )
    }
    const full = { ...withEffectSession(options), schema: options.schema }
    return oneShot(runtime, () => provideStream(AgenticMap.run(full)), () => provide(AgenticMap.runAll(full)))
  }
  return {
    llmMap: <I, A, AI>(options: WithPromiseSession<LlmMap.RunOptions<I, A, AI>>): PromiseRun<I, A> => {
      const full = withEffectSession(options)
      return oneShot(runtime, () => provideStream(LlmMap.run(full)), () => provide(LlmMap.runAll(full)))
    },
    agenticMap,
    resumeLlmMap: <A, AI>(
      runId: string,
      options: WithPromiseSession<LlmMap.ResumeOptions<A, AI>>
    ): PromiseRun<unknown, A> => {
      const full = withEffectSession(options)
      return oneShot(
        runtime,
        () => provideStream(LlmMap.resume(runId, full)),
        () => provide(LlmMap.resumeAll(runId, full))
      )
    },
    resumeAgenticMap: (
      runId: string,
      options: WithPromiseSession<AgenticMap.ResumeOptions> = {}
    ): PromiseRun<unknown, string> => {
      const full = { ...withEffectSession(options), schema: undefined }
      return oneShot(
        runtime,
        () => provideStream(AgenticMap.resume(runId, full)),
        () => provide(AgenticMap.resumeAll(runId, full))
      )
    }
  }
}

/** What a client offers besides sessions: the operators. */
export interface OperatorsClient {
  /** LLM-Map (see `Operators.LlmMap`): one model call per item, replies decoded with the schema. */
  llmMap<I, A, AI>(options: WithPromiseSession<LlmMap.RunOptions<I, A, AI>>): PromiseRun<I, A>
  /** Agentic-Map (see `Operators.AgenticMap`): one sub-agent per item. */
  agenticMap<I>(options: WithPromiseSession<AgenticMap.RunOptions<I>>): PromiseRun<I, string>
  agenticMap<I, A, AI>(
    options: WithPromiseSession<AgenticMap.RunOptionsWithSchema<I, A, AI>>
  ): PromiseRun<I, A>
  /** Finishes an interrupted LLM-Map run: earlier results first, then the items left. */
  resumeLlmMap<A, AI>(
    runId: string,
    options: WithPromiseSession<LlmMap.ResumeOptions<A, AI>>
  ): PromiseRun<unknown, A>
  /** Finishes an interrupted Agentic-Map run whose answers are text (pass the run's tools again). */
  resumeAgenticMap(
    runId: string,
    options?: WithPromiseSession<AgenticMap.ResumeOptions>
  ): PromiseRun<unknown, string>
}

/**
 * An entry point bound to one runtime (one set of services: store, provider, configuration).
 *
 * @since 0.1.0
 */
export interface Client extends OperatorsClient {
  open(options: Session.OpenOptions): Promise<PromiseSession>
  load(id: string, options?: Session.LoadOptions): Promise<PromiseSession>
  /** Closes the sessions still open (as `close` does), then the runtime and its store. */
  dispose(): Promise<void>
}

/**
 * A client over any layer providing mnesis's services (`MnesisLive`, `makeLive({...})`,
 * `MnesisTest`, or your own from `makeLayer`).
 *
 * @since 0.1.0
 */
export const client = <E>(layer: Layer.Layer<Services, E>): Client => {
  const runtime = ManagedRuntime.make(layer) as ManagedRuntime.ManagedRuntime<Services, unknown>
  // Sessions still open at `dispose` are closed first, so their background rounds finish (or
  // time out) before the store goes away.
  const open = new Set<PromiseSession>()
  const track = (session: Session.Session) => {
    const wrapped: PromiseSession = wrap(runtime, session, () => open.delete(wrapped))
    open.add(wrapped)
    return wrapped
  }
  return {
    ...operatorsOf(runtime),
    open: (options) => run(runtime, Session.create(options)).then(track),
    load: (id, options) => run(runtime, Session.load(id, options)).then(track),
    dispose: async () => {
      await Promise.allSettled([...open].map((session) => session.close()))
      await runtime.dispose()
    }
  }
}

let shared: Client | undefined
const defaultClient = () => (shared ??= client(MnesisLive))

/**
 * The default entry point, on `MnesisLive` (configured from the environment).
 *
 * @since 0.1.0
 */
export const Mnesis = {
  open: (options: Session.OpenOptions): Promise<PromiseSession> => defaultClient().open(options),
  load: (id: string, options?: Session.LoadOptions): Promise<PromiseSession> =>
    defaultClient().load(id, options),
  /** LLM-Map on the default runtime (see {@link OperatorsClient}). */
  llmMap: <I, A, AI>(options: WithPromiseSession<LlmMap.RunOptions<I, A, AI>>): PromiseRun<I, A> =>
    defaultClient().llmMap(options),
  /** Agentic-Map on the default runtime, answers as text (see {@link OperatorsClient}). */
  agenticMap: <I>(options: WithPromiseSession<AgenticMap.RunOptions<I>>): PromiseRun<I, string> =>
    defaultClient().agenticMap(options),
  /** A client on another layer (tests, custom providers, several databases). */
  client,
  /** Closes the default runtime (its store); the next `open` starts a new one. */
  shutdown: async (): Promise<void> => {
    const current = shared
    shared = undefined
    if (current !== undefined) await current.dispose()
  }
} as const

export type { MnesisEvent }
export * from "./Errors.js"
