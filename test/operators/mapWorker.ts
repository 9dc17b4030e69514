/**
 * A child process for the operators' crash test: an LLM-Map over a SQLite file, with a mock
 * provider that appends each call's item to a log file (synchronously, before it answers), so the
 * calls of both processes can be counted afterwards.
 *
 *   node --import tsx test/operators/mapWorker.ts <db> <calls-log> start <items>
 *   node --import tsx test/operators/mapWorker.ts <db> <calls-log> resume <runId>
 *
 * Prints `RUN <id>` when the run is recorded, `DONE <index>` as each item's result is handed on,
 * and `END <done> <failed>` when the run is over.
 */
import { Effect, Layer, Schema, Stream } from "effect"
import * as NodeFs from "node:fs"
import { Settings } from "../../src/Config.js"
import { makeLayer } from "../../src/Layers.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import { LlmProvider } from "../../src/LlmProvider.js"
import { LlmMap } from "../../src/Operators.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"

const [dbPath, callsLog, mode, arg] = process.argv.slice(2)

const say = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

/** What each item's call answers (the mock writes values of the schema). */
export const Answer = Schema.Struct({ id: Schema.String, words: Schema.Int })

const logged = Layer.effect(
  LlmProvider,
  Effect.map(MockLlm.make({ deltaLatency: "1 millis", keepRequests: false }), ({ provider }) => ({
    stream: (request) =>
      Stream.unwrap(Effect.sync(() => {
        const block = request.messages[0]?.content[0]
        NodeFs.appendFileSync(callsLog!, `${block?.type === "text" ? block.text : "?"}\n`)
        return provider.stream(request)
      }))
  }))
)

const layer = makeLayer({
  settings: Settings.layer({ operators: { llmMapConcurrency: 8 } }),
  storage: SqliteStore.layer({ filename: dbPath! }),
  provider: logged
})

const program = Effect.gen(function*() {
  const prepared = mode === "start"
    ? LlmMap.run({
      items: Array.from({ length: Number(arg) }, (_, i) => ({ id: `item-${i}` })),
      template: "Count the words of {{ item.id }}",
      schema: Answer,
      model: "mock/map"
    })
    : LlmMap.resume(arg!, { schema: Answer })
  let done = 0
  let failed = 0
  let announced = mode !== "start"
  yield* prepared.pipe(
    Stream.runForEach((result) =>
      Effect.gen(function*() {
        if (!announced) {
          announced = true
          yield* say(`RUN ${result.runId}`)
        }
        if (result._tag === "Success") done++
        else failed++
        yield* say(`DONE ${result.index}`)
      })
    )
  )
  yield* say(`END ${done} ${failed}`)
})

Effect.runPromise(program.pipe(Effect.provide(layer))).catch((error: unknown) => {
  process.stderr.write(`worker failed: ${String(error)}\n`)
  process.exit(1)
})
