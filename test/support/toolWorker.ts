/**
 * A child process for the tool-loop crash test: a turn whose first step runs a quick tool and
 * whose second step starts a tool that never returns. It prints `SESSION <id>` and then
 * `RUNNING` once the slow tool has started, so the parent can SIGKILL it mid-step.
 *
 *   node --import tsx test/support/toolWorker.ts <db>
 */
import { Effect, Schema } from "effect"
import { makeTest } from "../../src/Layers.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import * as Session from "../../src/Session.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import * as Tool from "../../src/Tool.js"

const [dbPath] = process.argv.slice(2)
const say = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

const add = Tool.make({
  name: "add",
  description: "a + b",
  input: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  handler: ({ a, b }) => Effect.succeed(a + b)
})
const slow = Tool.make({
  name: "slow",
  description: "never returns",
  input: Schema.Struct({}),
  handler: () => Effect.zipRight(say("RUNNING"), Effect.never)
})

const layer = makeTest({
  storage: SqliteStore.layer({ filename: dbPath! }),
  mock: {
    script: [
      MockLlm.Reply.toolCalls([{ name: "add", input: { a: 2, b: 3 } }]),
      MockLlm.Reply.toolCalls([{ name: "slow", input: {} }])
    ]
  }
})

const program = Effect.gen(function*() {
  const session = yield* Session.create({ model: "mock/worker" })
  yield* say(`SESSION ${session.id}`)
  yield* session.send("go", { tools: [add, slow] })
})

Effect.runPromise(program.pipe(Effect.provide(layer))).catch((error: unknown) => {
  process.stderr.write(`worker failed: ${String(error)}\n`)
  process.exit(1)
})
