/**
 * The `Compactor`: keeps each session's active context under its budget (SPEC §5). A session
 * asks it, through a per-session handle, three things:
 *
 * - before a turn calls the model: at or above the hard threshold, run or join rounds until the
 *   context is below it (the turn waits);
 * - after a turn: at or above the soft threshold with no round in flight, fork one round in the
 *   session's scope (the turn does not wait);
 * - on demand (`compact()`): run a round, or join the one in flight instead of starting another.
 *
 * Rounds never fail a session: a failure is a `CompactionFailed` event (and a warning in the log).
 * Measuring the context is different before a turn: if the store cannot say how big the context
 * is, `beforeTurn` fails the turn with the store's error rather than guess. The turn is about to
 * read the same store to assemble its context, so guessing "small" would only hide the cause
 * behind a later failure (or an over-budget request), and guessing "big" would start a round
 * that pays for summaries it most likely cannot commit.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Random,
  Ref,
  type Scope,
  Stream,
  SynchronizedRef
} from "effect"
import { prune } from "./compaction/Pruner.js"
import {
  type CondenseMode,
  condenseRound,
  leafRound,
  type RoundEnv,
  type RoundOutcome
} from "./compaction/Rounds.js"
import type { Budget, MnesisConfig } from "./Config.js"
import type { Count } from "./context/Render.js"
import { CompactionResult } from "./Domain.js"
import type { ContextItem, Message, MessageId, SessionId } from "./Domain.js"
import type { SessionNotFound } from "./Errors.js"
import type { MnesisEvent } from "./Events.js"
import { CompactionCompleted, CompactionFailed, CompactionTriggered } from "./Events.js"
import * as GenAiTelemetry from "./llm/shared/GenAiTelemetry.js"
import type { Service as Provider } from "./LlmProvider.js"
import { LlmProvider } from "./LlmProvider.js"
import * as Metrics from "./Metrics.js"
import * as ModelRegistry from "./ModelRegistry.js"
import type { ModelInfo } from "./ModelRegistry.js"
import type * as Storage from "./Storage.js"

/** What the compactor knows of a session. */
export interface SessionContext {
  readonly sessionId: SessionId
  readonly agent: string
  readonly model: ModelInfo
  readonly config: MnesisConfig
  readonly budget: Budget
  /**
   * The active context's size as the thresholds see it: the system prompt, every context item,
   * and the builder's reserve — so a context below the hard threshold always fits whole.
   */
  readonly contextSize: Effect.Effect<number, Storage.StoreFailure>
  /** The context's items in position order (cheap: read incrementally between changes). */
  readonly contextItems: Effect.Effect<ReadonlyArray<ContextItem>, Storage.StoreFailure>
  readonly store: Storage.Service
  readonly count: Count
  readonly publish: (event: MnesisEvent) => Effect.Effect<void>
  /** Forget cached renderings of items a round changed. */
  readonly invalidate: (ids: ReadonlyArray<string>) => Effect.Effect<void>
  /** Messages of the context, in the order asked (from the session's cache where possible). */
  readonly messages: (
    ids: ReadonlyArray<MessageId>
  ) => Effect.Effect<ReadonlyArray<Message>, Storage.StoreFailure>
}

/**
 * A session's compaction handle, living in the session's scope.
 *
 * @since 0.1.0
 */
