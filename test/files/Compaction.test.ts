/**
 * File references survive compaction at every depth: the summary that covers the message holding
 * a reference lists its id, so does every summary that condenses it, the active context keeps the
 * id in a footer, and the memory tools still read the file by it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { SummaryNode } from "../../src/Domain.js"
import * as Ids from "../../src/internal/ids.js"
import { makeTest } from "../../src/Layers.js"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"
import { yieldToEventLoop } from "../support/eventLoop.js"

/** usable 4,000 tokens; two leaves condense. */
const config = {
  compaction: { compactionOutputBudget: 1_000, condenseFanout: 2 },
  modelOverrides: { contextLimit: 6_000, maxOutputTokens: 1_000 },
  file: { inlineThreshold: 200, summaryTokens: 120 }
} as const

const SOURCE = Array.from(
  { length: 60 },
  (_, i) => `def step_${i}(x):\n    return x + ${i}  # the okapi rule\n`
)
  .join("\n")

const turnText = (i: number) =>
  `Turn ${i}: item-${i} lives in src/module${i}.py. ` + "Some ordinary words follow here. ".repeat(10)

const settle = Effect.repeatN(Effect.yieldNow(), 50)

describe("file references and compaction", () => {
  it.effect(
    "a file id stays in every summary over its message, at every depth, and the file still reads",
    () =>
      Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* Session.create({ model: "mock/small", config })
        const fileId = Ids.fileId(SOURCE)
        yield* session.send([
          { type: "text", text: "Keep this module in mind." },
          { type: "file", path: "rules.py", content: SOURCE }
        ])
        const [holder] = yield* session.messages()
        expect(holder!.parts.some((p) => p.type === "file_ref" && p.fileId === fileId)).toBe(true)

        /** The summaries over the message, from its leaf up to the active one. */
        const chain = Effect.gen(function*() {
          const nodes = yield* store.sessionSummaries(session.id)
          const byId = new Map(nodes.map((n) => [n.id, n]))
          const leaf = nodes.find((n) =>
            n.kind === "leaf" && n.spanStartSeq <= holder!.seq && holder!.seq <= n.spanEndSeq
          )
          const out: Array<SummaryNode> = []
          for (
            let node = leaf;
            node !== undefined;
            node = node.supersededBy === undefined ? undefined : byId.get(node.supersededBy)
          ) out.push(node)
          return out
        })
        for (let i = 0; i < 200; i++) {
          if (i % 10 === 0) yield* yieldToEventLoop
          yield* session.send(turnText(i))
          yield* settle
          if ((yield* chain).some((n) => n.depth >= 2)) break
        }
        yield* session.compact()

        const covering = yield* chain
        expect(covering.map((n) => n.depth).slice(0, 3)).toEqual([0, 1, 2])
        for (const node of covering) {
          expect(node.fileIds, `${node.id} (depth ${node.depth})`).toContain(fileId)
        }
        const context = yield* session.contextForNextTurn()
        expect(JSON.stringify(context.messages)).toContain(fileId)

        const page = yield* session.expand({ id: fileId, symbol: "step_42" })
        expect(page.text).toContain("return x + 42  # the okapi rule")
        expect((yield* session.describe({ id: fileId })).text).toContain("rules.py (python)")
        const lines: Array<number> = []
        let cursor: string | undefined
        do {
          const hits = yield* session.grep({
            pattern: "okapi rule",
            limit: 25,
            ...(cursor ? { cursor } : {})
          })
          lines.push(...hits.fileHits.map((hit) => hit.line))
          cursor = hits.nextCursor
        } while (cursor !== undefined)
        expect(lines).toEqual(Array.from({ length: 60 }, (_, i) => 3 * i + 2))
      }).pipe(Effect.provide(makeTest())),
    { timeout: 120_000 }
  )
})
