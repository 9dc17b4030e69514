/**
 * Putting a session together from its parts, the same way whether it was just created, loaded
 * from the store or spawned under a parent (see start.ts): the shared core, the lifecycle, the
 * announcer, the turn's end (snapshots), then the operations that use them.
 *
 * @internal
 */
import { Effect, Ref } from "effect"
import type { Message } from "../Domain.js"
import { InvalidInput } from "../Errors.js"
import * as MemoryTools from "../MemoryTools.js"
import * as Metrics from "../Metrics.js"
import type { HistoryOptions, Session } from "../Session.js"
import { makeAnnouncer } from "./announce.js"
import { type Init, makeCore } from "./core.js"
import * as Files from "./files.js"
import { register } from "./internals.js"
import { makeLifecycle } from "./lifecycle.js"
import { makeRecord } from "./record.js"
import { makeSend } from "./send.js"
import { makeSnapshots } from "./snapshots.js"
import { sessionTools } from "./tools.js"

/** `history` pages by turn number: a count from 0, and a positive page size. */
const checkHistoryPage = (options: HistoryOptions): Effect.Effect<void, InvalidInput> => {
  const { afterTurn, limit } = options
  if (afterTurn !== undefined && !(Number.isSafeInteger(afterTurn) && afterTurn >= 0)) {
    return Effect.fail(new InvalidInput({ field: "afterTurn", reason: "must be a whole number ≥ 0" }))
  }
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    return Effect.fail(new InvalidInput({ field: "limit", reason: "must be a whole number ≥ 1" }))
  }
  return Effect.void
}

export const assemble = (init: Init) =>
  Effect.gen(function*() {
    const core = yield* makeCore(init)
    const { builder, compaction, row, sessionId, store } = core
    const lifecycle = yield* makeLifecycle(core)
    const announcer = yield* makeAnnouncer(core)
    const snapshots = makeSnapshots(core)
    const { memory, tools } = yield* sessionTools(core)
    const trackTurn = yield* Metrics.trackTurns(sessionId, row.model)
    const { send, stream } = makeSend(core, { lifecycle, announcer, snapshots, tools }, trackTurn)
    const { guarded, whileOpen } = lifecycle

    const messages: Session["messages"] = (options = {}) =>
      whileOpen(Effect.gen(function*() {
        const all: Array<Message> = []
        let after = 0
        for (;;) {
          const page = yield* store.history(sessionId, {
            afterSeq: after,
            limit: 1_000,
            includeSummaries: options.includeSummaries ?? true
          })
          all.push(...page)
          if (page.length < 1_000) return all
          after = page[page.length - 1]!.seq
        }
      }))

    const session: Session = {
      id: sessionId,
      model: row.model,
      systemPrompt: row.systemPrompt,
      send,
      stream,
      record: makeRecord(core, { lifecycle, announcer, snapshots }),
      attachFile: (file) => whileOpen(Files.attach(core.files, file)),
      contextForNextTurn: (options = {}) =>
        guarded(Effect.gen(function*() {
          yield* compaction.beforeTurn
          return yield* builder.build({
            store,
            sessionId,
            systemPrompt: options.systemPrompt ?? row.systemPrompt,
            budget: core.budget,
            count: core.count
          })
        })),
      messages,
      history: (options = {}) =>
        whileOpen(Effect.flatMap(checkHistoryPage(options), () => store.snapshots(sessionId, options))),
      // Not serialised with turns: a manual round runs beside a turn, or joins the one in flight.
      compact: () => whileOpen(compaction.compact),
      grep: (input) => whileOpen(MemoryTools.grep(memory, input)),
      describe: (input) => whileOpen(MemoryTools.describe(memory, input)),
      expand: (input) => whileOpen(MemoryTools.expand(memory, input)),
      tokenUsage: Ref.get(core.usage),
      compactionInProgress: compaction.inProgress,
      awaitCompaction: compaction.awaitIdle,
      events: announcer.events,
      subscribe: announcer.subscribe,
      close: lifecycle.close(announcer.subscribersDone)
    }
    register(session, { core, whileOpen })
    return session
  })
