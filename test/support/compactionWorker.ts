/**
 * A child process for the crash tests: a session on a database (a SQLite file or a PostgreSQL URL,
 * see test/support/backend.ts) with a tight budget, so
 * compaction rounds commit every few turns. Before the provenance step of every commit it prints
 * COMMITTING and pauses inside the transaction, so the parent can SIGKILL it mid-commit.
 *
 *   node --import tsx test/support/compactionWorker.ts <db> <sessionId|new> <turns>
 *
 * Prints `SESSION <id>` first, `DONE` when all turns are sent.
 */
import { Effect } from "effect"
import type { SessionId } from "../../src/Domain.js"
import * as Session from "../../src/Session.js"
import { makeTest, storeFor } from "./backend.js"

const [dbPath, existing, turns] = process.argv.slice(2)

const say = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

const config = {
  compaction: { compactionOutputBudget: 1_000, condenseFanout: 2, leaseTimeout: "2 seconds" },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

const layer = makeTest({
  config,
  storage: storeFor(dbPath!, {
    onCompactionStep: (step) =>
      step === "provenance" ? Effect.zipRight(say("COMMITTING"), Effect.sleep("150 millis")) : Effect.void
  })
})

const program = Effect.gen(function*() {
  const session = existing === "new"
    ? yield* Session.create({ model: "mock/small", config })
    : yield* Session.load(existing as SessionId, { config })
  yield* say(`SESSION ${session.id}`)
  for (let i = 0; i < Number(turns); i++) {
    yield* session.send(
      `Turn ${i}: item-${i} is in src/m${i}.ts. ` + "Plain words to fill the turn up. ".repeat(12)
    )
  }
  yield* session.close
  yield* say("DONE")
})

Effect.runPromise(program.pipe(Effect.provide(layer))).catch((error: unknown) => {
  process.stderr.write(`worker failed: ${String(error)}\n`)
  process.exit(1)
})
