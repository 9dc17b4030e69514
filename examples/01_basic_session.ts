/**
 * Example 1 — a basic session: open, send, read the usage, close.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/01_basic_session.ts
 *
 * Without MNESIS_MOCK_LLM the model below needs ANTHROPIC_API_KEY. Sessions are stored in
 * ~/.mnesis/sessions.db unless MNESIS_DB_PATH says otherwise.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import { MnesisLive, Session, TokenUsage } from "../src/index.js"

const program = Effect.scoped(Effect.gen(function*() {
  const session = yield* Session.open({
    model: "anthropic/claude-opus-4-6",
    systemPrompt: "You are a helpful assistant."
  })
  yield* Console.log("== Example 1: a basic session — send, read usage, close ==")
  yield* Console.log(`session ${session.id}`)

  const turn = yield* session.send("Explain the GIL in Python.")
  yield* Console.log("user: Explain the GIL in Python.")
  yield* Console.log(`assistant: ${turn.text}`)
  yield* Console.log(
    `tokens this turn: ${
      TokenUsage.effectiveTotal(turn.tokens)
    } (${turn.tokens.input} in, ${turn.tokens.output} out)`
  )

  const second = yield* session.send("And how does it affect threads?")
  yield* Console.log("user: And how does it affect threads?")
  yield* Console.log(`assistant: ${second.text}`)

  const usage = yield* session.tokenUsage
  const history = yield* session.history()
  yield* Console.log(`session total: ${TokenUsage.effectiveTotal(usage)} tokens over ${history.length} turns`)
  yield* Console.log(`context now: ${history[history.length - 1]?.context.total ?? 0} tokens`)
}))

program.pipe(Effect.provide(MnesisLive), NodeRuntime.runMain)
