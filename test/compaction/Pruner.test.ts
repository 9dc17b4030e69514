import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import type { ToolPart } from "../../src/Domain.js"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"
import { makeTest, settle } from "../support/backend.js"

/** usable 4,000 tokens (soft 2,400); the pruner keeps the newest 600 tokens of tool output. */
const config = {
  compaction: {
    compactionOutputBudget: 1_000,
    pruneProtectTokens: 600,
    pruneMinimumTokens: 300,
    freshTailTurns: 1
  },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 }
} as const

const output = (i: number) => `result ${i}: ` + "line of tool output ".repeat(70)

const recordTurn = (
  session: Session.Session,
  i: number,
  tool: { name?: string; status?: "completed" | "error" } = {}
) =>
  session.record({
    user: `step ${i}`,
    assistant: [{
      type: "tool",
      toolName: tool.name ?? "read_file",
      toolCallId: `call_${i}`,
      input: { path: `src/file${i}.ts` },
      ...(tool.status === "error" ? { error: output(i) } : { output: output(i) }),
      status: tool.status ?? "completed"
    }]
  })

const toolParts = (session: Session.Session) =>
  Effect.map(
    session.messages(),
    (messages) =>
      messages.flatMap((m) =>
        m.parts.filter((p): p is ToolPart => p.type === "tool").map((p) => ({ part: p, messageId: m.id }))
      )
  )

describe("tool-output pruning", () => {
  it.effect("tombstones the oldest completed outputs beyond the protect window and keeps them in the store", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/small", config })
      const pruned = yield* Ref.make<ReadonlyArray<{ count: number; tokens: number }>>([])
      yield* session.subscribe(
        "PruneCompleted",
        (e) => Ref.update(pruned, (all) => [...all, { count: e.count, tokens: e.tokens }])
      )
      yield* recordTurn(session, 0, { name: "skill" })
      yield* recordTurn(session, 1, { status: "error" })
      for (let i = 2; i < 8; i++) yield* recordTurn(session, i)
      yield* settle
      const events = yield* Ref.get(pruned)
      expect(events.length).toBe(1)
      expect(events[0]!.count).toBeGreaterThan(0)
      const parts = yield* toolParts(session)
      const tombstoned = parts.filter((p) => p.part.compactedAt !== undefined).map((p) => p.part.toolCallId)
      // protected tool, errored call, the fresh tail and the protect window survive
      expect(tombstoned).not.toContain("call_0")
      expect(tombstoned).not.toContain("call_1")
      expect(tombstoned).not.toContain("call_7")
      expect(tombstoned).not.toContain("call_6")
      expect(tombstoned).toContain("call_2")
      // the oldest go first: what is pruned is a prefix of the candidates
      const candidates = ["call_2", "call_3", "call_4", "call_5"]
      expect(candidates.slice(0, tombstoned.length)).toEqual(tombstoned)
      // the output itself is still stored; the context shows a marker naming the id to expand
      const victim = parts.find((p) => p.part.toolCallId === "call_2")!
      expect(victim.part.output).toBe(output(2))
      const context = yield* session.contextForNextTurn()
      const results = context.messages.flatMap((m) => m.content).filter((b) => b.type === "tool_result")
      const marker = results.find((b) => b.type === "tool_result" && b.toolUseId === "call_2")
      expect(marker?.type === "tool_result" && marker.content).toContain(`expand("${victim.messageId}")`)
      expect(results.find((b) => b.type === "tool_result" && b.toolUseId === "call_7")).toMatchObject({
        content: output(7)
      })
      // pruning alone brought the context under the soft threshold: no summary was needed
      const store = yield* Storage.Storage
      expect(yield* store.sessionSummaries(session.id)).toEqual([])
    }).pipe(Effect.provide(makeTest())))

  it.effect("prunes nothing while the candidates total no more than pruneMinimumTokens", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({
        model: "mock/small",
        config: {
          ...config,
          compaction: { ...config.compaction, pruneProtectTokens: 1_800, pruneMinimumTokens: 1_700 }
        }
      })
      for (let i = 0; i < 8; i++) yield* recordTurn(session, i)
      const result = yield* session.compact()
      expect(result.pruned).toEqual({ count: 0, tokens: 0 })
      const parts = yield* toolParts(session)
      expect(parts.every((p) => p.part.compactedAt === undefined)).toBe(true)
    }).pipe(Effect.provide(makeTest())))

  it.effect("keeps outputs no larger than their tombstone: replacing them would grow the context", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/small", config })
      for (let i = 0; i < 8; i++) {
        yield* recordTurn(session, i)
        yield* session.record({
          user: `add ${i}`,
          assistant: [{
            type: "tool",
            toolName: "calculator",
            toolCallId: `calc_${i}`,
            input: { a: i, b: 1 },
            output: String(i + 1),
            status: "completed"
          }]
        })
      }
      yield* session.compact()
      const parts = yield* toolParts(session)
      const tombstoned = parts.filter((p) => p.part.compactedAt !== undefined).map((p) => p.part.toolName)
      expect(tombstoned.length).toBeGreaterThan(0)
      expect(tombstoned.every((name) => name === "read_file")).toBe(true)
    }).pipe(Effect.provide(makeTest())))

  it.effect("prune: false turns pruning off", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({
        model: "mock/small",
        config: { ...config, compaction: { ...config.compaction, prune: false } }
      })
      for (let i = 0; i < 8; i++) yield* recordTurn(session, i)
      const result = yield* session.compact()
      expect(result.pruned.count).toBe(0)
      expect(result.compacted).toBe(true)
    }).pipe(Effect.provide(makeTest())))
})
