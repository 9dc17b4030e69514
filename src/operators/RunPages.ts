/**
 * An operator run as the memory tools show it: `describe("run_…")` gives what ran and the
 * counts, `expand("run_…")` pages through the items' results (input, status, output or typed
 * failure), so a model that started a run reads its results a page at a time instead of having
 * them poured into its context. A session sees the runs it (or, with `relatedSessions`, a
 * relative) started.
 *
 * @internal
 */
import { Effect, Option, Schema } from "effect"
import type { SessionId } from "../Domain.js"
import type { RunNotFound } from "../Errors.js"
import type * as Storage from "../Storage.js"
import type { RunInfo, RunItem } from "./Run.js"
import { RunId } from "./Run.js"

/** A reference to one item of a run, as `expand` lists it: `run_…#<index>`. */
export const RunItemRef = Schema.String.pipe(
  Schema.pattern(/^run_[0-9A-Z]{26}#\d+$/),
  Schema.brand("RunItemRef")
)
export type RunItemRef = typeof RunItemRef.Type

const decodeRunId = Schema.decodeUnknownOption(RunId)

/** The run `id` names, when this scope may read it. */
export const visibleRun = (
  scope: { readonly store: Storage.Service; readonly sessionIds: ReadonlyArray<SessionId> },
  id: string
): Effect.Effect<Option.Option<RunInfo>, Storage.StoreFailure> =>
  Option.match(decodeRunId(id), {
    onNone: () => Effect.succeedNone,
    onSome: (runId) =>
      scope.store.getRun(runId).pipe(
        Effect.map((run) =>
          run.sessionId !== undefined && scope.sessionIds.includes(run.sessionId)
            ? Option.some(run)
            : Option.none()
        ),
        Effect.catchTag("RunNotFound", (_: RunNotFound) => Effect.succeedNone)
      )
  })

const json = (value: unknown) => JSON.stringify(value) ?? "null"

/** What `describe` says of a run. */
export const describeText = (run: RunInfo): string => {
  const spec = run.spec
  const field = (key: string) => (typeof spec[key] === "string" ? spec[key] : undefined)
  return [
    `${run.id}: ${run.operator} run, ${run.status}: ${run.total} items, ${run.done} done, ${run.failed} failed, ` +
    `${run.total - run.done - run.failed} not finished`,
    `${run.attempts} model calls, ${run.tokens.total} tokens, $${run.cost.toFixed(4)}`,
    ...(field("model") === undefined ? [] : [`model: ${field("model")}`]),
    ...(field("template") === undefined ? [] : [`prompt template: ${field("template")}`]),
    `expand ${run.id} for the results, a page at a time`
  ].join("\n")
}

/** One item's result as text. */
export const itemText = (item: RunItem): string => {
  const head = `#${item.index} ${item.status}` +
    (item.attempts === 0 ? "" : ` (${item.attempts} call${item.attempts === 1 ? "" : "s"})`) +
    (item.sessionId === undefined ? "" : ` session ${item.sessionId}`)
  const result = item.status === "done"
    ? `output: ${json(item.output)}`
    : item.error !== undefined
    ? `error: ${item.error._tag}: ${item.error.message}`
    : "not finished"
  return `${head}\ninput: ${json(item.input)}\n${result}`
}

/** The run's items from `start`, up to `count` of them, as `expand` lists them. */
export const window = (store: Storage.Service, run: RunInfo, start: number, count: number) =>
  Effect.map(
    store.runItems(run.id, { afterIndex: start - 1, limit: count }),
    (items) =>
      items.map((item) => ({ id: RunItemRef.make(`${item.runId}#${item.index}`), text: itemText(item) }))
  )
