/**
 * The run engine both operators share: items run with at most `inFlight` at once, results stream
 * in completion order, and each item's status is written to the store before its result is
 * handed on — so a result the caller saw is never paid for again, and a crash loses at most the
 * items in flight (`resume` runs them again). The run starts with `MapStarted`, each item ends
 * with `MapItemCompleted`, the run with `MapCompleted` (also when it is interrupted).
 *
 * @internal
 */
import { Clock, Effect, Exit, Option, Ref, Stream } from "effect"
import type { SessionId } from "../Domain.js"
import { TokenUsage } from "../Domain.js"
import type { JsonlFileError, RunTakenOver } from "../Errors.js"
import type { MnesisEvent } from "../Events.js"
import { MapCompleted, MapItemCompleted, MapStarted } from "../Events.js"
import type * as Storage from "../Storage.js"
import type { StoreFailure } from "../Storage.js"
import * as Items from "./Items.js"
import type { ItemOutcome, MapBatch, MapFailure, MapResult, OperatorName, RunId, RunItem } from "./Run.js"

/** How one item went, as a worker reports it. */
export interface Worked<A> {
  readonly outcome:
    | { readonly _tag: "Done"; readonly output: A; readonly encoded: unknown }
    | { readonly _tag: "Failed"; readonly reason: MapFailure }
  readonly attempts: number
  readonly tokens: TokenUsage
  readonly cost: number
  readonly sessionId?: SessionId | undefined
}

export interface RunPlan<I, A> {
  readonly runId: RunId
  readonly owner: string
  readonly operator: OperatorName
  readonly model: string
  readonly sessionId?: SessionId | undefined
  readonly total: number
  /** Items to run now, in index order. */
  readonly todo: ReadonlyArray<{ readonly index: number; readonly input: I }>
  /** Results of items that finished before (a resumed run), yielded first. */
  readonly finished: ReadonlyArray<MapResult<I, A>>
  /** Items in progress at once. */
  readonly inFlight: number
  readonly work: (index: number, input: I) => Effect.Effect<Worked<A>, StoreFailure>
  readonly store: Storage.Runs
  readonly publish: (event: MnesisEvent) => Effect.Effect<void>
  /** Write every result (previous ones too) to this JSON Lines file. */
  readonly outputPath?: string | undefined
  /** Told how the run ended, after `MapCompleted` (whatever ended it). */
  readonly onEnd?: ((end: RunEnd) => Effect.Effect<void>) | undefined
}

/** How a run (or this start of it) ended; counts include items finished before a resume. */
export interface RunEnd {
  readonly status: "completed" | "interrupted"
  readonly total: number
  readonly succeeded: number
  readonly failed: number
  readonly attempts: number
  readonly tokens: TokenUsage
  readonly cost: number
}

export type EngineError = StoreFailure | RunTakenOver | JsonlFileError

/** A stored item that finished, as a result (its output decoded by `decode`). */
export const resultOfItem = <A>(
  item: RunItem,
  decode: (encoded: unknown) => Option.Option<A>
): MapResult<unknown, A> => {
  const base = {
    runId: item.runId,
    index: item.index,
    input: item.input,
    attempts: item.attempts,
    tokens: item.tokens,
    cost: item.cost,
    ...(item.sessionId === undefined ? {} : { sessionId: item.sessionId })
  }
  if (item.status === "done") {
    const output = decode(item.output)
    if (Option.isSome(output)) return { ...base, _tag: "Success", output: output.value }
    return {
      ...base,
      _tag: "Failure",
      reason: {
        _tag: "InvalidOutput",
        error: "the stored output no longer decodes with the schema given to resume",
        reply: JSON.stringify(item.output) ?? "",
        message: "the stored output does not match the schema given to resume; resume with the run's schema"
      }
    }
  }
  return {
    ...base,
    _tag: "Failure",
    reason: item.error ?? { _tag: "SessionFailed", errorTag: "Unknown", message: "the item failed" }
  }
}

/** A result as one JSON Lines record. */
const lineOf = (result: MapResult<unknown, unknown>, encoded: unknown) => ({
  index: result.index,
  input: result.input,
  status: result._tag === "Success" ? "done" : "failed",
  ...(result._tag === "Success" ? { output: encoded } : { error: result.reason }),
  attempts: result.attempts,
  tokens: TokenUsage.effectiveTotal(result.tokens),
  cost: result.cost,
  ...(result.sessionId === undefined ? {} : { sessionId: result.sessionId })
})

