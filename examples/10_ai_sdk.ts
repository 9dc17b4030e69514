/**
 * Example 10 — the Vercel AI SDK: `streamText` with mnesis's memory, and an AI SDK model as
 * mnesis's own model.
 *
 *   npx tsx examples/10_ai_sdk.ts
 *
 * `withMnesis(model, { session })` wraps any AI SDK model: each call records the new user message
 * (or tool results) in the session, sends the model the session's assembled context instead of
 * your whole `messages` array, and records the answer. Your code keeps its usual shape: it keeps
 * appending to `messages`, mnesis decides what the model sees. `providerLayer(model)` makes the
 * same model mnesis's provider, so compaction's summaries are written by it too.
 *
 * The model here is the AI SDK's own `MockLanguageModelV4` (so the example runs without a key and
 * does the same every time; MNESIS_MOCK_LLM changes nothing). With a real model, pass e.g.
 * `openai("gpt-4.1")` from `@ai-sdk/openai`.
 */
import type { LanguageModelV4Prompt, LanguageModelV4StreamPart } from "@ai-sdk/provider"
import { jsonSchema, type ModelMessage, stepCountIs, streamText, tool } from "ai"
import { convertArrayToReadableStream, MockLanguageModelV4 } from "ai/test"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { providerLayer, withMnesis } from "../src/ai-sdk.js"
import { makeLayer, Settings, SqliteStore } from "../src/index.js"
import { client } from "../src/promise.js"

// ---------------------------------------------------------------------------------------------
// A scripted AI SDK model (a real one: openai("gpt-4.1"), anthropic("claude-sonnet-4-5")…)
// ---------------------------------------------------------------------------------------------

const userText = (message: LanguageModelV4Prompt[number] | undefined): string =>
  message?.role === "user" ? message.content.map((p) => (p.type === "text" ? p.text : "")).join("") : ""

const finish = (unified: "stop" | "tool-calls"): LanguageModelV4StreamPart => ({
  type: "finish",
  finishReason: { unified, raw: unified },
  usage: {
    inputTokens: { total: 150, noCache: 50, cacheRead: 100, cacheWrite: 0 },
    outputTokens: { total: 20, text: 20, reasoning: undefined }
  }
})

const say = (text: string): Array<LanguageModelV4StreamPart> => [
  { type: "text-start", id: "0" },
  { type: "text-delta", id: "0", delta: text },
  { type: "text-end", id: "0" },
  finish("stop")
]

const answer = (prompt: LanguageModelV4Prompt): Array<LanguageModelV4StreamPart> => {
  const last = prompt.at(-1)
  const user = userText(last)
  if (user.includes("<transcript>")) {
    return say("Summary written by the AI SDK model: the user logged notes on numbered modules.")
  }
  if (last?.role === "tool") {
    const result = last.content[0]
    return say(
      `The forecast: ${
        result?.type === "tool-result" && result.output.type === "text" ? result.output.value : "?"
      }`
    )
  }
  if (user.startsWith("Forecast")) {
    return [
      { type: "tool-call", toolCallId: "call_1", toolName: "forecast", input: "{\"city\":\"Porto\"}" },
      finish("tool-calls")
    ]
  }
  const summaries = prompt.filter((m) => userText(m).includes("<summary")).length
  return say(
    `Noted "${user.slice(0, 24)}…" (I was sent ${prompt.length} messages, ${summaries} with summaries).`
  )
}

const model = new MockLanguageModelV4({
  provider: "scripted",
  modelId: "scripted-1",
  doStream: (options) => Promise.resolve({ stream: convertArrayToReadableStream(answer(options.prompt)) })
})

// ---------------------------------------------------------------------------------------------
// A mnesis session whose own model (for compaction) is the same AI SDK model
// ---------------------------------------------------------------------------------------------

const mnesis = client(makeLayer({
  // A small window, so compaction runs within a few turns.
  settings: Settings.layer({
    compaction: { compactionOutputBudget: 1_000 },
    modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
  }),
  storage: SqliteStore.layer({
    filename: process.env.MNESIS_DB_PATH ?? NodePath.join(NodeOs.tmpdir(), "mnesis-examples.db")
  }),
  provider: providerLayer(model)
}))

const forecast = tool({
  description: "Tomorrow's forecast for a city.",
  inputSchema: jsonSchema<{ city: string }>({
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"]
  }),
  execute: ({ city }) => Promise.resolve(`${city}: sunny, 24 °C`)
})

const main = async () => {
  console.log(
    "== Example 10: the AI SDK — streamText with mnesis's memory, and an AI SDK model as mnesis's model =="
  )
  // The model string sizes the budget and prices usage.
  const session = await mnesis.open({ model: "openai/gpt-4.1", systemPrompt: "You keep notes." })
  try {
    const remembering = withMnesis(model, { session })
    const messages: Array<ModelMessage> = []
    for (let i = 1; i <= 14; i++) {
      messages.push({
        role: "user",
        content: `Note ${i}: module-${i} lives in src/module${i}.ts. ${
          "Plain words to fill the context. ".repeat(40)
        }`
      })
      const result = streamText({ model: remembering, messages })
      const text = await result.text
      messages.push(...(await result.response).messages)
      if (i === 1 || i % 4 === 0) {
        console.log(`turn ${i}: you kept ${messages.length} messages; the model: ${text}`)
      }
      if (i % 4 === 0) await session.awaitCompaction()
    }

    // A multi-step tool loop: the call is stored pending, its result arrives with the next call.
    messages.push({ role: "user", content: "Forecast for Porto?" })
    const withTools = streamText({
      model: remembering,
      messages,
      tools: { forecast },
      stopWhen: stepCountIs(3)
    })
    console.log(`tool loop: ${await withTools.text}`)

    const stored = (await session.messages()).filter((m) => !m.isSummary)
    const hits = await session.grep({ pattern: "module-1" })
    console.log(
      `the session keeps all ${stored.length} messages; grep "module-1": ${hits.hits.length} hit(s)`
    )
    const usage = await session.tokenUsage()
    console.log(`usage recorded: ${usage.input} in (+${usage.cacheRead} from cache) / ${usage.output} out`)
  } finally {
    await session.close()
    await mnesis.dispose()
  }
}

void main()
