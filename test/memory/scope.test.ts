/**
 * grep within a summary matches only what that summary covers: the originals under it and, for a
 * condensed summary, the summaries it condenses. Summary messages are appended to the history as
 * compaction runs, so other summaries sit inside a later summary's seq span: they must not match.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { SummaryNode } from "../../src/Domain.js"
import { makeTest } from "../../src/Layers.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import * as Session from "../../src/Session.js"
import * as Storage from "../../src/Storage.js"

describe("grep within a summary", () => {
  it.effect("matches what the summary covers and nothing else in its span", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      const store = yield* Storage.Storage
      const session = yield* Session.create({
        model: "mock/memory",
        config: { compaction: { auto: false, freshTailTurns: 2, condenseFanout: 2 } }
      })
      // Three rounds: leaves over alpha, beta, gamma turns; the second round also condenses the
      // first two leaves. Each leaf's span then holds the messages of earlier summaries.
      for (
        const [topic, summary] of [["alpha", "FIRSTSUMMARY"], ["beta", "SECONDSUMMARY"], [
          "gamma",
          "THIRDSUMMARY"
        ]] as const
      ) {
        for (let i = 0; i < 6; i++) {
          yield* session.record({ user: `${topic} turn ${i} ${"word ".repeat(40)}`, assistant: "ok" })
        }
        yield* control.enqueueSummaries(MockLlm.Reply.text(`${summary} of the ${topic} turns`))
        expect((yield* session.compact()).compacted).toBe(true)
      }
      const nodes = yield* store.sessionSummaries(session.id)
      const leaves = nodes.filter((n) => n.kind === "leaf")
      const condensed = nodes.filter((n) => n.kind === "condensed")
      expect(leaves.length).toBe(3)
      expect(condensed.length).toBe(1)
      const [first, second] = leaves
      const messageOf = new Map(nodes.map((n) => [n.id as string, n.messageId as string]))
      const seqOf = new Map(
        (yield* session.messages({ includeSummaries: true })).map((m) => [m.id as string, m.seq])
      )

      const originals = (node: SummaryNode): Effect.Effect<Array<string>, Storage.StoreFailure> =>
        Effect.gen(function*() {
          const out: Array<string> = []
          for (const source of yield* store.summarySources(node.id)) {
            if (source.kind === "message") out.push(source.id)
            else out.push(...(yield* originals(nodes.find((n) => n.id === source.id)!)))
          }
          return out
        })
      const hitsWithin = (node: SummaryNode, pattern: string) =>
        Effect.map(
          session.grep({ pattern, mode: "regex", summaryId: node.id, limit: 100 }),
          (result) => result.hits.map((h) => h.messageId as string).sort()
        )

      for (const leaf of leaves) {
        // the defect's shape: another summary's message inside this leaf's seq span
        const inside = nodes.filter((n) =>
          n.id !== leaf.id && seqOf.get(n.messageId)! >= leaf.spanStartSeq &&
          seqOf.get(n.messageId)! <= leaf.spanEndSeq
        )
        if (leaf !== first) expect(inside.length).toBeGreaterThan(0)
        expect(yield* hitsWithin(leaf, ".")).toEqual((yield* originals(leaf)).sort())
        expect(yield* hitsWithin(leaf, "summary")).toEqual([])
        const fulltext = yield* session.grep({ pattern: "SUMMARY", summaryId: leaf.id, limit: 100 })
        expect(fulltext.hits.filter((h) => h.location.kind === "summary")).toEqual([])
      }

      // a condensed summary covers the leaves it condenses (their text) and their originals
      const top = condensed[0]!
      const leafMessages = [messageOf.get(first!.id)!, messageOf.get(second!.id)!].sort()
      expect(yield* hitsWithin(top, "summary")).toEqual(leafMessages)
      expect(yield* hitsWithin(top, ".")).toEqual([...(yield* originals(top)), ...leafMessages].sort())
      const words = yield* session.grep({ pattern: "SECONDSUMMARY", summaryId: top.id })
      expect(words.hits.map((h) => h.location)).toEqual([{ kind: "summary", summaryId: second!.id }])
    }).pipe(Effect.provide(makeTest())))
})
