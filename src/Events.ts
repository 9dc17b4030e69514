/**
 * Events: the typed union of everything a session reports (SPEC §11), and the `EventBus` that
 * delivers them through a `PubSub`. Publishing never waits for subscribers: each subscriber reads
 * its own queue in its own fiber, so a slow or failing handler delays or loses only itself.
 *
 * @since 0.1.0
 */
import { Context, Effect, Fiber, Layer, PubSub, Queue, Schema, type Scope, Stream } from "effect"
import { CompactionResult, MessageId, PartId, Role, SessionId, TokenUsage, ToolStatus } from "./Domain.js"
import { runCallback } from "./internal/callbacks.js"
import { OperatorName, RunId } from "./operators/Run.js"

const base = { sessionId: SessionId, at: Schema.Number }

export class SessionCreated extends Schema.TaggedClass<SessionCreated>()("SessionCreated", {
  ...base,
  model: Schema.String,
  parentId: Schema.optional(SessionId)
}) {}
export class SessionClosed extends Schema.TaggedClass<SessionClosed>()("SessionClosed", base) {}
export class MessageCreated extends Schema.TaggedClass<MessageCreated>()("MessageCreated", {
  ...base,
  messageId: MessageId,
  role: Role,
  isSummary: Schema.Boolean
}) {}
export class PartUpdated extends Schema.TaggedClass<PartUpdated>()("PartUpdated", {
  ...base,
  messageId: MessageId,
  partId: PartId,
  toolName: Schema.String,
  status: ToolStatus
}) {}
export class CompactionTriggered extends Schema.TaggedClass<CompactionTriggered>()("CompactionTriggered", {
  ...base,
  /** Size of the active context that crossed the threshold. */
  contextTokens: Schema.Number,
  threshold: Schema.Literal("soft", "hard", "manual")
}) {}
export class CompactionCompleted extends Schema.TaggedClass<CompactionCompleted>()("CompactionCompleted", {
  ...base,
  result: CompactionResult
}) {}
export class CompactionFailed extends Schema.TaggedClass<CompactionFailed>()("CompactionFailed", {
  ...base,
  error: Schema.String
}) {}
export class PruneCompleted extends Schema.TaggedClass<PruneCompleted>()("PruneCompleted", {
  ...base,
  count: Schema.Number,
  tokens: Schema.Number
}) {}
export class LlmRetry extends Schema.TaggedClass<LlmRetry>()("LlmRetry", {
  ...base,
  attempt: Schema.Number,
  maxRetries: Schema.Number,
  errorTag: Schema.String,
  error: Schema.String,
  delayMs: Schema.Number
}) {}
export class DoomLoopDetected extends Schema.TaggedClass<DoomLoopDetected>()("DoomLoopDetected", {
  ...base,
  toolName: Schema.String,
  /** How many identical consecutive calls were seen. */
  repeats: Schema.Number
}) {}
/**
 * What every operator event carries: the run, and the session that started it (absent for runs
 * started outside a session; such events reach only the bus, never a session's subscribers).
 */
const mapBase = {
  sessionId: Schema.optional(SessionId),
  at: Schema.Number,
  runId: RunId,
  operator: OperatorName
}

export class MapStarted extends Schema.TaggedClass<MapStarted>()("MapStarted", {
  ...mapBase,
  total: Schema.Number,
  /** Items this start will run (fewer than `total` when a run is resumed). */
  pending: Schema.Number,
  model: Schema.String
}) {}
export class MapItemCompleted extends Schema.TaggedClass<MapItemCompleted>()("MapItemCompleted", {
  ...mapBase,
  index: Schema.Number,
  success: Schema.Boolean,
  attempts: Schema.Number,
  /** Items finished so far, this one included (those finished before a resume count too). */
  completed: Schema.Number,
  total: Schema.Number,
  tokens: TokenUsage,
  cost: Schema.Number
}) {}
export class MapCompleted extends Schema.TaggedClass<MapCompleted>()("MapCompleted", {
  ...mapBase,
  /** `interrupted` when the run stopped before every item finished (resume it to go on). */
  status: Schema.Literal("completed", "interrupted"),
  total: Schema.Number,
  succeeded: Schema.Number,
  failed: Schema.Number,
  attempts: Schema.Number,
  tokens: TokenUsage,
  cost: Schema.Number
}) {}

