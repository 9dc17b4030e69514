/**
 * A run's results through the memory tools: `describe("run_…")` gives the counts, `expand`
 * pages through every item's result under its token cap, and only the session that started the
 * run (or its relatives, when asked) can read it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { LlmAuthenticationError } from "../../src/Errors.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import { LlmMap } from "../../src/Operators.js"
import * as Session from "../../src/Session.js"
import { layer, scriptByItem } from "./support.js"

describe("run results through the memory tools", () => {
  it.effect("describe gives the counts; expand pages through every item's result", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/lead", memoryTools: true })
      yield* scriptByItem({
        "Tag 3": [MockLlm.Reply.fail(new LlmAuthenticationError({ provider: "mock", detail: "revoked" }))]
      })
      const batch = yield* LlmMap.runAll({
        items: Array.from({ length: 30 }, (_, i) => i),
        template: "Tag {{ item }}",
        schema: Schema.Struct({ tag: Schema.String, note: Schema.String }),
        session
      })
      expect(batch.failures.map((f) => f.index)).toEqual([3])

      const described = yield* session.describe({ id: batch.runId })
      expect(described.description).toMatchObject({ kind: "run", run: { total: 30, done: 29, failed: 1 } })
      expect(described.text).toContain("30 items, 29 done, 1 failed")

      const seen: Array<string> = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = yield* session.expand({
          id: batch.runId,
          maxTokens: 300,
          ...(cursor === undefined ? {} : { cursor })
        })
        pages++
        seen.push(...page.items.map((item) => item.id))
        for (const item of page.items) expect(item.kind).toBe("run_item")
        expect(page.total).toBe(30)
        cursor = page.nextCursor
        if (page.items.some((item) => item.id === `${batch.runId}#3`)) {
          expect(page.text).toContain("#3 failed (1 call)")
          expect(page.text).toContain("ProviderFailed")
        }
      } while (cursor !== undefined)
      expect(pages).toBeGreaterThan(1)
      expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `${batch.runId}#${i}`))
      yield* session.close
    }).pipe(Effect.provide(layer())))

  it.effect("another session cannot read the run", () =>
    Effect.gen(function*() {
      const owner = yield* Session.create({ model: "mock/lead" })
      const stranger = yield* Session.create({ model: "mock/lead" })
      const batch = yield* LlmMap.runAll({
        items: ["a"],
        template: "{{ item }}",
        schema: Schema.String,
        session: owner
      })
      expect((yield* owner.expand({ id: batch.runId })).items).toHaveLength(1)
      const refused = yield* Effect.flip(stranger.describe({ id: batch.runId }))
      expect(refused).toMatchObject({ _tag: "InvalidInput", field: "id" })
      expect(yield* Effect.flip(stranger.expand({ id: batch.runId }))).toMatchObject({ _tag: "InvalidInput" })
    }).pipe(Effect.provide(layer())))
})
