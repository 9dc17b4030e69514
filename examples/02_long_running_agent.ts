/**
 * Example 2 — a long-running agent: 60 turns on a small budget, compaction watched live.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/02_long_running_agent.ts
 *
 * The model's window is shrunk to 8,000 tokens so the soft threshold is crossed every few turns:
 * a background fiber then summarises the oldest span while the agent keeps working. The events
 * it publishes are printed as they arrive, and each turn prints the active context's size, which
 * climbs and drops back — a sawtooth.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import { makeLive, type MnesisEvent, Session } from "../src/index.js"

const TURNS = 60
const CONTEXT_LIMIT = 8_000
const MAX_OUTPUT = 1_000
const COMPACTION_OUTPUT = 1_000
// What the context may hold, and where a background round starts (60% of it by default).
const USABLE = CONTEXT_LIMIT - MAX_OUTPUT - COMPACTION_OUTPUT
const SOFT = Math.floor(USABLE * 0.6)

// Work items the "agent" reports on, one per turn: long enough that the context fills up.
const topics = ["parser", "scheduler", "cache layer", "auth flow", "billing export", "search index"]
const task = (i: number) =>
  `Step ${i}: review the ${topics[i % topics.length]} module. List the functions you touched, the ` +
  `edge cases you checked (empty input, unicode, very large payloads, concurrent writers), the tests ` +
  `you added and anything still open, so that we can pick the work up again later without rereading ` +
  `the code. Keep the notes for step ${i} precise.`

const fmt = (n: number) => n.toLocaleString("en")

/** One line per compaction event, printed from the subscriber's own fiber as it happens. */
const describe = (event: MnesisEvent): string | undefined => {
  switch (event._tag) {
    case "CompactionTriggered":
      return `  ⚑ compaction triggered (${event.threshold}) at ${fmt(event.contextTokens)} tokens`
    case "PruneCompleted":
      return `  ✂ pruned ${event.count} tool output(s), ${fmt(event.tokens)} tokens`
    case "CompactionCompleted": {
      const r = event.result
      if (!r.compacted) return `  ✓ compaction done: nothing to do at ${fmt(r.tokensBefore)} tokens`
      return `  ✓ compaction done: ${fmt(r.tokensBefore)} → ${fmt(r.tokensAfter)} tokens, ` +
        `level ${r.level}, ${r.rounds} summar${r.rounds === 1 ? "y" : "ies"}, ` +
        `${r.messagesCovered} messages covered, ${r.elapsedMs} ms`
    }
    case "CompactionFailed":
      return `  ✗ compaction failed: ${event.error.split("\n")[0]}`
    default:
      return undefined
  }
}

const bar = (tokens: number, scale: number) => "█".repeat(Math.max(1, Math.round(tokens / scale)))

const program = Effect.scoped(Effect.gen(function*() {
  const session = yield* Session.open({
    model: "anthropic/claude-opus-4-6",
    systemPrompt: "You are a careful engineering agent. Keep concise working notes."
  })
  yield* Console.log(`== Example 2: a ${TURNS}-turn agent on a ${fmt(CONTEXT_LIMIT)}-token window ==`)
  yield* Console.log(`session ${session.id}`)
  yield* Console.log(`usable context ${fmt(USABLE)} tokens; background compaction from ${fmt(SOFT)}`)

  yield* session.subscribe("*", (event) => {
    const line = describe(event)
    return line === undefined ? Effect.void : Console.log(line)
  })

  let peak = 0
  let compactions = 0
  for (let i = 1; i <= TURNS; i++) {
    const turn = yield* session.send(task(i))
    if (turn.compactionTriggered) compactions++
    const context = turn.context.total
    peak = Math.max(peak, context)
    yield* Console.log(`turn ${String(i).padStart(2)} ${fmt(context).padStart(6)} ${bar(context, 100)}`)
  }

  // A round the last turns started may still run; `compact()` would join it. Wait it out first.
  yield* session.awaitCompaction
  const context = yield* session.contextForNextTurn()
  yield* Console.log(
    `after ${TURNS} turns: ${compactions} background compactions, peak context ${fmt(peak)} tokens, ` +
      `now ${fmt(context.breakdown.total)} (${fmt(context.breakdown.summaries)} in summaries)`
  )

  // A manual round summarises what lies outside the fresh tail (the last 2 turns), even below the
  // soft threshold; a second call right after has nothing left to do and says so.
  for (let i = TURNS + 1; i <= TURNS + 2; i++) yield* session.send(task(i))
  for (const label of ["manual session.compact()", "and once more"]) {
    yield* Console.log(`${label}:`)
    const manual = yield* session.compact()
    const sizes = `${fmt(manual.tokensBefore)} → ${fmt(manual.tokensAfter)} tokens`
    yield* Console.log(
      manual.compacted
        ? `  → compacted: ${sizes}, level ${manual.level}, ${manual.messagesCovered} messages covered`
        : `  → compacted=false (${sizes}): nothing outside the fresh tail left to summarise`
    )
  }

  const all = yield* session.messages()
  const summaries = all.filter((m) => m.isSummary).length
  const usage = yield* session.tokenUsage
  yield* Console.log(
    `history keeps all ${all.length - summaries} messages (+${summaries} summary messages); ` +
      `${fmt(usage.input)} input tokens billed in total`
  )
}))

program.pipe(
  Effect.provide(makeLive({
    compaction: { compactionOutputBudget: COMPACTION_OUTPUT },
    modelOverrides: { contextLimit: CONTEXT_LIMIT, maxOutputTokens: MAX_OUTPUT }
  })),
  NodeRuntime.runMain
)