export interface SessionCompactor {
  /**
   * Waits (running or joining rounds) while the context is at or above the hard threshold; fails
   * with the store's error when the context cannot be measured.
   */
  readonly beforeTurn: Effect.Effect<Option.Option<CompactionResult>, Storage.StoreFailure>
  /**
   * Forks a round when the context is at or above the soft threshold; true if it did.
   * `estimate` is the caller's figure for the context after this turn (below the threshold it
   * saves a read); `pendingTokens` is what the turn will still add (a reply not yet stored).
   */
  readonly afterTurn: (estimate?: number, pendingTokens?: number) => Effect.Effect<boolean>
  /** Runs a round now, or joins the one in flight. */
  readonly compact: Effect.Effect<CompactionResult>
  readonly inProgress: Effect.Effect<boolean>
  /** Joins the round in flight, if any. */
  readonly awaitIdle: Effect.Effect<Option.Option<CompactionResult>>
  /** Waits for an in-flight round up to `timeout`, then interrupts it (on session close). */
  readonly shutdown: (timeout: Duration.DurationInput) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 */
export interface Service {
  readonly forSession: (context: SessionContext) => Effect.Effect<SessionCompactor, never, Scope.Scope>
}

export class Compactor extends Context.Tag("mnesis/Compactor")<Compactor, Service>() {}

/**
 * A compactor that never compacts (for hosts that manage memory themselves, and for tests of
 * everything else). `compact()` honestly reports that nothing changed.
 *
 * @since 0.1.0
 */
export const layerDisabled: Layer.Layer<Compactor> = Layer.succeed(Compactor, {
  forSession: (context) =>
    Effect.succeed({
      beforeTurn: Effect.succeedNone,
      afterTurn: () => Effect.succeed(false),
      compact: Effect.catchAllCause(
        Effect.map(context.contextSize, (tokens) => CompactionResult.none(tokens)),
        (cause) =>
          Effect.as(reportFailure(context, "measuring the context failed", cause), CompactionResult.none(0))
      ),
      inProgress: Effect.succeed(false),
      awaitIdle: Effect.succeedNone,
      shutdown: () => Effect.void
    })
})

/** Says that compaction failed, in the log and as a `CompactionFailed` event. */
const reportFailure = (
  context: Pick<SessionContext, "sessionId" | "publish">,
  what: string,
  cause: Cause.Cause<unknown>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    yield* Effect.logWarning(`${what}; the session goes on`, cause)
    yield* context.publish(
      new CompactionFailed({ sessionId: context.sessionId, at, error: `${what}: ${Cause.pretty(cause)}` })
    )
  }).pipe(Effect.annotateLogs({ sessionId: context.sessionId }))

// ---------------------------------------------------------------------------------------------
// The compactor
// ---------------------------------------------------------------------------------------------

type Trigger = "soft" | "hard" | "manual"

type RoundFiber = Fiber.RuntimeFiber<CompactionResult>

/** The round a caller asked for: the fiber to join, and whether the call started it. */
interface RoundHandle {
  readonly fiber: RoundFiber
  readonly started: boolean
}

/**
 * The compactor of SPEC §5, summarising with the session's provider.
 *
 * @since 0.1.0
 */
