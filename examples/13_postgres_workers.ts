/**
 * Example 13 — from one process to many workers: the same program as with SQLite, another layer.
 * Two workers (here two sets of services in one process, each with its own connection pool, as two
 * processes or two machines would have) share one PostgreSQL database: each runs sessions of its
 * own with background compaction, and both write into one shared session. The database numbers
 * their turns and lets one compaction round of a session run at a time.
 *
 *   MNESIS_DATABASE_URL=postgres://user:password@host:5432/db MNESIS_MOCK_LLM=1 npx tsx examples/13_postgres_workers.ts
 *   scripts/with-postgres.sh sh -c 'MNESIS_DATABASE_URL=$MNESIS_TEST_DATABASE_URL npx tsx examples/13_postgres_workers.ts'
 *
 * Without MNESIS_DATABASE_URL it says how to run it and exits.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import { makeLive, Session, Storage } from "../src/index.js"

const url = process.env["MNESIS_DATABASE_URL"]?.trim()

/** A tight budget so that a few turns are enough for background compaction. */
const config = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

const turnText = (worker: string, i: number) =>
  `${worker}, turn ${i}: the build of module-${i} passed; notes are in docs/m${i}.md. ` +
  "Some more words so the context fills up. ".repeat(20)

/** One worker: its own services (MnesisLive reads MNESIS_DATABASE_URL), its sessions, the shared one. */
const worker = (name: string, shared: Session.Session["id"]) =>
  Effect.scoped(Effect.gen(function*() {
    const own = yield* Session.open({ model: "anthropic/claude-opus-4-6", config })
    const together = yield* Session.loadScoped(shared, { config })
    let rounds = 0
    yield* own.subscribe("CompactionCompleted", (event) =>
      Effect.sync(() => event.result.compacted && rounds++))
    for (let i = 0; i < 24; i++) {
      yield* own.send(turnText(name, i))
      yield* together.record({ user: `${name} asks question ${i}`, assistant: `answer ${i} for ${name}` })
    }
    yield* own.awaitCompaction
    const kept = (yield* own.messages()).length
    yield* Console.log(
      `${name}: 24 turns in its own session, ${rounds} background compaction(s), ${kept} messages stored, summaries included`
    )
  })).pipe(Effect.provide(makeLive(config)))

const program = Effect.gen(function*() {
  if (url === undefined || url === "") {
    yield* Console.log("== Example 13: PostgreSQL workers")
    yield* Console.log(
      "MNESIS_DATABASE_URL is not set: this example needs a PostgreSQL database, e.g.\n" +
        "  MNESIS_DATABASE_URL=postgres://user:password@localhost:5432/mnesis MNESIS_MOCK_LLM=1 " +
        "npx tsx examples/13_postgres_workers.ts\n" +
        "or a throwaway server (Debian's postgresql package installed):\n" +
        "  scripts/with-postgres.sh sh -c " +
        "'MNESIS_DATABASE_URL=$MNESIS_TEST_DATABASE_URL npx tsx examples/13_postgres_workers.ts'"
    )
    return
  }
  yield* Console.log("== Example 13: two workers on one PostgreSQL database")
  const shared = yield* Effect.scoped(
    Effect.map(Session.open({ model: "anthropic/claude-opus-4-6", config }), (session) => session.id)
  ).pipe(Effect.provide(makeLive(config)))
  yield* Effect.all([worker("worker A", shared), worker("worker B", shared)], { concurrency: "unbounded" })
  const check = Effect.gen(function*() {
    const store = yield* Storage.Storage
    const messages = yield* store.history(shared, { limit: 1_000 })
    const turns = (yield* store.snapshots(shared)).map((snapshot) => snapshot.turn)
    const seqs = messages.map((message) => message.seq)
    yield* Console.log(
      `shared session ${shared}: ${messages.length} messages, seq 1…${seqs.at(-1)} without gaps: ` +
        `${seqs.every((seq, i) => seq === i + 1)}; turns 1…${turns.length} numbered by the database: ` +
        `${turns.every((turn, i) => turn === i + 1)}`
    )
  })
  yield* check.pipe(Effect.provide(makeLive(config)))
})

NodeRuntime.runMain(program)
