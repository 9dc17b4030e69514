/**
 * The Promise facade: the same engine through async/await, errors as the library's own Error
 * subclasses, streams as async iterables, `await using` for cleanup.
 */
import { afterAll, describe, expect, it } from "vitest"
import { makeTest } from "../src/Layers.js"
import { ContextOverflow, InvalidInput, Mnesis, SessionNotFound } from "../src/promise.js"

const client = Mnesis.client(
  makeTest({ config: { modelOverrides: { contextLimit: 30_000, maxOutputTokens: 1_000 } } })
)
afterAll(() => client.dispose())

describe("mnesis/promise", () => {
  it("opens a session, sends, streams, records and closes", async () => {
    const session = await client.open({ model: "mock/promise", systemPrompt: "Be brief." })
    const turn = await session.send("Explain the GIL in Python.")
    expect(turn.text).toContain("Explain the GIL")
    expect(turn.finishReason).toBe("stop")
    const events: Array<string> = []
    for await (const event of session.stream("and threads?")) events.push(event.type)
    expect(events.filter((t) => t === "text_delta").length).toBeGreaterThan(1)
    expect(events[events.length - 1]).toBe("turn_complete")
    const recorded = await session.record({ user: "byo question", assistant: "byo answer" })
    expect(recorded.assistantMessageId).toMatch(/^msg_/)
    const context = await session.contextForNextTurn()
    expect(context.messages.length).toBe(6)
    expect((await session.messages()).length).toBe(6)
    expect((await session.history()).length).toBe(3)
    expect((await session.tokenUsage()).output).toBeGreaterThan(0)
    expect((await session.grep({ pattern: "byo" })).hits.length).toBe(2)
    await session.close()
    await session.close()
  })

  it("rejects with the library's typed errors, which are real Errors", async () => {
    const session = await client.open({ model: "mock/promise" })
    const empty = await session.send("   ").catch((error: unknown) => error)
    expect(empty).toBeInstanceOf(Error)
    expect(empty).toBeInstanceOf(InvalidInput)
    expect(empty).toMatchObject({ _tag: "InvalidInput", field: "message" })
    const huge = await session.send("word ".repeat(40_000)).catch((error: unknown) => error)
    expect(huge).toBeInstanceOf(ContextOverflow)
    expect((huge as ContextOverflow).needed).toBeGreaterThan((huge as ContextOverflow).available)
    const missing = await client.load("sess_01J00000000000000000000000").catch((error: unknown) => error)
    expect(missing).toBeInstanceOf(SessionNotFound)
    await session.close()
  })

  it("delivers events to on() handlers until unsubscribed", async () => {
    const session = await client.open({ model: "mock/promise" })
    const seen: Array<string> = []
    const off = await session.on("*", (event) => {
      seen.push(event._tag)
    })
    await session.send("hello")
    await new Promise((resolve) => setTimeout(resolve, 20))
    await off()
    await session.send("again")
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(seen).toEqual(["SessionCreated", "MessageCreated", "MessageCreated"])
    await session.close()
  })

  it("a message or record input of the wrong type from JavaScript rejects with InvalidInput", async () => {
    const session = await client.open({ model: "mock/promise" })
    // What plain JavaScript may pass, unchecked by the TypeScript types.
    const untyped = JSON.parse("null") as never
    const sent = await session.send(untyped).catch((error: unknown) => error)
    expect(sent).toBeInstanceOf(InvalidInput)
    expect(sent).toMatchObject({ field: "message" })
    await expect(session.record(untyped)).rejects.toMatchObject({ _tag: "InvalidInput", field: "record" })
    await expect(session.record({ user: "q", assistant: "a", tokens: { input: -5 } })).rejects.toMatchObject({
      _tag: "InvalidInput",
      field: "tokens.input"
    })
    const opened = await client.open(untyped).catch((error: unknown) => error)
    expect(opened).toBeInstanceOf(InvalidInput)
    expect(await session.messages()).toEqual([])
    await session.close()
  })

  it("supports await using, and resuming by id", async () => {
    let id = ""
    {
      await using session = await client.open({ model: "mock/promise" })
      id = session.id
      await session.send("Remember: the secret code is 42.")
    }
    const again = await client.load(id)
    await again.send("What was the secret code?")
    const context = await again.contextForNextTurn()
    expect(JSON.stringify(context.messages)).toContain("the secret code is 42")
    await expect(again.send("   ")).rejects.toMatchObject({ _tag: "InvalidInput" })
    await again.close()
    await expect(again.send("closed?")).rejects.toMatchObject({ _tag: "SessionIsClosed" })
  })

  it("dispose closes the sessions still open, then the store", async () => {
    const own = Mnesis.client(makeTest())
    const session = await own.open({ model: "mock/promise" })
    const closed: Array<string> = []
    await session.on("SessionClosed", (event) => {
      closed.push(event.sessionId)
    })
    await session.send("hello")
    await own.dispose()
    expect(closed).toEqual([session.id])
    await expect(session.send("after dispose")).rejects.toBeDefined()
  })

  it("a stream that fails rejects the iteration with the typed error", async () => {
    const session = await client.open({ model: "mock/promise" })
    const consume = async () => {
      for await (const event of session.stream("")) void event
    }
    await expect(consume()).rejects.toMatchObject({ _tag: "InvalidInput" })
    await session.close()
  })
})
