/**
 * Example 6 — bring your own LLM: mnesis keeps the memory, your code calls the model.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/06_byo_llm.ts
 *
 * Each turn: `contextForNextTurn()` gives the assembled context (system prompt, summaries, recent
 * messages, within the budget); you turn it into your SDK's request, call the model, and hand the
 * exchange back with `session.record(...)` so it is stored, counted and compacted like any turn.
 * The "SDK" below is a fake with an OpenAI-like shape that echoes; swap in the real one.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect } from "effect"
import type { ContextBuilder } from "../src/index.js"
import { MnesisLive, Session, TokenUsage } from "../src/index.js"

// ---------------------------------------------------------------------------------------------
// A fake chat-completions SDK (Promise-based, like the real ones)
// ---------------------------------------------------------------------------------------------

interface ChatMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

interface ChatResponse {
  readonly choices: ReadonlyArray<{ readonly message: ChatMessage }>
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number }
}

const fakeSdk = {
  chat: {
    completions: {
      create: (request: { readonly model: string; readonly messages: ReadonlyArray<ChatMessage> }) => {
        const users = request.messages.filter((m) => m.role === "user")
        const content = `echo "${users[users.length - 1]?.content ?? ""}" ` +
          `(${request.messages.length} messages in; your first: "${users[0]?.content ?? ""}")`
        const tokens = (text: string) => Math.ceil(text.length / 4)
        return Promise.resolve<ChatResponse>({
          choices: [{ message: { role: "assistant", content } }],
          usage: {
            prompt_tokens: request.messages.reduce((sum, m) => sum + tokens(m.content) + 4, 0),
            completion_tokens: tokens(content)
          }
        })
      }
    }
  }
}

/** mnesis's provider-neutral context → the SDK's messages (text only here; map tool blocks too if you use tools). */
const toChatMessages = (context: ContextBuilder.BuiltContext, userText: string): Array<ChatMessage> => [
  { role: "system", content: context.system.map((block) => block.text).join("\n\n") },
  ...context.messages.map((message): ChatMessage => ({
    role: message.role,
    content: message.content.map((block) =>
      block.type === "text" ? block.text : block.type === "tool_result" ? block.content : ""
    ).join("\n")
  })),
  { role: "user", content: userText }
]

// ---------------------------------------------------------------------------------------------

const questions = [
  "My name is Alice and I work on compilers.",
  "What do I work on?",
  "Suggest a name for my next register allocator."
]

const program = Effect.scoped(Effect.gen(function*() {
  // The model string sizes the budget and prices usage; mnesis never calls it here.
  const session = yield* Session.open({ model: "openai/gpt-4o", systemPrompt: "You are terse." })
  yield* Console.log("== Example 6: your own LLM call, mnesis as the memory ==")

  for (const question of questions) {
    const context = yield* session.contextForNextTurn()
    const messages = toChatMessages(context, question)
    const response = yield* Effect.promise(() =>
      fakeSdk.chat.completions.create({ model: "my-model", messages })
    )
    const answer = response.choices[0]?.message.content ?? ""
    const recorded = yield* session.record({
      user: question,
      assistant: answer,
      tokens: { input: response.usage.prompt_tokens, output: response.usage.completion_tokens }
    })
    yield* Console.log(`user: ${question}`)
    yield* Console.log(`assistant: ${answer}`)
    yield* Console.log(
      `  sent ${messages.length} messages; recorded ${recorded.tokens.input} in / ${recorded.tokens.output} out`
    )
  }

  const usage = yield* session.tokenUsage
  const history = yield* session.history()
  const stored = yield* session.messages()
  yield* Console.log(
    `usage: ${TokenUsage.effectiveTotal(usage)} tokens (${usage.input} in, ${usage.output} out)`
  )
  yield* Console.log(`history: ${history.length} turns, ${stored.length} stored messages`)
  for (const snapshot of history) {
    yield* Console.log(`  turn ${snapshot.turn}: context ${snapshot.context.total} tokens`)
  }
}))

program.pipe(Effect.provide(MnesisLive), NodeRuntime.runMain)
