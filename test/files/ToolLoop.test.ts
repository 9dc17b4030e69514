/**
 * The model reads a large file through the tool loop: a 50,000-token source goes into the message
 * as a reference, the scripted model finds the file's id and the class in the summary it was sent, calls `expand` with `symbol=`, and answers from that one method. The requests the model
 * received never hold the file whole.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeTest } from "../../src/Layers.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import type { LlmRequest, ToolResultBlock } from "../../src/LlmProvider.js"
import * as Session from "../../src/Session.js"
import { countTokens } from "../../src/Tokenizer.js"

const method = (i: number) =>
  `  handler${i}(input: string): number {\n` +
  Array.from({ length: 8 }, (_, k) =>
    `    const step${k} = input.length * ${i + k} // step ${k} of handler ${i}\n`)
    .join("") +
  `    return step0 + ${i}\n  }\n`

/** A TypeScript class of 420 methods: over 50,000 tokens. */
const SOURCE = `export class Router {\n${Array.from({ length: 420 }, (_, i) => method(i)).join("\n")}}\n`

const textOf = (request: LlmRequest): string => JSON.stringify(request.messages)

/** The model: finds the file id in its context and asks for one method of the class the summary lists. */
const readsOneMethod = (request: LlmRequest): MockLlm.MockReply => {
  const id = /id=\\"(file_[0-9a-f]{64})\\"/.exec(textOf(request))?.[1]
  if (id === undefined) return MockLlm.Reply.text("I cannot see the file.")
  return MockLlm.Reply.toolCalls([{ name: "expand", input: { id, symbol: "Router.handler317" } }])
}

/** The model's answer, from the tool result it got. */
const answers = (request: LlmRequest): MockLlm.MockReply => {
  const results = request.messages.flatMap((m) => m.content).filter((b): b is ToolResultBlock =>
    b.type === "tool_result"
  )
  const line = results.map((r) => r.content).join("\n").split("\n").find((l) => l.includes("return step0 +"))
  return MockLlm.Reply.text(`handler317 ends with: ${line?.replace(/^\s*\d+│\s*/, "") ?? "not found"}`)
}

describe("reading a large file through the tool loop", () => {
  it.effect("the model expands one method of a 50,000-token file; the file never enters the context whole", () =>
    Effect.gen(function*() {
      expect(countTokens(SOURCE)).toBeGreaterThan(50_000)
      const control = yield* MockLlm.MockLlmControl
      yield* control.enqueue(readsOneMethod, answers)
      const session = yield* Session.create({ model: "mock/files", memoryTools: true })
      const turn = yield* session.send([
        { type: "text", text: "What does handler317 of the router return?" },
        { type: "file", path: "src/Router.ts", content: SOURCE }
      ])
      expect(turn.text).toBe("handler317 ends with: return step0 + 317")
      expect(turn.steps).toBe(2)

      const [first, second] = yield* control.requests
      // the first request holds the reference: its summary names the class and the method, and the
      // file's body is not there
      const firstText = textOf(first!)
      expect(firstText).toContain("export class Router")
      expect(firstText).toContain("handler0(input: string): number")
      // the expand tool it is offered reads one symbol of a file
      expect(JSON.stringify(first!.tools?.find((t) => t.name === "expand"))).toContain("\"symbol\"")
      expect(firstText).not.toContain("step 3 of handler 317")
      expect(firstText).not.toContain("step 0 of handler 0")
      expect(countTokens(firstText)).toBeLessThan(3_000)
      // the second adds only that method's lines
      const secondText = textOf(second!)
      expect(secondText).toContain("method Router.handler317")
      expect(secondText).toContain("step 7 of handler 317")
      expect(secondText).not.toContain("step 0 of handler 316")
      expect(secondText).not.toContain("step 0 of handler 318")
      expect(countTokens(secondText)).toBeLessThan(4_000)
      // and the stored message is the reference, with the file's size on it
      const [user] = yield* session.messages()
      const ref = user!.parts.find((p) => p.type === "file_ref")
      expect(ref?.type === "file_ref" && ref.fileTokens).toBe(countTokens(SOURCE))
    }).pipe(Effect.provide(makeTest())))
})
