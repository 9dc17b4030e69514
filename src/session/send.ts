/**
 * `send` and `stream`: one managed turn (the user message stored, compaction awaited at the hard
 * threshold, the tool loop, the turn's end), with its live events delivered to an `onPart`
 * callback from a queue, or as a `Stream`.
 *
 * @internal
 */
import { Deferred, Effect, Exit, Fiber, Option, Queue, Ref, Stream, Take } from "effect"
import { assemblyReserve } from "../ContextBuilder.js"
import { TokenUsage } from "../Domain.js"
import { runCallback } from "../internal/callbacks.js"
import type * as Metrics from "../Metrics.js"
import type { MnesisError, SendOptions, Session, StreamEvent, TurnResult } from "../Session.js"
import type { Tool } from "../Tool.js"
import type { Announcer } from "./announce.js"
import type { SessionCore } from "./core.js"
import type { Lifecycle } from "./lifecycle.js"
import { decodeInput, SendOptions as SendOptionsInput } from "./options.js"
import type { Snapshots } from "./snapshots.js"
import { validateTools } from "./tools.js"
import { runTurn } from "./turn.js"
import { storeUserMessage } from "./userMessage.js"

/** How long a turn waits for a slow `onPart` callback to catch up before returning. */
const CALLBACK_DRAIN_TIMEOUT = "5 seconds"

export interface Parts {
  readonly lifecycle: Lifecycle
  readonly announcer: Announcer
  readonly snapshots: Snapshots
  /** The tools offered on every turn (the session's and, if asked for, the memory tools). */
  readonly tools: ReadonlyArray<Tool>
}

/** Records a turn's metrics around it (see `Metrics.trackTurns`). */
type TurnTracker = Effect.Effect.Success<ReturnType<typeof Metrics.trackTurns>>

export const makeSend = (core: SessionCore, parts: Parts, trackTurn: TurnTracker) => {
  const { compaction, config, count, row, sessionId, systemTokens, usage } = core
  const { snapshots } = parts

  const turn = <R>(
    message: Parameters<Session["send"]>[0],
    options: Omit<SendOptions<R>, "onPart">,
    emit: (event: StreamEvent) => Effect.Effect<void>
  ): Effect.Effect<TurnResult, MnesisError, R> =>
    parts.lifecycle.guarded(trackTurn(Effect.gen(function*() {
      const tools = [...parts.tools, ...(options.tools ?? [])]
      yield* validateTools(tools)
      const systemPrompt = options.systemPrompt ?? row.systemPrompt
      yield* storeUserMessage(core, parts.announcer, message, systemPrompt)
      const waited = Option.getOrUndefined(yield* compaction.beforeTurn)
      const outcome = yield* runTurn(core.turnEnv, {
        systemPrompt,
        tools,
        maxSteps: options.maxSteps ?? config.session.maxSteps,
        emit,
        snapshotFor: ({ context, messageId, messageTokens }) =>
          snapshots.withMessage({
            messageId,
            context: context.breakdown,
            compactionResult: waited,
            sizeAfter: systemTokens + context.contextTokens + messageTokens + assemblyReserve(count),
            added: messageTokens
          })
      })
      yield* Ref.update(usage, (total) => TokenUsage.add(total, outcome.tokens))
      // A turn that ended after tools ran (host tools, max steps, doom loop) has no snapshot yet.
      const { compactionTriggered } = outcome.snapshot ?? (yield* snapshots.afterStored({
        messageId: outcome.messageId,
        context: outcome.context.breakdown,
        compactionResult: waited
      }))
      const { context: _context, snapshot: _snapshot, ...result } = outcome
      return {
        ...result,
        context: outcome.context.breakdown,
        compactionTriggered,
        ...(waited === undefined ? {} : { compactionResult: waited })
      } satisfies TurnResult
    }))).pipe(Effect.withSpan("Session.send", { attributes: { sessionId }, captureStackTrace: false }))

  const decodeSendOptions = decodeInput(SendOptionsInput, "options")

  /** `send` with options of the right shape. */
  const sendChecked: Session["send"] = (message, options = {}) => {
    const onPart = options.onPart
    if (onPart === undefined) return turn(message, options, () => Effect.void)
    // Deliver events from a queue in another fiber: a slow callback never holds the stream.
    return Effect.gen(function*() {
      type Item = { readonly event: StreamEvent } | { readonly flushed: Deferred.Deferred<void> }
      const queue = yield* Queue.unbounded<Item>()
      const consumer = yield* Queue.take(queue).pipe(
        Effect.flatMap((item) =>
          "flushed" in item
            ? Deferred.succeed(item.flushed, undefined)
            : runCallback(onPart, item.event, "the onPart callback")
        ),
        Effect.forever,
        Effect.fork
      )
      const drain = Effect.gen(function*() {
        const flushed = yield* Deferred.make<void>()
        yield* Queue.offer(queue, { flushed })
        const delivered = yield* Deferred.await(flushed).pipe(
          Effect.timeoutTo({
            duration: CALLBACK_DRAIN_TIMEOUT,
            onSuccess: () => true,
            onTimeout: () => false
          })
        )
        if (!delivered) {
          yield* Effect.logWarning(
            `the onPart callback did not take the turn's last events within ${CALLBACK_DRAIN_TIMEOUT}; ` +
              "they were not delivered (the turn itself is stored): keep onPart quick or hand work off"
          )
        }
        yield* Fiber.interrupt(consumer)
      })
      // Deliver what the turn produced (also when it failed); an interrupted turn stops at once.
      return yield* turn(message, options, (event) => Queue.offer(queue, { event })).pipe(
        Effect.onExit((exit) => Exit.isInterrupted(exit) ? Fiber.interrupt(consumer) : drain)
      )
    })
  }

  const send: Session["send"] = (message, options = {}) =>
    Effect.flatMap(decodeSendOptions(options), () => sendChecked(message, options))

  const stream: Session["stream"] = (message, options = {}) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      yield* decodeSendOptions(options)
      const queue = yield* Queue.unbounded<Take.Take<StreamEvent, MnesisError>>()
      yield* turn(message, options, (event) => Queue.offer(queue, Take.of(event))).pipe(
        Effect.matchCauseEffect({
          onFailure: (cause) => Queue.offer(queue, Take.failCause(cause)),
          onSuccess: (result) => Queue.offerAll(queue, [Take.of({ type: "turn_complete", result }), Take.end])
        }),
        Effect.forkScoped
      )
      return Stream.flattenTake(Stream.fromQueue(queue))
    }))

  return { send, stream }
}
