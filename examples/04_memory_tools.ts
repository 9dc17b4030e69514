/**
 * Example 4 — the memory tools after compaction: grep → describe → expand.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/04_memory_tools.ts
 *
 * A 40-turn conversation on a small window is compacted into summaries; the message holding an
 * early fact has left the active context, and a summary stands for it. `grep` still finds it and says which summary stands for it, `describe` tells what
 * that summary is, and `expand` returns the original messages behind it. With `memoryTools: true`
 * the model is offered the same three calls as tools (`grep`, `describe`, `expand`) and can do
 * this itself; here the program calls them directly.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import { makeLive, Session } from "../src/index.js"

const TURNS = 40

/** Each turn notes one fact; turn 3 holds the one we will look for later. */
const note = (i: number) =>
  i === 3
    ? "Note for later: the staging database password rotates every 90 days; the current key id is KEY-4471."
    : `Step ${i}: reviewed module-${i} (src/module${i}/index.ts) and left ${i % 5} comments. ` +
      "Nothing unusual in the rest of the diff. ".repeat(8)

const program = Effect.scoped(Effect.gen(function*() {
  const session = yield* Session.open({
    model: "anthropic/claude-opus-4-6",
    systemPrompt: "You are a code-review assistant.",
    memoryTools: true
  })
  yield* Console.log("== Example 4: the memory tools after compaction — grep, describe, expand ==")

  for (let i = 1; i <= TURNS; i++) yield* session.send(note(i))
  yield* session.awaitCompaction
  const context = yield* session.contextForNextTurn()
  yield* Console.log(
    `after ${TURNS} turns the context holds ${context.breakdown.total.toLocaleString("en-US")} tokens, ` +
      `${context.breakdown.summaries.toLocaleString("en-US")} of them in summaries`
  )

  // 1. grep: full-text search over the whole history, summaries included.
  const found = yield* session.grep({ pattern: "KEY-4471" })
  yield* Console.log(`\ngrep "KEY-4471": ${found.hits.length} hit(s)`)
  for (const hit of found.hits) {
    const where = hit.location.kind === "covered"
      ? `covered by ${hit.location.summaryId}`
      : hit.location.kind === "summary"
      ? `inside summary ${hit.location.summaryId}`
      : hit.location.kind
    yield* Console.log(`  ${hit.messageId} (${hit.role}, ${where}): ${hit.snippet.replace(/\s+/g, " ")}`)
  }

  const covered = found.hits.flatMap((hit) => hit.location.kind === "covered" ? [hit.location.summaryId] : [])
  const summaryId = covered[0]
  if (summaryId === undefined) {
    yield* Console.log("the fact is still in the raw context; nothing to expand")
    return
  }

  // 2. describe: what the id is, without loading what it covers.
  const described = yield* session.describe({ id: summaryId })
  yield* Console.log(`\ndescribe ${summaryId}:`)
  yield* Console.log(indent(described.text.split("\n").slice(0, 6).join("\n")))

  // 3. expand: the originals the summary stands for, paged under a token cap.
  const expanded = yield* session.expand({ id: summaryId, maxTokens: 600 })
  const original = expanded.items.find((item) => item.text.includes("KEY-4471"))
  yield* Console.log(
    `\nexpand ${summaryId}: ${expanded.items.length} of ${expanded.total} item(s) on this page` +
      (expanded.nextCursor === undefined ? "" : " (more with the cursor)")
  )
  if (original !== undefined) {
    yield* Console.log(`  the original message ${original.id}:`)
    yield* Console.log(indent(original.text.split("\n").slice(0, 3).join("\n")))
  }
  const stored = yield* session.messages()
  yield* Console.log(`\nnothing was lost: ${stored.filter((m) => !m.isSummary).length} messages stored`)
}))

const indent = (text: string) =>
  text.split("\n").map((line) => `    ${line.length > 110 ? `${line.slice(0, 107)}…` : line}`).join("\n")

program.pipe(
  Effect.provide(makeLive({
    // A fan-out of 8 keeps the early leaf summaries apart, so `expand` shows the messages themselves.
    compaction: { compactionOutputBudget: 1_000, condenseFanout: 8 },
    modelOverrides: { contextLimit: 8_000, maxOutputTokens: 1_000 }
  })),
  NodeRuntime.runMain
)
