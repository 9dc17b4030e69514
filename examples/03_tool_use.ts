/**
 * Example 3 — tool use: a calculator and a file reader made with `Tool.make`, the tool loop
 * watched live, then old tool outputs pruned from the context (but never from the history).
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/03_tool_use.ts
 *
 * A real model decides on its own which tools to call. Here the model is `MockLlm` with a script
 * (so the example runs without a key, and does the same every time), wired into the services a
 * session needs with `makeTest`: a scripted provider, our configuration and a SQLite file. With
 * a real model you would provide `MnesisLive` (or `makeLive(config)`) instead and drop the script.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Schema } from "effect"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { makeTest, type MnesisEvent, MockLlm, Session, SqliteStore, Tool } from "../src/index.js"

// ---------------------------------------------------------------------------------------------
// Two tools
// ---------------------------------------------------------------------------------------------

const calculator = Tool.make({
  name: "calculator",
  description: "Computes a op b for two numbers.",
  input: Schema.Struct({ a: Schema.Number, op: Schema.Literal("+", "-", "*", "/"), b: Schema.Number }),
  handler: ({ a, b, op }) =>
    op === "/" && b === 0
      ? Effect.fail(new Error("division by zero"))
      : Effect.succeed(op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b)
})

/** A fake file system: every file is a long log, so every read costs about 1,000 tokens. */
const fakeFile = (path: string) =>
  Array.from(
    { length: 28 },
    (_, i) =>
      `${path}:${i + 1} 2025-06-0${(i % 9) + 1}T10:${String(i % 60).padStart(2, "0")}:00Z worker-${i % 7} ` +
      `processed batch ${1000 + i * 17} in ${20 + ((i * 37) % 400)} ms (retries=${i % 3})`
  ).join("\n")

const readFile = Tool.make({
  name: "read_file",
  description: "Returns the content of a file.",
  input: Schema.Struct({ path: Schema.String }),
  handler: ({ path }) => Effect.succeed(fakeFile(path))
})

// ---------------------------------------------------------------------------------------------
// The scripted model: what it answers, call after call (a real model needs no script)
// ---------------------------------------------------------------------------------------------

const { Reply } = MockLlm
const LOGS = ["logs/mon.log", "logs/tue.log", "logs/wed.log", "logs/thu.log", "logs/fri.log"]

const script = [
  // Turn 1: two steps of tool calls, then the answer.
  Reply.toolCalls([{ name: "calculator", input: { a: 1234, op: "*", b: 5678 } }]),
  Reply.toolCalls([{ name: "read_file", input: { path: "config/app.log" } }]),
  Reply.text("1234 × 5678 = 7,006,652. The app log shows 28 batches, none slower than 420 ms."),
  // Then one log per turn: read it, then report.
  ...LOGS.flatMap((path) => [
    Reply.toolCalls([{ name: "read_file", input: { path } }]),
    Reply.text(`${path}: 28 batches processed, 18 of them needed retries.`)
  ])
]

// A small window, and pruning that starts early, so tombstones show up within a few turns.
const config = {
  compaction: { compactionOutputBudget: 1_000, pruneProtectTokens: 1_000, pruneMinimumTokens: 500 },
  modelOverrides: { contextLimit: 8_000, maxOutputTokens: 1_000 }
}

// The same database MnesisLive would use: MNESIS_DB_PATH, or here a file in the temp directory.
const storage = SqliteStore.layer({
  filename: process.env.MNESIS_DB_PATH ?? NodePath.join(NodeOs.tmpdir(), "mnesis-examples.db")
})

const MnesisScripted = makeTest({ config, mock: { script }, storage })

// ---------------------------------------------------------------------------------------------

const fmt = (n: number) => n.toLocaleString("en")
const preview = (text: string) => {
  const line = text.split("\n")[0] ?? ""
  return line.length > 48 || line.length < text.length ? `${line.slice(0, 48)}…` : line
}

