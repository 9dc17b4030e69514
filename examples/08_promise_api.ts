/**
 * Example 8 — the Promise API, for programs that do not use Effect.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/08_promise_api.ts
 *
 * `mnesis/promise` runs the same engine on one runtime built from `MnesisLive`, so the environment
 * configures it (`MNESIS_DB_PATH`, `MNESIS_MOCK_LLM=1`, provider keys). Failures reject with the
 * library's own tagged errors: test `error._tag` and read their fields.
 */
import { Mnesis } from "../src/promise.js"

const main = async () => {
  console.log("== Example 8: the Promise API — open, send, stream, events, errors ==")
  const session = await Mnesis.open({
    model: "anthropic/claude-opus-4-6",
    systemPrompt: "You are a concise assistant.",
    config: {
      compaction: { compactionOutputBudget: 1_000 },
      modelOverrides: { contextLimit: 8_000, maxOutputTokens: 1_000 }
    }
  })
  // In TypeScript, `await using session = …` closes it for you; plain JavaScript on Node 20 has
  // no `await using`, so close in `finally`.
  try {
    // Events arrive while the subscription lasts; `off` ends it.
    const created: Array<string> = []
    const off = await session.on("MessageCreated", (event) => {
      created.push(event.role)
    })

    const turn = await session.send("What is a write-ahead log?")
    console.log(`assistant: ${turn.text}`)
    console.log(`  ${turn.tokens.input} in / ${turn.tokens.output} out, context ${turn.context.total} tokens`)

    let deltas = 0
    for await (const event of session.stream("Now say it in one sentence.")) {
      if (event.type === "text_delta") deltas++
      if (event.type === "turn_complete") {
        console.log(`streamed ${deltas} deltas; turn_complete after ${event.result.steps} step(s)`)
      }
    }

    try {
      await session.send("far too long ".repeat(10_000))
    } catch (error) {
      if (isTagged(error) && error._tag === "ContextOverflow") {
        console.log(`refused: ${error._tag} — ${error.message.split(".")[0]}.`)
      } else {
        throw error
      }
    }
    await off()
    console.log(`MessageCreated events: ${created.join(", ")} (the refused message stored nothing)`)

    const found = await session.grep({ pattern: "write-ahead" })
    const stored = await session.messages()
    console.log(`grep "write-ahead": ${found.hits.length} hit(s); ${stored.length} messages stored`)
    const usage = await session.tokenUsage()
    console.log(`usage: ${usage.input} in, ${usage.output} out`)
  } finally {
    await session.close()
    // Close the shared runtime (and its database) so the process can exit.
    await Mnesis.shutdown()
  }
}

const isTagged = (error: unknown): error is Error & { readonly _tag: string } =>
  error instanceof Error && typeof (error as { _tag?: unknown })._tag === "string"

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
