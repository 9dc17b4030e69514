/**
 * TEMPORARY: runs kept in this process' memory until the store keeps them (see RunStore.ts).
 *
 * @internal
 */
import { Effect } from "effect"
import { TokenUsage } from "../Domain.js"
import { RunNotFound, RunTakenOver } from "../Errors.js"
import { RunInfo, RunItem } from "./Run.js"
import type { RunId } from "./Run.js"
import type { RunStore } from "./RunStore.js"

export const make = Effect.sync((): RunStore => {
  const runs = new Map<string, { info: RunInfo; owner: string; items: Array<RunItem> }>()
  const get = (id: RunId) => {
    const run = runs.get(id)
    return run === undefined ? Effect.fail(new RunNotFound({ runId: id })) : Effect.succeed(run)
  }
  const owned = (id: RunId, owner: string) =>
    Effect.flatMap(
      Effect.orDie(get(id)),
      (run) => run.owner === owner ? Effect.succeed(run) : Effect.fail(new RunTakenOver({ runId: id }))
    )
  return {
    createRun: (run, inputs) =>
      Effect.sync(() => {
        const info = new RunInfo({
          id: run.id,
          operator: run.operator,
          sessionId: run.sessionId,
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
        runs.set(run.id, {
          info,
          owner: run.owner,
          items: inputs.map((input, index) =>
            new RunItem({
              runId: run.id,
              index,
              input,
              status: "pending",
              attempts: 0,
              tokens: TokenUsage.zero,
              cost: 0
            })
          )
        })
        return info
      }),
    getRun: (id) => Effect.map(get(id), (run) => run.info),
    listRuns: (query = {}) =>
      Effect.sync(() =>
        [...runs.values()].map((run) => run.info).filter((info) =>
          (query.sessionId === undefined || info.sessionId === query.sessionId) &&
          (query.status === undefined || info.status === query.status)
        ).reverse().slice(0, query.limit ?? 100)
      ),
    takeOverRun: (id, owner, at) =>
      Effect.map(get(id), (run) => {
        run.owner = owner
        run.items = run.items.map((item) =>
          item.status === "running" ? new RunItem({ ...item, status: "pending" }) : item
        )
        run.info = new RunInfo({ ...run.info, status: "running", updatedAt: at })
        return run.info
      }),
    runItems: (id, query) =>
      Effect.sync(() =>
        (runs.get(id)?.items ?? []).filter((item) =>
          (query.statuses === undefined || query.statuses.includes(item.status)) &&
          (query.afterIndex === undefined || item.index > query.afterIndex)
        ).slice(0, query.limit)
      ),
    startRunItem: (id, owner, index, at) =>
      Effect.map(owned(id, owner), (run) => {
        run.items[index] = new RunItem({ ...run.items[index]!, status: "running", startedAt: at })
      }),
    finishRunItem: (id, owner, index, record) =>
      Effect.map(owned(id, owner), (run) => {
        const done = record.outcome._tag === "Done"
        run.items[index] = new RunItem({
          ...run.items[index]!,
          status: done ? "done" : "failed",
          attempts: record.attempts,
          output: record.outcome._tag === "Done" ? record.outcome.output : undefined,
          error: record.outcome._tag === "Failed" ? record.outcome.reason : undefined,
          tokens: record.tokens,
          cost: record.cost,
          sessionId: record.sessionId,
          completedAt: record.completedAt
        })
        run.info = new RunInfo({
          ...run.info,
          done: run.info.done + (done ? 1 : 0),
          failed: run.info.failed + (done ? 0 : 1),
          attempts: run.info.attempts + record.attempts,
          tokens: TokenUsage.add(run.info.tokens, record.tokens),
          cost: run.info.cost + record.cost,
          updatedAt: record.completedAt
        })
      }),
    endRun: (id, owner, status, at) =>
      Effect.map(owned(id, owner), (run) => {
        run.info = new RunInfo({ ...run.info, status, updatedAt: at })
      })
  }
})