export const MnesisEvent = Schema.Union(
  SessionCreated,
  SessionClosed,
  MessageCreated,
  PartUpdated,
  CompactionTriggered,
  CompactionCompleted,
  CompactionFailed,
  PruneCompleted,
  LlmRetry,
  DoomLoopDetected,
  MapStarted,
  MapItemCompleted,
  MapCompleted
)
export type MnesisEvent = typeof MnesisEvent.Type
export type EventTag = MnesisEvent["_tag"]

/** A handler: an Effect-returning function, or a plain (possibly async) function. */
export type Handler<E extends MnesisEvent = MnesisEvent> = (
  event: E
) => Effect.Effect<unknown, unknown> | Promise<unknown> | unknown

/** The events a `subscribe(tag)` handler receives. */
export type EventOf<T extends EventTag | "*"> = T extends "*" ? MnesisEvent
  : Extract<MnesisEvent, { _tag: T }>

/**
 * @since 0.1.0
 */
export interface Service {
  readonly publish: (event: MnesisEvent) => Effect.Effect<void>
  /** Every event published from now on, while the stream is consumed. */
  readonly events: Stream.Stream<MnesisEvent>
  /**
   * Runs `handler` for each event of `tag` (or every event for `"*"`) until the scope closes or
   * the returned effect is run. The subscription is active when this effect returns.
   */
  readonly subscribe: <T extends EventTag | "*">(
    tag: T,
    handler: Handler<EventOf<T>>,
    options?: SubscribeOptions
  ) => Effect.Effect<Subscription, never, Scope.Scope>
}

export interface SubscribeOptions {
  /** Only events passing this test reach the handler. */
  readonly filter?: ((event: MnesisEvent) => boolean) | undefined
  /** The subscription ends after handling (or skipping) the first event passing this test. */
  readonly until?: ((event: MnesisEvent) => boolean) | undefined
}

export interface Subscription {
  /** Stops the subscription now. */
  readonly unsubscribe: Effect.Effect<void>
  /** Completes when the subscription has ended (by `until`, `unsubscribe` or its scope). */
  readonly done: Effect.Effect<void>
}

export class EventBus extends Context.Tag("mnesis/EventBus")<EventBus, Service>() {}

/**
 * @since 0.1.0
 */
export const make: Effect.Effect<Service, never, Scope.Scope> = Effect.gen(function*() {
  const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<MnesisEvent>(), PubSub.shutdown)
  const subscribe: Service["subscribe"] = (tag, handler, options = {}) =>
    Effect.gen(function*() {
      const queue = yield* PubSub.subscribe(pubsub)
      const wanted = (event: MnesisEvent): event is EventOf<typeof tag> =>
        (tag === "*" || event._tag === tag) && (options.filter === undefined || options.filter(event))
      const handle = (event: MnesisEvent) =>
        wanted(event)
          ? runCallback(handler, event, `the handler of ${event._tag} events`).pipe(
            Effect.annotateLogs({ event: event._tag, sessionId: event.sessionId })
          )
          : Effect.void
      const loop: Effect.Effect<void> = Effect.flatMap(Queue.take(queue), (event) =>
        Effect.zipRight(
          handle(event),
          options.until !== undefined && options.until(event) ? Effect.void : Effect.suspend(() => loop)
        ))
      const fiber = yield* Effect.forkScoped(loop)
      return {
        unsubscribe: Fiber.interrupt(fiber).pipe(Effect.zipRight(Queue.shutdown(queue)), Effect.asVoid),
        done: Effect.asVoid(Fiber.await(fiber))
      }
    })
  return {
    // After shutdown (the layer is closing) there is nobody left to tell: drop the event.
    publish: (event) =>
      Effect.asVoid(Effect.unlessEffect(PubSub.publish(pubsub, event), PubSub.isShutdown(pubsub))),
    events: Stream.fromPubSub(pubsub),
    subscribe
  }
})

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<EventBus> = Layer.scoped(EventBus, make)