export const run = <I, A>(
  plan: RunPlan<I, A>,
  /** The JSON form of an output (for the file of results previously finished). */
  encode: (output: A) => unknown
): Stream.Stream<MapResult<I, A>, EngineError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const { operator, owner, publish, runId, sessionId, store, total } = plan
    const tag = { runId, operator, ...(sessionId === undefined ? {} : { sessionId }) }
    const stats = yield* Ref.make({
      completed: 0,
      succeeded: 0,
      failed: 0,
      attempts: 0,
      tokens: TokenUsage.zero,
      cost: 0
    })
    const count = (result: MapResult<I, A>) =>
      Ref.updateAndGet(stats, (s) => ({
        completed: s.completed + 1,
        succeeded: s.succeeded + (result._tag === "Success" ? 1 : 0),
        failed: s.failed + (result._tag === "Failure" ? 1 : 0),
        attempts: s.attempts + result.attempts,
        tokens: TokenUsage.add(s.tokens, result.tokens),
        cost: s.cost + result.cost
      }))
    const write = plan.outputPath === undefined
      ? () => Effect.void
      : yield* Items.jsonlWriter(plan.outputPath)

    yield* publish(
      new MapStarted({
        ...tag,
        at: yield* Clock.currentTimeMillis,
        total,
        pending: plan.todo.length,
        model: plan.model
      })
    )
    yield* Effect.addFinalizer((exit) =>
      Effect.gen(function*() {
        const s = yield* Ref.get(stats)
        const status = Exit.isSuccess(exit) && s.completed === total ? "completed" : "interrupted"
        const at = yield* Clock.currentTimeMillis
        // A runner that lost the run leaves its status to the new owner.
        yield* store.endRun(runId, owner, status, at).pipe(
          Effect.catchAll((error) => Effect.logWarning(`run ${runId}: could not record its end`, error))
        )
        const { completed: _, ...counts } = s
        const end: RunEnd = { status, total, ...counts }
        yield* publish(new MapCompleted({ ...tag, at, ...end }))
        if (plan.onEnd !== undefined) yield* plan.onEnd(end)
      })
    )

    const item = (index: number, input: I) =>
      Effect.gen(function*() {
        yield* store.startRunItem(runId, owner, index, yield* Clock.currentTimeMillis)
        const worked = yield* plan.work(index, input)
        const completedAt = yield* Clock.currentTimeMillis
        const outcome: ItemOutcome = worked.outcome._tag === "Done"
          ? { _tag: "Done", output: worked.outcome.encoded }
          : worked.outcome
        // Recorded before anyone sees it: a result handed on is never run again.
        yield* store.finishRunItem(runId, owner, index, {
          outcome,
          attempts: worked.attempts,
          tokens: worked.tokens,
          cost: worked.cost,
          sessionId: worked.sessionId,
          completedAt
        })
        const base = {
          runId,
          index,
          input,
          attempts: worked.attempts,
          tokens: worked.tokens,
          cost: worked.cost,
          ...(worked.sessionId === undefined ? {} : { sessionId: worked.sessionId })
        }
        const result: MapResult<I, A> = worked.outcome._tag === "Done"
          ? { ...base, _tag: "Success", output: worked.outcome.output }
          : { ...base, _tag: "Failure", reason: worked.outcome.reason }
        return { result, encoded: worked.outcome._tag === "Done" ? worked.outcome.encoded : undefined }
      }).pipe(
        Effect.withSpan(`${operator}.item`, {
          attributes: { "mnesis.run.id": runId, "mnesis.run.item": index },
          captureStackTrace: false
        })
      )

    const announce = ({ encoded, result }: { result: MapResult<I, A>; encoded: unknown }) =>
      Effect.gen(function*() {
        const s = yield* count(result)
        yield* write(lineOf(result, encoded))
        yield* publish(
          new MapItemCompleted({
            ...tag,
            at: yield* Clock.currentTimeMillis,
            index: result.index,
            success: result._tag === "Success",
            attempts: result.attempts,
            completed: s.completed,
            total,
            tokens: result.tokens,
            cost: result.cost
          })
        )
        return result
      })

    const previous = Stream.fromIterable(plan.finished).pipe(
      Stream.mapEffect((result) =>
        Effect.zipRight(
          Effect.asVoid(count(result)),
          write(lineOf(result, result._tag === "Success" ? encode(result.output) : undefined))
        ).pipe(Effect.as(result))
      )
    )
    const fresh = Stream.fromIterable(plan.todo).pipe(
      Stream.mapEffect(({ index, input }) => item(index, input), {
        concurrency: plan.inFlight,
        unordered: true
      }),
      Stream.mapEffect(announce)
    )
    return Stream.concat(previous, fresh)
  }))

/** `MapBatch` from results: successes and failures in input order, totals summed. */
export const batchOf = <I, A>(
  runId: RunId,
  total: number,
  results: ReadonlyArray<MapResult<I, A>>
): MapBatch<I, A> => {
  const sorted = [...results].sort((a, b) => a.index - b.index)
  return {
    runId,
    total,
    successes: sorted.flatMap((r) => (r._tag === "Success" ? [r] : [])),
    failures: sorted.flatMap((r) => (r._tag === "Failure" ? [r] : [])),
    attempts: sorted.reduce((n, r) => n + r.attempts, 0),
    tokens: sorted.reduce((t, r) => TokenUsage.add(t, r.tokens), TokenUsage.zero),
    cost: sorted.reduce((c, r) => c + r.cost, 0)
  }
}

/** Runs a prepared run to its end and collects the batch. */
export const collectBatch = <I, A, E>(
  prepared: {
    readonly runId: RunId
    readonly total: number
    readonly results: Stream.Stream<MapResult<I, A>, E>
  }
) =>
  Effect.map(
    Stream.runCollect(prepared.results),
    (chunk) => batchOf(prepared.runId, prepared.total, Array.from(chunk))
  )
