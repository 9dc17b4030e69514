/**
 * A child process for the concurrent-record test: loads a session from a database (a SQLite file or
 * a PostgreSQL URL, see test/support/backend.ts) and records
 * `count` exchanges into it, each question tagged with this worker's name.
 *
 *   node --import tsx test/session/recordWorker.ts <db> <sessionId> <name> <count>
 *
 * Prints `DONE` when every exchange is recorded; exits non-zero on any error.
 */
import { Effect } from "effect"
import * as Session from "../../src/Session.js"
import { makeTest, storeFor } from "../support/backend.js"

const [dbPath, sessionId, name, count] = process.argv.slice(2)

const program = Effect.gen(function*() {
  const session = yield* Session.load(sessionId!, { storage: storeFor(dbPath!) })
  for (let i = 0; i < Number(count); i++) {
    yield* session.record({ user: `question ${name} ${i}`, assistant: `answer ${name} ${i}` })
  }
  yield* session.close
  process.stdout.write("DONE\n")
})

Effect.runPromise(program.pipe(Effect.provide(makeTest({ storage: storeFor(dbPath!) }))))
  .catch((error: unknown) => {
    process.stderr.write(`worker failed: ${String(error)}\n`)
    process.exit(1)
  })
