/**
 * What both operators do around the engine: find who is calling (a session, or the program
 * itself), apply the delegation guard, create a run or take one over for `resume`, and leave one
 * compact note in the caller's session when the run ends — what ran, the counts, where the
 * results are — instead of the outputs.
 *
 * @internal
 */
import { Clock, Effect, Option, Schema } from "effect"
import type { MnesisConfig } from "../Config.js"
import type { SessionId } from "../Domain.js"
import { InvalidInput } from "../Errors.js"
import * as Ids from "../internal/ids.js"
import type { Session } from "../Session.js"
import { internalsOf } from "../session/internals.js"
import type * as Storage from "../Storage.js"
import type { RunEnd } from "./Engine.js"
import * as Engine from "./Engine.js"
import * as Guard from "./Guard.js"
import * as Items from "./Items.js"
import type { OperatorName, RunId, RunInfo, RunItem } from "./Run.js"
import { RunId as RunIdSchema } from "./Run.js"
import * as Template from "./Template.js"

/** Who started a run: a session (whose store and configuration it uses), or the program. */
export interface Caller {
  readonly store: Storage.Service
  readonly config: MnesisConfig
  readonly session?: Session | undefined
  readonly sessionId?: SessionId | undefined
  /** How many levels below its root the caller is (0 for the program itself). */
  readonly depth: number
}

/** What the operators' layers captured: the layer's store and configuration. */
export interface Defaults {
  readonly store: Storage.Service
  readonly config: MnesisConfig
}

/**
 * The caller of a start: `session`'s store and configuration when given (checked by the
 * delegation guard for `items` items), else the layer's.
 */
export const callerOf = (
  defaults: Defaults,
  session: Session | undefined,
  request: { readonly items: number; readonly delegation?: Guard.Delegation | undefined }
) =>
  Effect.gen(function*() {
    if (session === undefined) {
      const caller: Caller = {
        store: defaults.store,
        config: defaults.config,
        depth: 0
      }
      return caller
    }
    const { core, whileOpen } = yield* internalsOf(session, "session")
    const depth = yield* whileOpen(
      Guard.check({ store: core.store, row: core.row, maxDepth: core.config.operators.maxDepth }, request)
    )
    const caller: Caller = {
      store: core.store,
      config: core.config,
      session,
      sessionId: core.sessionId,
      depth
    }
    return caller
  })

/** What both operators' starts share, checked in this order before anything is stored. */
export interface StartRequest<I, E, IE> {
  readonly template: string
  readonly model?: string | undefined
  readonly session?: Session | undefined
  readonly items: Items.ItemsSource<I, E, IE>
  readonly delegation?: Guard.Delegation | undefined
}

/** The template parsed, the model resolved, the items collected and the caller found (and guarded). */
export const begin = <I, E, IE>(defaults: Defaults, request: StartRequest<I, E, IE>) =>
  Effect.gen(function*() {
    const template = yield* Template.parse(request.template)
    const model = request.model ?? request.session?.model
    if (model === undefined) {
      return yield* new InvalidInput({ field: "model", reason: "is required when no session starts the run" })
    }
    const inputs = yield* Items.collect(request.items)
    const caller = yield* callerOf(defaults, request.session, {
      items: inputs.length,
      delegation: request.delegation
    })
    return { template, model, inputs, caller }
  })

/** A fresh owner token: the runner that writes to a run. */
const newOwner = Effect.map(Ids.sessionId, (id) => `owner_${id.slice(5)}`)

/** Creates a run of `inputs` (all pending) owned by this runner. */
export const create = (
  caller: Caller,
  operator: OperatorName,
  spec: Readonly<Record<string, unknown>>,
  inputs: ReadonlyArray<unknown>
) =>
  Effect.gen(function*() {
    const owner = yield* newOwner
    const info = yield* caller.store.createRun({
      id: yield* Ids.runId,
      operator,
      sessionId: caller.sessionId,
      spec,
      owner,
      createdAt: yield* Clock.currentTimeMillis
    }, inputs)
    return { info, owner }
  })

const decodeRunId = Schema.decodeUnknownOption(RunIdSchema)

