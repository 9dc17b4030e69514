/**
 * A worker process for the many-workers tests: sessions on a shared database (a PostgreSQL URL or a
 * SQLite file, see test/support/backend.ts) with a tight budget, so background rounds run every few
 * turns. It prints what the parent checks:
 *
 *   SESSION <id>                  a session it created
 *   ROUND <sessionId> <start> <end>   a compaction round it ran (wall-clock ms, comparable across processes)
 *   COMMITTING                    (victim mode) a round is inside its commit transaction
 *   DONE                          every turn was sent and every session closed
 *
 *   node --import tsx test/postgres/worker.ts <location> many <sessions> <turns> <concurrency>
 *   node --import tsx test/postgres/worker.ts <location> shared <sessionId> <turns> <name>
 *   node --import tsx test/postgres/worker.ts <location> victim <sessionId|new> <turns>
 */
import { Effect, Exit, type Option, Tracer } from "effect"
import { performance } from "node:perf_hooks"
import type { SessionId } from "../../src/Domain.js"
import * as Session from "../../src/Session.js"
import { makeTest, storeFor } from "../support/backend.js"

const [location, mode, target, turnsArg, extra] = process.argv.slice(2)
const turns = Number(turnsArg)

const say = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

export const config = {
  compaction: { compactionOutputBudget: 1_000, condenseFanout: 2, leaseTimeout: "3 seconds" },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

/** Wall-clock milliseconds, with the sub-millisecond part (the same epoch in every process). */
const wallClock = () => performance.timeOrigin + performance.now()

/** A span that reports each compaction round when it ends. */
class RoundSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly started = wallClock()
  constructor(readonly inner: Tracer.Span) {}
  get name() {
    return this.inner.name
  }
  get spanId() {
    return this.inner.spanId
  }
  get traceId() {
    return this.inner.traceId
  }
  get parent(): Option.Option<Tracer.AnySpan> {
    return this.inner.parent
  }
  get context() {
    return this.inner.context
  }
  get status() {
    return this.inner.status
  }
  get attributes() {
    return this.inner.attributes
  }
  get links() {
    return this.inner.links
  }
  get sampled() {
    return this.inner.sampled
  }
  get kind() {
    return this.inner.kind
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    const ended = wallClock()
    this.inner.end(endTime, exit)
    const session = this.inner.attributes.get("mnesis.session.id")
    if (Exit.isSuccess(exit) && typeof session === "string") {
      process.stdout.write(`ROUND ${session} ${this.started} ${ended}\n`)
    }
  }
  attribute(key: string, value: unknown) {
    this.inner.attribute(key, value)
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>) {
    this.inner.event(name, startTime, attributes)
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    this.inner.addLinks(links)
  }
}

const roundTracer = Effect.map(Effect.tracer, (native) =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = native.span(name, parent, context, links, startTime, kind, options)
      return name === "mnesis.compaction.round" ? new RoundSpan(span) : span
    },
    context: native.context
  }))

const turnText = (i: number, who: string) =>
  `Turn ${i} from ${who}: item-${i} is in src/m${i}.ts. ` + "Plain words to fill the turn up. ".repeat(12)

const runSession = (session: Session.Session, who: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < turns; i++) yield* session.send(turnText(i, who))
    yield* session.close
  })

const many = Effect.gen(function*() {
  const count = Number(target)
  yield* Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) =>
      Effect.gen(function*() {
        const session = yield* Session.create({ model: "mock/small", config })
        yield* say(`SESSION ${session.id}`)
        yield* runSession(session, `session ${i}`)
      }),
    { concurrency: Number(extra), discard: true }
  )
})

const shared = Effect.gen(function*() {
  const session = yield* Session.load(target as SessionId, { config })
  yield* runSession(session, extra ?? "shared")
})

const program = Effect.gen(function*() {
  const tracer = yield* roundTracer
  yield* (mode === "many" ? many : shared).pipe(Effect.withTracer(tracer))
  yield* say("DONE")
})

/** Victim mode: one session whose commits pause inside their transaction, to be killed there. */
const victimLayer = makeTest({
  config,
  storage: storeFor(location!, {
    onCompactionStep: (step) =>
      step === "provenance" ? Effect.zipRight(say("COMMITTING"), Effect.sleep("2 seconds")) : Effect.void
  })
})

const victim = Effect.gen(function*() {
  const session = target === "new"
    ? yield* Session.create({ model: "mock/small", config })
    : yield* Session.load(target as SessionId, { config })
  yield* say(`SESSION ${session.id}`)
  yield* runSession(session, "victim")
  yield* say("DONE")
})

const run = mode === "victim"
  ? Effect.provide(victim, victimLayer)
  : Effect.provide(program, makeTest({ config, storage: storeFor(location!) }))

Effect.runPromise(run).catch((error: unknown) => {
  process.stderr.write(`worker failed: ${String(error)}\n`)
  process.exit(1)
})
