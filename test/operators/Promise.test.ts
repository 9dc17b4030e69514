/**
 * The operators through the Promise facade: `for await` over results in completion order, the
 * batch with `all()`, a run started from a Promise session (its note lands in that session, its
 * map events reach the session's handlers), and a run that is one-shot.
 */
import { Schema } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { makeTest } from "../../src/Layers.js"
import { Mnesis } from "../../src/promise.js"

const client = Mnesis.client(makeTest())
afterAll(() => client.dispose())

const Tag = Schema.Struct({ tag: Schema.String })

describe("operators through mnesis/promise", () => {
  it("iterates an LLM-Map's results with for await; all() gives the batch", async () => {
    const seen: Array<number> = []
    for await (
      const result of client.llmMap({
        items: ["a", "b", "c"],
        template: "Tag {{ item }}",
        schema: Tag,
        model: "mock/p"
      })
    ) {
      expect(result._tag).toBe("Success")
      seen.push(result.index)
    }
    expect(seen.sort()).toEqual([0, 1, 2])
    const batch = await client.llmMap({
      items: ["x", "y"],
      template: "Tag {{ item }}",
      schema: Tag,
      model: "mock/p"
    }).all()
    expect(batch.successes.map((s) => s.input)).toEqual(["x", "y"])
    expect(batch.successes.every((s) => Schema.is(Tag)(s.output))).toBe(true)
  })

  it("a run from a Promise session: its events reach the session's handlers, its note the session", async () => {
    const session = await client.open({ model: "mock/p" })
    const events: Array<string> = []
    await session.on("*", (event) => {
      if (event._tag.startsWith("Map")) events.push(event._tag)
    })
    const batch = await client.agenticMap({
      items: ["one", "two"],
      template: "Do {{ item }}",
      session,
      memoryTools: false
    })
      .all()
    expect(batch.successes).toHaveLength(2)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(events).toEqual(["MapStarted", "MapItemCompleted", "MapItemCompleted", "MapCompleted"])
    const notes = (await session.messages()).filter((m) => m.text.includes(batch.runId))
    expect(notes).toHaveLength(1)
    await session.close()
  })

  it("a run starts once: a second start is refused", async () => {
    const run = client.llmMap({ items: ["a"], template: "{{ item }}", schema: Tag, model: "mock/p" })
    await run.all()
    await expect(run.all()).rejects.toThrow("started already")
  })
})
