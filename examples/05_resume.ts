/**
 * Example 5 — resuming a session: create it, tell it something, close it; later (here: a second
 * program with its own services and database connection, as a new process would have) load it by
 * id and carry on where it stopped.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/05_resume.ts
 *
 * The database is MNESIS_DB_PATH, or a file in the system's temp directory.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { makeLive, Session, type SessionId, TokenUsage } from "../src/index.js"

// MNESIS_DB_PATH, when set, wins over this.
const MnesisLive = makeLive({ store: { dbPath: NodePath.join(NodeOs.tmpdir(), "mnesis-examples.db") } })

const oneLine = (text: string, max = 90) => {
  const flat = text.replace(/\s+/g, " ")
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`
}

/** First run: a session the caller closes itself (`create`, not `open`). */
const firstRun = Effect.gen(function*() {
  const session = yield* Session.create({
    model: "anthropic/claude-opus-4-6",
    systemPrompt: "You are a helpful assistant with a good memory."
  })
  yield* Console.log(`session id: ${session.id}  (keep it to resume later)`)
  const turn = yield* session.send("Remember: the secret code is 42.")
  yield* Console.log(`user: Remember: the secret code is 42.`)
  yield* Console.log(`assistant: ${turn.text}`)
  yield* session.close
  yield* Console.log("closed")
  return session.id
}).pipe(Effect.provide(MnesisLive))

/** Later run: everything comes back from the store. */
const laterRun = (id: SessionId) =>
  Effect.scoped(Effect.gen(function*() {
    const session = yield* Session.loadScoped(id)
    const usage = yield* session.tokenUsage
    const history = yield* session.history()
    const before = yield* session.contextForNextTurn()
    yield* Console.log(`loaded ${session.id} (${session.model})`)
    yield* Console.log(`  system prompt: "${before.system.map((block) => block.text).join("")}"`)
    yield* Console.log(`  usage so far: ${TokenUsage.effectiveTotal(usage)} tokens; turns: ${history.length}`)
    yield* Console.log(`  context for the next turn (${before.messages.length} messages):`)
    for (const message of before.messages) {
      const text = message.content.map((block) => block.type === "text" ? block.text : `[${block.type}]`)
        .join(" ")
      yield* Console.log(`    ${message.role}: ${oneLine(text)}`)
    }

    // A real model answers "The secret code is 42."; the mock echoes and counts what it was sent.
    const turn = yield* session.send("What was the secret code?")
    yield* Console.log(`user: What was the secret code?`)
    yield* Console.log(`assistant: ${turn.text}`)
    const after = yield* session.history()
    const usageAfter = yield* session.tokenUsage
    yield* Console.log(
      `  turns now: ${after.length}; usage ${TokenUsage.effectiveTotal(usageAfter)} tokens ` +
        `(${turn.tokens.input} input tokens this turn: the first exchange was sent along)`
    )
  })).pipe(Effect.provide(MnesisLive))

const program = Effect.gen(function*() {
  yield* Console.log("== Example 5: close a session, load it again by id ==")
  const id = yield* firstRun
  yield* Console.log("-- later, in a fresh program --")
  yield* laterRun(id)
})

NodeRuntime.runMain(program)