/** How the tool loop looks from the outside, one short line per event (deltas skipped). */
const show = (event: Session.StreamEvent) => {
  switch (event.type) {
    case "step":
      return Console.log(`  · step ${event.step}`)
    case "tool_call":
      return Console.log(`  → ${event.name}(${JSON.stringify(event.input)})`)
    case "tool_result":
      return Console.log(
        event.error !== undefined
          ? `  ← ${event.name} failed: ${event.error}`
          : `  ← ${event.name}: ${fmt(event.output?.length ?? 0)} chars, "${preview(event.output ?? "")}"`
      )
    default:
      return Effect.void
  }
}

const describe = (event: MnesisEvent) => {
  switch (event._tag) {
    case "PruneCompleted":
      return Console.log(`  ✂ pruned ${event.count} old tool output(s), ${fmt(event.tokens)} tokens freed`)
    case "CompactionCompleted": {
      const r = event.result
      const how = r.rounds === 0
        ? (r.pruned.count > 0 ? "pruning alone was enough, no summary written" : "nothing to do")
        : `${r.rounds} summar${r.rounds === 1 ? "y" : "ies"} written`
      return Console.log(`  ✓ compaction: ${fmt(r.tokensBefore)} → ${fmt(r.tokensAfter)} tokens (${how})`)
    }
    default:
      return Effect.void
  }
}

const program = Effect.scoped(Effect.gen(function*() {
  const session = yield* Session.open({
    model: "mock/scripted",
    systemPrompt: "You are an operations assistant. Use the tools.",
    tools: [calculator, readFile]
  })
  yield* Console.log("== Example 3: tools, the tool loop, and pruning of old tool outputs ==")
  yield* session.subscribe("PruneCompleted", describe)
  yield* session.subscribe("CompactionCompleted", describe)

  yield* Console.log("user: What is 1234 * 5678? And is anything slow in config/app.log?")
  const turn = yield* session.send("What is 1234 * 5678? And is anything slow in config/app.log?", {
    onPart: show
  })
  yield* Console.log(`assistant: ${turn.text}`)
  yield* Console.log(`(${turn.steps} provider calls, finish: ${turn.finishReason})`)

  yield* Console.log("-- five more turns, each reading a log of ~1,000 tokens --")
  for (const path of LOGS) {
    const logTurn = yield* session.send(`Summarise ${path}.`)
    yield* Console.log(
      `${logTurn.text}  [context ${fmt(logTurn.context.total)} tokens, ` +
        `${fmt(logTurn.context.toolOutputs)} in tool calls]`
    )
  }

  // Let the background round the last turn may have started finish, then look at the context.
  yield* session.awaitCompaction

  // What the model will see next: old outputs replaced by a one-line tombstone …
  const next = yield* session.contextForNextTurn()
  const results = next.messages.flatMap((m) => m.content.flatMap((b) => b.type === "tool_result" ? [b] : []))
  const tombstones = results.filter((b) => b.content.startsWith("[output of tool \"read_file\""))
  yield* Console.log(
    `next context: ${fmt(next.breakdown.total)} tokens, ${results.length} tool results, ` +
      `${tombstones.length} file reads tombstoned, e.g.`
  )
  const tombstone = tombstones[0]
  if (tombstone !== undefined) yield* Console.log(`  ${tombstone.content}`)

  // … while the history keeps every output in full.
  const stored = (yield* session.messages()).flatMap((m) => m.parts).find((p) =>
    p.type === "tool" && p.toolCallId === tombstone?.toolUseId
  )
  if (stored?.type === "tool") {
    yield* Console.log(
      `session.messages() still has it: ${stored.toolName}(${JSON.stringify(stored.input)}) → ` +
        `${fmt(stored.output?.length ?? 0)} chars (compactedAt set: ${stored.compactedAt !== undefined})`
    )
  }
}))

program.pipe(Effect.provide(MnesisScripted), NodeRuntime.runMain)
