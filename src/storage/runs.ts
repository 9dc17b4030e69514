/**
 * Durable operator runs over `SqlClient`, for every database: the run row and one row per item.
 * Each write of a runner first updates the run row where `owner` is that runner, so a runner that
 * lost the run (another one took it over) changes nothing and is told `RunTakenOver`; finishing
 * an item counts it into the run's totals in the same transaction, and only an item that is
 * running can finish — an item is never counted (or paid for) twice.
 *
 * @internal
 */
import type { Row } from "@effect/sql/SqlConnection"
import { Effect, Either, Schema } from "effect"
import { SessionId, TokenUsage } from "../Domain.js"
import { RunNotFound, RunTakenOver, StorageError } from "../Errors.js"
import type { ItemRecord } from "../operators/Run.js"
import { ItemStatus, MapFailure, OperatorName, RunId, RunInfo, RunItem, RunStatus } from "../operators/Run.js"
import type { Runs } from "../Storage.js"
import type { makeRunner, makeTag, Program, Step } from "./Program.js"
import { decodeAll } from "./rows.js"
import type { Context } from "./SqlStore.js"

/** Items written per statement when a run is created. */
const INSERT_BATCH = 500

const Count = Schema.NonNegativeInt
const Nullable = Schema.NullOr

/** JSON columns hold objects: any value goes inside an envelope (scalars are JSON too). */
const envelope = (value: unknown) => ({ v: value })
const Envelope = Schema.Struct({ v: Schema.Unknown })

const usageColumns = {
  tokens_input: Count,
  tokens_output: Count,
  tokens_cache_read: Count,
  tokens_cache_write: Count,
  tokens_total: Count,
  cost: Schema.Number
}

const usageOf = (row: { readonly [K in keyof typeof usageColumns]: number }) =>
  new TokenUsage({
    input: row.tokens_input,
    output: row.tokens_output,
    cacheRead: row.tokens_cache_read,
    cacheWrite: row.tokens_cache_write,
    total: row.tokens_total
  })

/** The program machinery of the store (see Program.ts), for the per-item writes. */
export interface Programs {
  readonly stmt: ReturnType<typeof makeTag>
  readonly transact: ReturnType<typeof makeRunner>
}

