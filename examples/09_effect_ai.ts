/**
 * Example 9 — `@effect/ai`: an `@effect/ai` `LanguageModel` as mnesis's model, and mnesis's memory
 * tools as an `@effect/ai` toolkit.
 *
 *   npx tsx examples/09_effect_ai.ts
 *
 * 1. `providerLayer()` turns the `LanguageModel` in context into mnesis's `LlmProvider`: `send`,
 *    its tool loop and compaction's summaries all go through it.
 * 2. `MemoryToolkit` + `memoryToolkitLayer(session)` let `@effect/ai`'s own tool loop search and
 *    reopen the session's history.
 *
 * The model here is scripted with `LanguageModel.make` (so the example runs without a key and does
 * the same every time; MNESIS_MOCK_LLM changes nothing). With a real model, provide a provider
 * package's layer instead, e.g. `OpenAiLanguageModel.layer({ model: "gpt-4.1" })` with its client.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Schema, Stream } from "effect"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { MemoryToolkit, memoryToolkitLayer, providerLayer } from "../src/effect-ai.js"
import { makeLayer, Session, Settings, SqliteStore, Tool } from "../src/index.js"

// ---------------------------------------------------------------------------------------------
// A scripted @effect/ai model (a real one comes from @effect/ai-openai, @effect/ai-anthropic…)
// ---------------------------------------------------------------------------------------------

const lastUserText = (prompt: Prompt.Prompt): string =>
  prompt.content.filter((m) => m.role === "user").at(-1)?.content.map((
    p
  ) => (p.type === "text" ? p.text : ""))
    .join("") ?? ""

const done: Response.StreamPartEncoded = {
  type: "finish",
  reason: "stop",
  usage: { inputTokens: 120, outputTokens: 20, totalTokens: 140, cachedInputTokens: 80 }
}

const say = (text: string): ReadonlyArray<Response.StreamPartEncoded> => [
  { type: "text-delta", id: "0", delta: text },
  done
]

/** What the scripted model answers, from what it is sent. */
const answer = (options: LanguageModel.ProviderOptions): ReadonlyArray<Response.StreamPartEncoded> => {
  const user = lastUserText(options.prompt)
  const last = options.prompt.content.at(-1)
  const toolResults = last?.role === "tool" ? last.content : []
  const offered = options.tools.map((tool) => tool.name)
  if (user.includes("<transcript>")) {
    // mnesis's compaction asks for a summary of a span of the conversation.
    return say("Summary written by the @effect/ai model: the user logged the weather of several cities.")
  }
  if (offered.includes("grep")) {
    return [{ type: "tool-call", id: "call_grep", name: "grep", params: { pattern: "Lisbon" } }, {
      ...done,
      reason: "tool-calls"
    }]
  }
  if (offered.includes("weather") && toolResults.length === 0) {
    return [{ type: "tool-call", id: "call_weather", name: "weather", params: { city: "Lisbon" } }, {
      ...done,
      reason: "tool-calls"
    }]
  }
  if (toolResults.length > 0) return say(`The tool says: ${JSON.stringify(toolResults.at(-1)!.result)}.`)
  return say(`Noted (${options.prompt.content.length} messages in my context).`)
}

const ScriptedModel = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) =>
      Effect.succeed(
        answer(options).flatMap((part): Array<Response.PartEncoded> =>
          part.type === "text-delta"
            ? [{ type: "text", text: part.delta }]
            : part.type === "tool-call" || part.type === "finish"
            ? [part]
            : []
        )
      ),
    streamText: (options) => Stream.fromIterable(answer(options))
  })
)

// ---------------------------------------------------------------------------------------------
// mnesis on that model
// ---------------------------------------------------------------------------------------------

/** A small window, so compaction runs within a few turns. */
const config = {
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

const MnesisOnEffectAi = makeLayer({
  settings: Settings.layer(config),
  storage: SqliteStore.layer({
    filename: process.env.MNESIS_DB_PATH ?? NodePath.join(NodeOs.tmpdir(), "mnesis-examples.db")
  }),
  // With a real model: providerLayer({ configure: (request) => OpenAiLanguageModel.withConfigOverride(
  //   { max_output_tokens: request.maxTokens }) }).pipe(Layer.provide(OpenAiLanguageModel.layer(…)))
  provider: providerLayer().pipe(Layer.provide(ScriptedModel))
})

const weather = Tool.make({
  name: "weather",
  description: "Today's weather in a city.",
  input: Schema.Struct({ city: Schema.String }),
  handler: ({ city }) => Effect.succeed(`${city}: 21 °C, light wind`)
})

const program = Effect.scoped(Effect.gen(function*() {
  yield* Console.log(
    "== Example 9: @effect/ai as mnesis's model, and the memory tools as an @effect/ai toolkit =="
  )
  // The model string sizes the budget and prices usage; the calls go to the @effect/ai model.
  const session = yield* Session.open({ model: "openai/gpt-4.1", systemPrompt: "You keep a weather log." })

  // 1. send, with a tool call through mnesis's tool loop
  const turn = yield* session.send("What is the weather in Lisbon?", {
    tools: [weather],
    onPart: (event) =>
      event.type === "tool_call"
        ? Console.log(`  → ${event.name}(${JSON.stringify(event.input)})`)
        : event.type === "tool_result"
        ? Console.log(`  ← ${event.name}: ${event.output ?? event.error}`)
        : Effect.void
  })
  yield* Console.log(`assistant: ${turn.text}`)
  yield* Console.log(
    `  ${turn.steps} model calls, finish ${turn.finishReason}; ` +
      `${turn.tokens.input} in (+${turn.tokens.cacheRead} from cache) / ${turn.tokens.output} out`
  )

  // 2. enough turns to compact: the summary comes from the @effect/ai model too
  for (let i = 0; i < 14; i++) {
    yield* session.send(
      `Log ${i}: city-${i} had ${10 + i} °C. ${"Clouds came and went all day. ".repeat(40)}`
    )
  }
  yield* session.awaitCompaction
  const context = yield* session.contextForNextTurn()
  const summaries = context.items.filter((item) => item.kind === "summary")
  yield* Console.log(
    `after 15 turns the context holds ${summaries.length} summar${summaries.length === 1 ? "y" : "ies"}`
  )
  for (const item of summaries.slice(0, 1)) {
    const { description } = yield* session.describe({ id: item.id })
    if (description.kind === "summary") {
      yield* Console.log(`  ${item.id} (level ${description.node.level}): ${description.node.content}`)
    }
  }

  // 3. @effect/ai's own tool loop with mnesis's memory tools
  const model = yield* LanguageModel.LanguageModel
  const response = yield* model.generateText({ prompt: "Which city was first?", toolkit: MemoryToolkit })
    .pipe(
      Effect.provide(memoryToolkitLayer(session))
    )
  for (const result of response.toolResults) {
    const [header, firstHit] = String(result.result).split("\n")
    yield* Console.log(`@effect/ai ran ${result.name}: ${header}\n  ${firstHit}`)
  }
  yield* Console.log(
    `history keeps all ${(yield* session.messages({ includeSummaries: false })).length} messages`
  )
}))

program.pipe(Effect.provide(Layer.merge(MnesisOnEffectAi, ScriptedModel)), NodeRuntime.runMain)
