/**
 * Example 7 — streaming: `session.stream(...)` yields the turn's events as they arrive (text
 * deltas, tool calls and results, steps) and ends with `turn_complete`; `send` with `onPart`
 * delivers the same events to a callback and returns the `TurnResult`.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/07_streaming.ts
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Clock, Console, Effect, Stream } from "effect"
import { MnesisLive, Session } from "../src/index.js"

const write = (text: string) => Effect.sync(() => process.stdout.write(text))

const program = Effect.scoped(Effect.gen(function*() {
  const session = yield* Session.open({ model: "anthropic/claude-opus-4-6" })
  yield* Console.log("== Example 7: streaming a turn ==")

  // 1. As a Stream: print each delta on one line as it comes, keep the final result.
  yield* Console.log("-- session.stream --")
  yield* write("assistant: ")
  let deltas = 0
  let result: Session.TurnResult | undefined
  let firstDeltaMs: number | undefined
  const started = yield* Clock.currentTimeMillis
  yield* session.stream("Tell me a very short story about a lighthouse keeper.").pipe(
    Stream.runForEach((event) => {
      switch (event.type) {
        case "text_delta":
          deltas++
          return Effect.flatMap(Clock.currentTimeMillis, (now) => {
            firstDeltaMs ??= now - started
            return write(event.text)
          })
        case "turn_complete":
          result = event.result
          return write("\n")
        default:
          return Effect.void
      }
    })
  )
  if (result !== undefined) {
    yield* Console.log(
      `turn_complete: ${deltas} deltas (first after ${firstDeltaMs ?? "?"} ms), ` +
        `${result.text.length} chars, finish ${result.finishReason}, ` +
        `${result.tokens.input} in / ${result.tokens.output} out, ${result.steps} step(s)`
    )
  }

  // 2. As a callback: `onPart` sees every event; `send` returns the result as usual.
  yield* Console.log("-- session.send with onPart --")
  const seen: Array<Session.StreamEvent["type"]> = []
  yield* write("assistant: ")
  const turn = yield* session.send("And how does it end?", {
    onPart: (event) => {
      seen.push(event.type)
      if (event.type === "text_delta") process.stdout.write(event.text)
    }
  })
  yield* write("\n")
  yield* Console.log(`onPart saw: ${seen.join(", ")}`)
  yield* Console.log(`send returned: "${turn.text.slice(0, 40)}…" (${turn.tokens.output} output tokens)`)
}))

program.pipe(Effect.provide(MnesisLive), NodeRuntime.runMain)
