/**
 * The one fold from provider events to the final response.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, FastCheck, Stream } from "effect"
import { TokenUsage } from "../../../src/Domain.js"
import * as ResponseFold from "../../../src/llm/shared/ResponseFold.js"
import type { LlmEvent } from "../../../src/LlmProvider.js"

const textDelta = FastCheck.string({ maxLength: 8 }).map((text): LlmEvent => ({ type: "text_delta", text }))
const reasoningDelta = FastCheck.record({
  text: FastCheck.string({ maxLength: 8 }),
  signature: FastCheck.option(FastCheck.string({ minLength: 1, maxLength: 4 }), { nil: undefined })
}).map(({ signature, text }): LlmEvent =>
  signature === undefined ? { type: "reasoning_delta", text } : { type: "reasoning_delta", text, signature }
)
const toolCall = FastCheck.nat(99).map((n): LlmEvent => ({
  type: "tool_call",
  id: `c${n}`,
  name: "t",
  input: { n }
}))
const usage = FastCheck.nat(1000).map((n): LlmEvent => ({
  type: "usage",
  usage: TokenUsage.of({ input: n, output: 1 })
}))
const body = FastCheck.array(FastCheck.oneof(textDelta, reasoningDelta, toolCall, usage), { maxLength: 30 })

describe("ResponseFold", () => {
  it("adds up any event sequence ending in finish: texts joined, calls in order, last usage and signature (property)", () => {
    FastCheck.assert(
      FastCheck.property(body, (events) => {
        const all: Array<LlmEvent> = [...events, { type: "finish", reason: "stop" }]
        const response = Either.getOrThrow(
          ResponseFold.result("p", all.reduce(ResponseFold.step, ResponseFold.empty))
        )
        const of = <T extends LlmEvent["type"]>(type: T) =>
          events.filter((e): e is Extract<LlmEvent, { type: T }> => e.type === type)
        expect(response.text).toBe(of("text_delta").map((e) => e.text).join(""))
        expect(response.reasoning).toBe(of("reasoning_delta").map((e) => e.text).join(""))
        expect(response.signature).toBe(of("reasoning_delta").flatMap((e) => e.signature ?? []).at(-1))
        expect(response.toolCalls).toEqual(of("tool_call"))
        expect(response.usage).toEqual(of("usage").at(-1)?.usage ?? TokenUsage.zero)
        expect(response.finishReason).toBe("stop")
      }),
      { numRuns: 200 }
    )
  })

  it("a sequence without finish is a cut stream, whatever came before (property)", () => {
    FastCheck.assert(
      FastCheck.property(body, (events) => {
        const outcome = ResponseFold.result("p", events.reduce(ResponseFold.step, ResponseFold.empty))
        expect(Either.isLeft(outcome) && outcome.left._tag).toBe("LlmConnectionError")
      }),
      { numRuns: 100 }
    )
  })

  it.effect("collect shows each event to onEvent before folding it, in order", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const events: ReadonlyArray<LlmEvent> = [
        { type: "text_delta", text: "a" },
        { type: "text_delta", text: "b" },
        { type: "finish", reason: "stop" }
      ]
      const response = yield* ResponseFold.collect(
        "p",
        Stream.fromIterable(events),
        (event) => Effect.sync(() => void seen.push(event.type))
      )
      expect(response.text).toBe("ab")
      expect(seen).toEqual(["text_delta", "text_delta", "finish"])
      const cut = yield* Effect.flip(ResponseFold.collect("p", Stream.fromIterable(events.slice(0, 2))))
      expect(cut.message).toContain("ended before the message was complete")
    }))
})
