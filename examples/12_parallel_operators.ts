/**
 * Example 12 — parallel operators: fan-out work that stays out of the lead agent's context.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/12_parallel_operators.ts
 *
 * 1. LLM-Map classifies 60 support tickets (one stateless call each, every reply decoded with a
 *    Schema), with a progress bar fed by `MapItemCompleted` events.
 * 2. Agentic-Map sends three sub-agents after three leads, each in its own sub-session with a
 *    read-only tool; the lead session keeps one short note per run, not the outputs.
 * 3. The lead pages through a run's results with the memory tools (`expand("run_…")`).
 * 4. A run stopped part way finishes with `resume(runId)`, without paying again for what finished.
 *
 * With MNESIS_MOCK_LLM=1 the mock answers structured requests with values of the schema. Without
 * it, the model below needs ANTHROPIC_API_KEY. Runs and sessions are stored in MNESIS_DB_PATH
 * (default ~/.mnesis/sessions.db).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Chunk, Console, Effect, Schema, Stream } from "effect"
import { AgenticMap, LlmMap, MnesisLive, Session, Tool } from "../src/index.js"

const Ticket = Schema.Struct({
  category: Schema.Literal("bug", "billing", "feature", "other"),
  urgency: Schema.Int.pipe(Schema.between(1, 5))
})

const tickets = Array.from({ length: 60 }, (_, i) => ({
  id: `T-${1000 + i}`,
  text: [
    "The export button crashes the app",
    "I was charged twice this month",
    "Please add a dark mode",
    "How do I change my avatar?"
  ][i % 4]!
}))

/** A ten-cell bar: `[██████░░░░]  36/60`. */
const bar = (done: number, total: number) => {
  const cells = Math.round((done / total) * 10)
  return `[${"█".repeat(cells)}${"░".repeat(10 - cells)}] ${String(done).padStart(3)}/${total}`
}

/** A read-only tool for the sub-agents. */
const lookup = Tool.make({
  name: "lookup_company",
  description: "Looks up what is public about a company",
  input: Schema.Struct({ name: Schema.String }),
  readOnly: true,
  handler: ({ name }) => Effect.succeed(`${name}: founded 2019, 40 employees, sells developer tools.`)
})

const program = Effect.scoped(Effect.gen(function*() {
  yield* Console.log("== Example 12: parallel operators — LLM-Map, Agentic-Map, resume ==")
  const lead = yield* Session.open({ model: "anthropic/claude-sonnet-4-5", memoryTools: true })
  yield* lead.send("Triage this week's tickets, then research our three best leads.")

  // 1. LLM-Map with a progress bar: the run's events reach the session that started it.
  let shown = 0
  yield* lead.subscribe("MapItemCompleted", (event) =>
    Effect.gen(function*() {
      if (event.operator !== "llm_map" || event.completed < shown + event.total / 4) return
      shown = event.completed
      yield* Console.log(`  ${bar(event.completed, event.total)}`)
    }))
  const triage = yield* LlmMap.runAll({
    items: tickets,
    template: "Classify this support ticket ({{ item.id }}): {{ item.text }}",
    schema: Ticket,
    session: lead,
    concurrency: 8
  })
  const byCategory = new Map<string, number>()
  for (const s of triage.successes) {
    byCategory.set(s.output.category, (byCategory.get(s.output.category) ?? 0) + 1)
  }
  yield* Console.log(
    `LLM-Map ${triage.runId}: ${triage.successes.length} classified, ${triage.failures.length} failed, ` +
      `${triage.attempts} calls — ${[...byCategory].map(([c, n]) => `${c} ${n}`).join(", ")}`
  )

  // 2. Agentic-Map: one sub-agent (a sub-session of the lead) per lead, read-only tools only.
  const research = yield* AgenticMap.runAll({
    items: ["Acme Robotics", "Globex", "Initech"],
    template: "Research {{ item }} and say in two sentences whether we should call them.",
    systemPrompt: "You research sales leads. Use your tools, then answer briefly.",
    tools: [lookup],
    readOnly: true,
    session: lead,
    maxTurns: 4
  })
  for (const s of research.successes) {
    yield* Console.log(`sub-agent ${s.sessionId} on ${s.input}: ${s.output.slice(0, 70)}…`)
  }

  // The lead's context holds one note per run, not 63 outputs.
  const notes = (yield* lead.messages()).filter((m) =>
    m.text.startsWith("[llm_map") || m.text.startsWith("[agentic_map")
  )
  for (const note of notes) yield* Console.log(`note in the lead session: ${note.text.split("\n")[0]}`)
  const context = yield* lead.contextForNextTurn()
  yield* Console.log(`lead context: ${context.breakdown.total} tokens after 63 items of work`)

  // 3. The results are a page away, through the memory tools.
  const page = yield* lead.expand({ id: triage.runId, maxTokens: 400 })
  yield* Console.log(
    `expand ${triage.runId}: ${page.items.length} of ${page.total} results on the first page`
  )
  yield* Console.log(page.items[0]?.text ?? "")

  // 4. A run stopped after 10 results, then resumed: only the rest are called.
  const first = yield* LlmMap.run({
    items: tickets.slice(0, 30),
    template: "Classify: {{ item.text }}",
    schema: Ticket,
    session: lead,
    concurrency: 2
  }).pipe(Stream.take(10), Stream.runCollect)
  const runId = Chunk.unsafeHead(first).runId
  const resumed = yield* LlmMap.resumeAll(runId, { schema: Ticket, session: lead })
  yield* Console.log(
    `resumed ${runId}: ${resumed.successes.length}/${resumed.total} results, ` +
      `${resumed.attempts} calls in all (each item paid once)`
  )
}))

program.pipe(Effect.provide(MnesisLive), NodeRuntime.runMain)