export const make: Effect.Effect<Service, never, LlmProvider> = Effect.gen(function*() {
  const provider = yield* LlmProvider
  const forSession = (context: SessionContext) =>
    Effect.gen(function*() {
      const scope = yield* Effect.scope
      const config = context.config.compaction
      const compactionModel = config.compactionModel ?? context.model.model
      const compactionInfo = config.compactionModel === undefined
        ? context.model
        : yield* ModelRegistry.lookup(config.compactionModel)
      // Every summariser call is observed; `calls` tells a round that ran one from one that found
      // nothing to do.
      const calls = yield* Ref.make(0)
      const observed = GenAiTelemetry.instrument(provider, {
        purpose: "compaction",
        conversationId: context.sessionId,
        info: compactionInfo
      })
      const counted: Provider = {
        stream: (request) =>
          Stream.unwrap(Effect.as(Ref.update(calls, (n) => n + 1), observed.stream(request)))
      }
      // This handle's name on the session's compaction lease (one round of a session at a time,
      // across every process sharing the store).
      const holder = `round_${(yield* Random.nextIntBetween(0, 2 ** 31)).toString(36)}${
        (yield* Random.nextIntBetween(0, 2 ** 31)).toString(36)
      }`
      const env: RoundEnv = {
        session: context,
        provider: counted,
        compactionModel,
        compactionInfo,
        lease: holder
      }
      const running = yield* SynchronizedRef.make<Option.Option<RoundFiber>>(
        Option.none()
      )

      const contextSize = context.contextSize

      /**
       * One round in a `mnesis.compaction.round` span (kind, tokens before and after, outcome and,
       * when a summary was written, its level and depth), counted in the round metrics. A round
       * that found nothing to summarise has a span but no metrics.
       */
      const round = (
        kind: "leaf" | "condense",
        mode: CondenseMode | undefined,
        attempt: Effect.Effect<Option.Option<RoundOutcome>, Storage.StoreFailure | SessionNotFound>
      ) =>
        Effect.gen(function*() {
          const callsBefore = yield* Ref.get(calls)
          const started = yield* Clock.currentTimeMillis
          const tokensBefore = yield* contextSize
          yield* Effect.annotateCurrentSpan("mnesis.compaction.tokens_before", tokensBefore)
          const exit = yield* Effect.exit(attempt)
          const ran = (yield* Ref.get(calls)) > callsBefore
          const duration = Duration.millis((yield* Clock.currentTimeMillis) - started)
          if (Exit.isFailure(exit)) {
            yield* Effect.annotateCurrentSpan("mnesis.compaction.outcome", "failed")
            yield* Metrics.recordRound(undefined, "failed", duration)
            return yield* exit
          }
          const outcome = exit.value
          if (Option.isSome(outcome)) {
            yield* Effect.annotateCurrentSpan({
              "mnesis.compaction.outcome": "committed",
              "mnesis.compaction.level": outcome.value.level,
              "mnesis.compaction.depth": outcome.value.depth,
              "mnesis.compaction.summary_id": outcome.value.summaryId,
              "mnesis.compaction.messages_covered": outcome.value.messagesCovered
            })
            yield* Metrics.recordRound(outcome.value.level, "committed", duration)
          } else {
            yield* Effect.annotateCurrentSpan("mnesis.compaction.outcome", ran ? "skipped" : "nothing_to_do")
            if (ran) yield* Metrics.recordRound(undefined, "skipped", duration)
          }
          yield* Effect.annotateCurrentSpan("mnesis.compaction.tokens_after", yield* contextSize)
          return outcome
        }).pipe(
          Effect.withSpan("mnesis.compaction.round", {
            attributes: {
              "mnesis.session.id": context.sessionId,
              "mnesis.compaction.kind": kind,
              ...(mode === undefined ? {} : { "mnesis.compaction.mode": mode }),
              "mnesis.compaction.model": compactionModel
            },
            captureStackTrace: false
          })
        )

      /**
       * The context's size once the turn that triggered a round has written its reply: the round is
       * forked before the reply is stored, and with a store that answers over the network it may
       * measure first. While the size is still the one measured without the reply, it reads again
       * (a bounded number of times: a reply that never lands leaves the round to decide on what is).
       */
      const sizeAfterReply = (withoutReply: number | undefined) =>
        Effect.gen(function*() {
          let size = yield* contextSize
          for (let read = 0; withoutReply !== undefined && size === withoutReply && read < 100; read++) {
            yield* Effect.yieldNow()
            size = yield* contextSize
          }
          return size
        })

      /** Prune, then summary rounds until below the soft threshold, out of rounds, or stuck. */
      const rounds = (trigger: Trigger, withoutReply?: number) =>
        Effect.gen(function*() {
          const started = yield* Clock.currentTimeMillis
          const tokensBefore = yield* sizeAfterReply(withoutReply)
          const pruned = yield* prune(context, yield* context.contextItems)
          let written = 0
          let messagesCovered = 0
          let last: RoundOutcome | undefined
          while (written < config.maxCompactionRounds) {
            const size = yield* contextSize
            // A manual call summarises at least once; triggered ones stop once under the soft threshold.
            if (size < context.budget.softThreshold && (trigger !== "manual" || written > 0)) break
            let done = yield* round("leaf", undefined, leafRound(env))
            // Nothing raw left to summarise: condense, harder the further over budget we are.
            if (Option.isNone(done) && config.condensationEnabled) {
              const mode = size >= context.budget.softThreshold ? "soft" : "fanout"
              done = yield* round("condense", mode, condenseRound(env, mode))
              if (Option.isNone(done) && size >= context.budget.hardThreshold) {
                done = yield* round("condense", "all", condenseRound(env, "all"))
              }
            }
            if (Option.isNone(done)) {
              break
            }
            written++
            messagesCovered += done.value.messagesCovered
            last = done.value
            // Condense whenever a depth has filled up to the fan-out.
            while (config.condensationEnabled && written < config.maxCompactionRounds) {
              const condensed = yield* round("condense", "fanout", condenseRound(env, "fanout"))
              if (Option.isNone(condensed)) break
              written++
              last = condensed.value
            }
          }
          const tokensAfter = yield* contextSize
          const finished = yield* Clock.currentTimeMillis
          return new CompactionResult({
            compacted: written > 0 || pruned.count > 0,
            ...(last === undefined ? {} : { summaryId: last.summaryId }),
            level: last?.level ?? 0,
            depth: last?.depth ?? 0,
            messagesCovered,
            tokensBefore,
            tokensAfter,
            pruned,
            rounds: written,
            elapsedMs: finished - started
          })
        })

      const leaseMs = Duration.toMillis(config.leaseTimeout)
      const acquire = context.store.acquireCompactionLease(context.sessionId, holder, leaseMs)
      /** Waits on the real clock: a lease expires by the database's clock, which TestClock does not move. */
      const realSleep = (millis: number) =>
        Effect.withClock(Effect.sleep(Duration.millis(millis)), Clock.make())
      const renewals = Effect.forever(
        Effect.zipRight(
          realSleep(Math.max(1, leaseMs / 3)),
          Effect.flatMap(acquire, (held) =>
            held ? Effect.void : Effect.logWarning(
              "this worker lost the session's compaction lease (it was not renewed in time); " +
                "the round's commit will be refused"
            ))
        )
      )

      /**
       * `body` holding the session's compaction lease, renewed while it runs and released after;
       * None when another worker holds it — then a soft trigger leaves the session to it, and the
       * others wait for it (a crashed worker's lease runs out after `leaseTimeout`).
       */
      const leased = <A, E, R>(trigger: Trigger, body: Effect.Effect<A, E, R>) =>
        Effect.gen(function*() {
          let held = yield* acquire
          while (!held && trigger !== "soft") {
            yield* realSleep(Math.min(250, Math.max(10, leaseMs / 10)))
            held = yield* acquire
          }
          if (!held) {
            yield* Effect.logDebug(
              "another worker is compacting this session; this trigger leaves it to that worker"
            )
            return Option.none<A>()
          }
          return yield* Effect.acquireUseRelease(
            // forked from acquireUseRelease's uninterruptible acquire: made interruptible, or it never stops
            Effect.forkDaemon(Effect.interruptible(renewals)),
            () => Effect.asSome(body),
            (renewing) =>
              Effect.zipRight(
                Fiber.interrupt(renewing),
                context.store.releaseCompactionLease(context.sessionId, holder).pipe(
                  Effect.catchAll((error) =>
                    Effect.logWarning(
                      "the compaction lease could not be released; it expires on its own",
                      error
                    )
                  )
                )
              )
          )
        })

      /** A whole compaction call, which never fails: a failure is an event and an honest result. */
      const run = (trigger: Trigger, withoutReply?: number): Effect.Effect<CompactionResult> =>
        leased(trigger, rounds(trigger, withoutReply)).pipe(
          Effect.flatMap(Option.match({
            onSome: Effect.succeed,
            onNone: () => Effect.map(contextSize, (size) => CompactionResult.none(size))
          })),
          Effect.tap((result) =>
            Effect.annotateCurrentSpan({
              "mnesis.compaction.tokens_before": result.tokensBefore,
              "mnesis.compaction.tokens_after": result.tokensAfter,
              "mnesis.compaction.rounds": result.rounds,
              "mnesis.compaction.level": result.level,
              "mnesis.compaction.pruned": result.pruned.count
            })
          ),
          Effect.tap((result) =>
            Effect.flatMap(
              Clock.currentTimeMillis,
              (at) => context.publish(new CompactionCompleted({ sessionId: context.sessionId, at, result }))
            )
          ),
          Effect.catchAllCause((cause) =>
            Effect.gen(function*() {
              // The result reports the context as it is now; if even that cannot be read, the
              // event says so and the result carries 0.
              const size = yield* Effect.either(contextSize)
              yield* reportFailure(
                context,
                "compaction failed",
                Either.isRight(size) ? cause : Cause.sequential(cause, Cause.fail(size.left))
              )
              return CompactionResult.none(Either.isRight(size) ? size.right : 0)
            })
          ),
          Effect.annotateLogs({ sessionId: context.sessionId, trigger }),
          Effect.withSpan("Compactor.run", {
            attributes: { sessionId: context.sessionId, "mnesis.session.id": context.sessionId, trigger }
          })
        )

      /**
       * Starts a round in the session's scope, or returns the one in flight (never two at once);
       * `started` says which. A context that cannot be measured starts no round: the call gets a
       * round that only reports the failure (no `CompactionTriggered` with a made-up size).
       */
      const startOrJoin = (
        trigger: Trigger,
        knownSize?: number,
        withoutReply?: number
      ): Effect.Effect<RoundHandle> =>
        SynchronizedRef.modifyEffect(running, (current) =>
          Effect.gen(function*() {
            if (Option.isSome(current)) {
              const joined: RoundHandle = { fiber: current.value, started: false }
              return [joined, current] as const
            }
            const size = knownSize === undefined ? yield* Effect.either(contextSize) : Either.right(knownSize)
            if (Either.isLeft(size)) {
              const fiber = yield* Effect.fork(
                Effect.as(
                  reportFailure(context, "measuring the context failed", Cause.fail(size.left)),
                  CompactionResult.none(0)
                )
              )
              return [{ fiber, started: false }, current] as const
            }
            yield* context.publish(
              new CompactionTriggered({
                sessionId: context.sessionId,
                at: yield* Clock.currentTimeMillis,
                contextTokens: size.right,
                threshold: trigger
              })
            )
            const fiber = yield* run(trigger, withoutReply).pipe(
              Effect.ensuring(SynchronizedRef.set(running, Option.none())),
              Effect.forkIn(scope)
            )
            const started: RoundHandle = { fiber, started: true }
            return [started, Option.some(fiber)] as const
          }))

      const afterTurn = (estimate?: number, pendingTokens = 0) =>
        Effect.gen(function*() {
          if (!config.auto) return false
          if (Option.isSome(yield* SynchronizedRef.get(running))) return false
          if (estimate !== undefined && estimate < context.budget.softThreshold) return false
          // Measure again: a round that finished while the model was answering makes the
          // estimate stale, and a round started on it would find nothing to do. The turn is
          // done by now, so a failed measurement is reported, not thrown at it.
          const measured = yield* Effect.either(contextSize)
          if (Either.isLeft(measured)) {
            yield* reportFailure(
              context,
              "measuring the context after a turn failed",
              Cause.fail(measured.left)
            )
            return false
          }
          const size = measured.right + pendingTokens
          if (size < context.budget.softThreshold) return false
          // A manual `compact()` may have started meanwhile: then this turn triggered nothing.
          return (yield* startOrJoin("soft", size, pendingTokens > 0 ? measured.right : undefined)).started
        })

      const beforeTurn = Effect.gen(function*() {
        if (!config.auto) return Option.none<CompactionResult>()
        let waited: CompactionResult | undefined
        for (;;) {
          const size = yield* contextSize
          if (size < context.budget.hardThreshold) break
          const { fiber } = yield* startOrJoin("hard", size)
          const result = yield* Fiber.join(fiber)
          waited = result
          if (!result.compacted) break
        }
        return Option.fromNullable(waited)
      })

      const shutdown = (timeout: Duration.DurationInput) =>
        Effect.flatMap(SynchronizedRef.get(running), (current) =>
          Option.match(current, {
            onNone: () => Effect.void,
            onSome: (fiber) =>
              Fiber.await(fiber).pipe(
                Effect.timeout(timeout),
                Effect.catchTag("TimeoutException", () =>
                  Effect.zipRight(
                    Effect.logWarning(
                      "background compaction did not finish before the session closed and was interrupted; " +
                        "what it had not committed is redone by the next round"
                    ),
                    Fiber.interrupt(fiber)
                  )),
                Effect.asVoid
              )
          }))

      return {
        beforeTurn,
        afterTurn,
        compact: Effect.flatMap(startOrJoin("manual"), ({ fiber }) => Fiber.join(fiber)),
        inProgress: Effect.map(SynchronizedRef.get(running), Option.isSome),
        awaitIdle: Effect.flatMap(SynchronizedRef.get(running), (current) =>
          Option.match(current, {
            onNone: () => Effect.succeedNone,
            onSome: (fiber) => Effect.asSome(Fiber.join(fiber))
          })),
        shutdown
      } satisfies SessionCompactor
    })
  return { forSession }
})

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<Compactor, never, LlmProvider> = Layer.effect(Compactor, make)