/** Every item of a run in these states, in index order (read a page at a time). */
const itemsIn = (runs: Storage.Runs, id: RunId, statuses: ReadonlyArray<RunItem["status"]>) =>
  Effect.gen(function*() {
    const all: Array<RunItem> = []
    let afterIndex: number | undefined
    for (;;) {
      const page = yield* runs.runItems(id, { statuses, afterIndex, limit: 1_000 })
      all.push(...page)
      if (page.length < 1_000) return all
      afterIndex = page[page.length - 1]!.index
    }
  })

/**
 * Takes a run over for `resume`: this runner owns it from now on (items the previous one left
 * running are pending again), and gets what is left to do and what finished before.
 */
export const takeOver = (runs: Storage.Runs, id: string, operator: OperatorName) =>
  Effect.gen(function*() {
    const runId = yield* Option.match(decodeRunId(id), {
      onNone: () =>
        Effect.fail(
          new InvalidInput({ field: "runId", reason: "must be a run id (run_ followed by a ULID)" })
        ),
      onSome: Effect.succeed
    })
    const existing = yield* runs.getRun(runId)
    if (existing.operator !== operator) {
      return yield* new InvalidInput({
        field: "runId",
        reason: `${runId} is a run of ${existing.operator}; resume it with that operator`
      })
    }
    const owner = yield* newOwner
    const info = yield* runs.takeOverRun(runId, owner, yield* Clock.currentTimeMillis)
    const todo = yield* itemsIn(runs, runId, ["pending"])
    const finished = yield* itemsIn(runs, runId, ["done", "failed"])
    return { info, owner, todo, finished }
  })

/** The part of an engine plan that says which run and which items: what both operators hand over. */
export type PlanItems<I, A> = Pick<Engine.RunPlan<I, A>, "runId" | "owner" | "total" | "todo" | "finished">

/** A new run's items: every input still to do, nothing finished. */
export const freshItems = <I>(
  created: { readonly info: RunInfo; readonly owner: string },
  inputs: ReadonlyArray<I>
): PlanItems<I, never> => ({
  runId: created.info.id,
  owner: created.owner,
  total: inputs.length,
  todo: inputs.map((input, index) => ({ index, input })),
  finished: []
})

/** A taken-over run's items: its pending ones to do, the results of those that finished before. */
export const resumedItems = <A>(
  taken: Effect.Effect.Success<ReturnType<typeof takeOver>>,
  decode: (encoded: unknown) => Option.Option<A>
): PlanItems<unknown, A> => ({
  runId: taken.info.id,
  owner: taken.owner,
  total: taken.info.total,
  todo: taken.todo.map((item) => ({ index: item.index, input: item.input })),
  finished: taken.finished.map((item) => Engine.resultOfItem(item, decode))
})

const clip = (text: string, max: number) => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`
}

/** The one message a run leaves in its caller's session. */
export const noteText = (
  info: Pick<RunInfo, "id" | "operator">,
  end: RunEnd,
  details: { readonly model: string; readonly template: string; readonly outputPath?: string | undefined }
): string => {
  const lines = [
    `[${info.operator} ${info.id} ${end.status}: ${end.total} items, ${end.succeeded} done, ${end.failed} failed; ` +
    `${end.attempts} model calls, ${end.tokens.total} tokens, $${end.cost.toFixed(4)}]`,
    `Model ${details.model}; prompt: "${clip(details.template, 160)}"`,
    `The results are stored with the run: expand("${info.id}") pages through them, describe("${info.id}") ` +
    "gives the counts."
  ]
  if (details.outputPath !== undefined) lines.push(`They were also written to ${details.outputPath}.`)
  if (end.status === "interrupted") lines.push(`The run stopped early; resume("${info.id}") finishes it.`)
  return lines.join("\n")
}

/** Records the note in the caller's session, when a session started the run and a note is wanted. */
export const leaveNote = (caller: Caller, note: boolean, text: string) =>
  caller.session === undefined || !note
    ? Effect.void
    : caller.session.record({ user: text }).pipe(
      Effect.asVoid,
      Effect.catchAll((error) =>
        Effect.logWarning("the run's note could not be recorded in its session", error)
      )
    )
