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
import type { CompactionResult, Message, PartInput, TokenUsage, TurnSnapshot } from "./Domain.js"
import type { EventOf, EventTag, MnesisEvent } from "./Events.js"
import { MnesisLive } from "./Layers.js"
import type * as MemoryTools from "./MemoryTools.js"
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
  send(message: string | ReadonlyArray<PartInput>, options?: Session.SendOptions): Promise<Session.TurnResult>
  /** Live events of a turn: deltas, tool calls and results, and a final `turn_complete`. */
  stream(
    message: string | ReadonlyArray<PartInput>,
    options?: Omit<Session.SendOptions, "onPart">
  ): AsyncIterable<Session.StreamEvent>
  record(input: Session.RecordInput): Promise<Session.RecordResult>
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
  return {
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
}

/**
 * An entry point bound to one runtime (one set of services: store, provider, configuration).
 *
 * @since 0.1.0
 */
export interface Client {
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