export const make = (ctx: Context, { stmt, transact }: Programs): Runs => {
  const { dialect, sql } = ctx
  const Json = dialect.columns.Json

  const RunRow = Schema.Struct({
    id: RunId,
    operator: OperatorName,
    session_id: Nullable(SessionId),
    spec: Json(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
    status: RunStatus,
    total: Count,
    done: Count,
    failed: Count,
    attempts: Count,
    ...usageColumns,
    created_at: Schema.Number,
    updated_at: Schema.Number
  })
  const decodeRuns = decodeAll(RunRow)
  const toRun = (row: typeof RunRow.Type) =>
    new RunInfo({
      id: row.id,
      operator: row.operator,
      ...(row.session_id === null ? {} : { sessionId: row.session_id }),
      spec: row.spec,
      status: row.status,
      total: row.total,
      done: row.done,
      failed: row.failed,
      attempts: row.attempts,
      tokens: usageOf(row),
      cost: row.cost,
      createdAt: row.created_at,
      updatedAt: row.updated_at
    })

  const ItemRow = Schema.Struct({
    run_id: RunId,
    idx: Count,
    input: Json(Envelope),
    status: ItemStatus,
    attempts: Count,
    output: Nullable(Json(Envelope)),
    error: Nullable(Json(MapFailure)),
    ...usageColumns,
    session_id: Nullable(SessionId),
    started_at: Nullable(Schema.Number),
    completed_at: Nullable(Schema.Number)
  })
  const decodeItems = decodeAll(ItemRow)
  const toItem = (row: typeof ItemRow.Type) =>
    new RunItem({
      runId: row.run_id,
      index: row.idx,
      input: row.input.v,
      status: row.status,
      attempts: row.attempts,
      ...(row.output === null ? {} : { output: row.output.v }),
      ...(row.error === null ? {} : { error: row.error }),
      tokens: usageOf(row),
      cost: row.cost,
      ...(row.session_id === null ? {} : { sessionId: row.session_id }),
      ...(row.started_at === null ? {} : { startedAt: row.started_at }),
      ...(row.completed_at === null ? {} : { completedAt: row.completed_at })
    })

  const selectRun = (id: RunId) =>
    Effect.flatMap(sql`SELECT * FROM operator_runs WHERE id = ${id}`, decodeRuns).pipe(
      Effect.flatMap((found) =>
        found[0] === undefined ? Effect.fail(new RunNotFound({ runId: id })) : Effect.succeed(toRun(found[0]))
      )
    )

  /** Touches the run row as `owner` (the transaction's first write); fails when another runner owns it. */
  const asOwner = (id: RunId, owner: string, at: number) =>
    Effect.flatMap(
      sql`UPDATE operator_runs SET updated_at = CASE WHEN updated_at > ${at} THEN updated_at ELSE ${at} END
        WHERE id = ${id} AND owner = ${owner} RETURNING id`,
      (found) => found.length > 0 ? Effect.void : Effect.fail(new RunTakenOver({ runId: id }))
    )

  const createRun: Runs["createRun"] = (run, inputs) =>
    ctx.transaction(
      "createRun",
      Effect.gen(function*() {
        yield* sql`INSERT INTO operator_runs (id, operator, session_id, spec, owner, status, total, created_at,
            updated_at)
          VALUES (${run.id}, ${run.operator}, ${run.sessionId ?? null}, ${
          dialect.json(run.spec)
        }, ${run.owner},
            'running', ${inputs.length}, ${run.createdAt}, ${run.createdAt})`
        for (let start = 0; start < inputs.length; start += INSERT_BATCH) {
          yield* sql`INSERT INTO operator_run_items ${
            sql.insert(
              inputs.slice(start, start + INSERT_BATCH).map((input, i) => ({
                run_id: run.id,
                idx: start + i,
                input: dialect.json(envelope(input)),
                status: "pending"
              }))
            )
          }`
        }
        return new RunInfo({
          id: run.id,
          operator: run.operator,
          ...(run.sessionId === undefined ? {} : { sessionId: run.sessionId }),
          spec: run.spec,
          status: "running",
          total: inputs.length,
          done: 0,
          failed: 0,
          attempts: 0,
          tokens: TokenUsage.zero,
          cost: 0,
          createdAt: run.createdAt,
          updatedAt: run.createdAt
        })
      })
    )

  const getRun: Runs["getRun"] = (id) => ctx.query("getRun", selectRun(id))

  const listRuns: Runs["listRuns"] = (q = {}) =>
    ctx.query(
      "listRuns",
      Effect.flatMap(
        sql`SELECT * FROM operator_runs WHERE 1 = 1
          ${q.sessionId === undefined ? sql.literal("") : sql`AND session_id = ${q.sessionId}`}
          ${q.status === undefined ? sql.literal("") : sql`AND status = ${q.status}`}
          ORDER BY created_at DESC, id DESC LIMIT ${q.limit ?? 100}`,
        decodeRuns
      ).pipe(Effect.map((found) => found.map(toRun)))
    )

  const takeOverRun: Runs["takeOverRun"] = (id, owner, at) =>
    ctx.transaction(
      "takeOverRun",
      Effect.gen(function*() {
        const taken = yield* sql`UPDATE operator_runs SET owner = ${owner}, status = 'running',
            updated_at = CASE WHEN updated_at > ${at} THEN updated_at ELSE ${at} END
          WHERE id = ${id} RETURNING id`
        if (taken.length === 0) return yield* new RunNotFound({ runId: id })
        yield* sql`UPDATE operator_run_items SET status = 'pending', started_at = NULL
          WHERE run_id = ${id} AND status = 'running'`
        return yield* selectRun(id)
      })
    )

  const runItems: Runs["runItems"] = (id, q) =>
    ctx.query(
      "runItems",
      Effect.flatMap(
        sql`SELECT * FROM operator_run_items WHERE run_id = ${id} AND idx > ${q.afterIndex ?? -1}
          ${
          q.statuses === undefined
            ? sql.literal("")
            : sql`AND status IN (SELECT j.value FROM ${dialect.idList(q.statuses)})`
        }
          ORDER BY idx LIMIT ${q.limit}`,
        decodeItems
      ).pipe(Effect.map((found) => found.map(toItem)))
    )

  /** Touches the run row as `owner`, the program's first write: false when another runner owns it. */
  function* owns(id: RunId, owner: string, at: number): Generator<Step, boolean, ReadonlyArray<Row>> {
    const found =
      yield stmt`UPDATE operator_runs SET updated_at = CASE WHEN updated_at > ${at} THEN updated_at ELSE ${at} END
      WHERE id = ${id} AND owner = ${owner} RETURNING id`
    return found.length > 0
  }

  // The two writes of every item run as programs (see Program.ts): they are the operators' hot path.
  function* startProgram(
    id: RunId,
    owner: string,
    index: number,
    at: number
  ): Program<void, RunTakenOver | StorageError> {
    if (!(yield* owns(id, owner, at))) return Either.left(new RunTakenOver({ runId: id }))
    const started = yield stmt`UPDATE operator_run_items SET status = 'running', started_at = ${at}
      WHERE run_id = ${id} AND idx = ${index} AND status = 'pending' RETURNING idx`
    if (started.length === 0) {
      return Either.left(
        new StorageError({
          operation: "startRunItem",
          reason: `item ${index} of run ${id} is not pending (it does not exist, or it started already)`
        })
      )
    }
    return Either.right(undefined)
  }

  function* finishProgram(
    id: RunId,
    owner: string,
    index: number,
    record: ItemRecord
  ): Program<void, RunTakenOver | StorageError> {
    const done = record.outcome._tag === "Done"
    const { tokens } = record
    if (!(yield* owns(id, owner, record.completedAt))) return Either.left(new RunTakenOver({ runId: id }))
    const output = record.outcome._tag === "Done" ? dialect.json(envelope(record.outcome.output)) : null
    const error = record.outcome._tag === "Failed" ? dialect.json(record.outcome.reason) : null
    const finished = yield stmt`UPDATE operator_run_items SET status = ${done ? "done" : "failed"},
        attempts = ${record.attempts}, output = ${output}, error = ${error},
        tokens_input = ${tokens.input}, tokens_output = ${tokens.output},
        tokens_cache_read = ${tokens.cacheRead}, tokens_cache_write = ${tokens.cacheWrite},
        tokens_total = ${tokens.total}, cost = ${record.cost}, session_id = ${record.sessionId ?? null},
        completed_at = ${record.completedAt}
      WHERE run_id = ${id} AND idx = ${index} AND status = 'running' RETURNING idx`
    if (finished.length === 0) {
      return Either.left(
        new StorageError({
          operation: "finishRunItem",
          reason: `item ${index} of run ${id} is not running (it finished already, or never started)`
        })
      )
    }
    yield stmt`UPDATE operator_runs SET done = done + ${done ? 1 : 0}, failed = failed + ${done ? 0 : 1},
        attempts = attempts + ${record.attempts},
        tokens_input = tokens_input + ${tokens.input}, tokens_output = tokens_output + ${tokens.output},
        tokens_cache_read = tokens_cache_read + ${tokens.cacheRead},
        tokens_cache_write = tokens_cache_write + ${tokens.cacheWrite},
        tokens_total = tokens_total + ${TokenUsage.effectiveTotal(tokens)}, cost = cost + ${record.cost}
      WHERE id = ${id}`
    return Either.right(undefined)
  }

  const startRunItem: Runs["startRunItem"] = (id, owner, index, at) =>
    ctx.query("startRunItem", transact(() => startProgram(id, owner, index, at)))

  const finishRunItem: Runs["finishRunItem"] = (id, owner, index, record) =>
    ctx.query("finishRunItem", transact(() => finishProgram(id, owner, index, record)))

  const endRun: Runs["endRun"] = (id, owner, status, at) =>
    ctx.transaction(
      "endRun",
      Effect.gen(function*() {
        yield* asOwner(id, owner, at)
        yield* sql`UPDATE operator_runs SET status = ${status} WHERE id = ${id}`
      })
    )

  return { createRun, getRun, listRuns, takeOverRun, runItems, startRunItem, finishRunItem, endRun }
}
