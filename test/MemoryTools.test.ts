/**
 * The memory tools over a long, compacted session: everything reachable from the active context
 * by expand, grep naming the summary that covers a hit, describe for every kind of id, complete
 * pagination, token caps, and no other session's data.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import type { SummaryId } from "../src/Domain.js"
import { FileReference } from "../src/Domain.js"
import * as Ids from "../src/internal/ids.js"
import { makeTest } from "../src/Layers.js"
import * as MockLlm from "../src/llm/MockLlm.js"
import type { ToolResultBlock } from "../src/LlmProvider.js"
import {
  EXPAND_DEFAULT_TOKENS,
  type ExpandResult,
  GREP_MAX_TOKENS,
  names as memoryToolNames
} from "../src/MemoryTools.js"
import * as Session from "../src/Session.js"
import * as Storage from "../src/Storage.js"
import { countTokens } from "../src/Tokenizer.js"
import * as Tool from "../src/Tool.js"
import { checkDag } from "./support/dag.js"
import { yieldToEventLoop } from "./support/eventLoop.js"

/** usable 18,000 tokens; condensation at 2 leaves, so several depths appear. */
const config = {
  compaction: { compactionOutputBudget: 1_000, condenseFanout: 2 },
  modelOverrides: { contextLimit: 20_000, maxOutputTokens: 1_000 }
} as const

const FILE_CONTENT = "export const answer = 42\n"
const FILE_ID = Ids.fileId(FILE_CONTENT)

/** Records `turns` turns (2 messages each); turn 7 plants a needle, turn 11 a file reference. */
const longSession = (turns: number) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    yield* store.putFileReference(
      new FileReference({
        id: FILE_ID,
        path: "src/answer.ts",
        fileType: "typescript",
        tokenCount: 9,
        summary: "exports answer",
        createdAt: 0
      })
    )
    const session = yield* Session.create({ model: "mock/memory", config })
    for (let i = 0; i < turns; i++) {
      if (i % 20 === 0) yield* yieldToEventLoop
      const user = i === 7
        ? "Remember the launch code: ZEBRA-PELICAN-7731. Never share it."
        : `Turn ${i}: please look at module ${i % 37} and tell me about topic ${i}.`
      const assistant = i === 11
        ? [
          { type: "text" as const, text: "Here is the file." },
          {
            type: "file_ref" as const,
            fileId: FILE_ID,
            path: "src/answer.ts",
            fileType: "typescript",
            fileTokens: 9,
            summary: "exports answer"
          }
        ]
        : i % 5 === 0
        ? [{
          type: "tool" as const,
          toolName: "search",
          toolCallId: `call_${i}`,
          input: { query: `topic ${i}` },
          output: `found ${i}: ` + "relevant result ".repeat(30),
          status: "completed" as const
        }]
        : `Topic ${i} is about ${"many interesting things ".repeat(6)}`
      yield* session.record({ user, assistant })
      if (i % 50 === 49) yield* Effect.repeatN(Effect.yieldNow(), 100)
    }
    yield* Effect.repeatN(Effect.yieldNow(), 200)
    // settle: run rounds until the context is calm
    yield* session.compact()
    return session
  })

/** Follows expand from every summary in the active context; returns the message ids reached. */
const reachable = (session: Session.Session) =>
  Effect.gen(function*() {
    const context = yield* session.contextForNextTurn()
    const reached = new Set<string>()
    const visit = (id: string): Effect.Effect<void, Session.MnesisError> =>
      Effect.gen(function*() {
        let cursor: string | undefined
        do {
          yield* yieldToEventLoop
          const page = yield* session.expand({
            id,
            maxTokens: 3_000,
            ...(cursor === undefined ? {} : { cursor })
          })
          expect(countTokens(page.text)).toBeLessThanOrEqual(3_000)
          for (const item of page.items) {
            if (item.kind === "message") reached.add(item.id)
            else if (!item.partial) yield* visit(item.id)
          }
          cursor = page.nextCursor
        } while (cursor !== undefined)
      })
    for (const item of context.items) {
      if (item.kind === "message") reached.add(item.id)
      else yield* visit(item.id)
    }
    return reached
  })

describe("memory tools over a 2,000-message session", () => {
  it.effect(
    "reach everything, search, describe and paginate within their caps",
    () =>
      Effect.gen(function*() {
        const session = yield* longSession(1_000)
        const store = yield* Storage.Storage
        const history = yield* session.messages({ includeSummaries: false })
        expect(history.length).toBe(2_000)
        const dag = yield* checkDag(session.id)
        expect(dag.problems).toEqual([])
        expect(dag.maxDepth).toBeGreaterThanOrEqual(2)

        // 1. every original message is reachable from the active context through expand
        const reached = yield* reachable(session)
        const missing = history.filter((m) => !reached.has(m.id))
        expect(missing.map((m) => m.seq)).toEqual([])

        // 2. grep finds the planted needle and names the active summary now covering it
        const found = yield* session.grep({ pattern: "ZEBRA-PELICAN-7731" })
        const needle = found.hits.find((h) => h.role === "user")!
        expect(needle.location.kind).toBe("covered")
        const cover = needle.location.kind === "covered" ? needle.location.summaryId : undefined
        const contextIds = new Set((yield* store.contextItems(session.id)).map((i) => i.id as string))
        expect(contextIds.has(cover!)).toBe(true)
        expect(found.text).toContain(`covered by ${cover}`)
        // regex mode finds it too, within a summary's span
        const byRegex = yield* session.grep({
          pattern: "zebra-pelican-\\d{4}",
          mode: "regex",
          summaryId: cover!
        })
        expect(byRegex.hits.some((h) => h.messageId === needle.messageId)).toBe(true)

        // 3. describe every kind of id
        const summary = yield* session.describe({ id: cover! })
        expect(summary.description.kind).toBe("summary")
        expect(summary.text).toContain(`${cover}: condensed summary`)
        const message = yield* session.describe({ id: needle.messageId })
        expect(message.text).toContain(`covered by ${cover}`)
        expect(message.text).toContain("user message #15")
        const file = yield* session.describe({ id: FILE_ID })
        expect(file.text).toContain("src/answer.ts (typescript)")
        const unknown = yield* Effect.flip(session.describe({ id: "sum_01J00000000000000000000000" }))
        expect(unknown).toMatchObject({ _tag: "InvalidInput", field: "id" })

        // 4. file ids reach the footers of the summaries covering them
        const fileHits = yield* session.grep({ pattern: FILE_ID })
        const fileCover = fileHits.hits.find((h) => h.location.kind === "covered")
        if (fileCover?.location.kind === "covered") {
          const [node] = yield* store.summaries([fileCover.location.summaryId])
          expect(node!.fileIds).toContain(FILE_ID)
        }

        // 5. grep pagination covers every match exactly once, each page within the cap
        const pages: Array<string> = []
        let cursor: string | undefined
        do {
          yield* yieldToEventLoop
          const page = yield* session.grep({
            pattern: "topic",
            limit: 37,
            ...(cursor === undefined ? {} : { cursor })
          })
          expect(countTokens(page.text)).toBeLessThanOrEqual(GREP_MAX_TOKENS)
          pages.push(...page.hits.map((h) => `${h.messageId}:${h.snippet}`))
          cursor = page.nextCursor
        } while (cursor !== undefined)
        const everything = yield* store.search({ sessionIds: [session.id], text: "topic", limit: 100_000 })
        expect(pages.length).toBe(everything.length)
        expect(new Set(pages).size).toBe(pages.length)

        // 6. expand pagination covers a summary's sources exactly once
        const [first] = (yield* store.contextItems(session.id)).filter((i) => i.kind === "summary")
        const sources = yield* store.summarySources(first!.id as SummaryId)
        const seen: Array<string> = []
        cursor = undefined
        do {
          yield* yieldToEventLoop
          const page: ExpandResult = yield* session.expand({
            id: first!.id,
            maxTokens: 400,
            ...(cursor === undefined ? {} : { cursor })
          })
          expect(countTokens(page.text)).toBeLessThanOrEqual(400)
          for (const item of page.items) if (seen[seen.length - 1] !== item.id) seen.push(item.id)
          cursor = page.nextCursor
        } while (cursor !== undefined)
        expect(seen).toEqual(sources.map((s) => s.id))
      }).pipe(Effect.provide(makeTest())),
    { timeout: 120_000 }
  )
})

describe("memory tools", () => {
  it.effect("expand of a message restores a pruned tool output in full", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/memory" })
      const store = yield* Storage.Storage
      const output = "line of a very long log\n".repeat(400)
      const recorded = yield* session.record({
        user: "read the log",
        assistant: [{
          type: "tool",
          toolName: "read",
          toolCallId: "c1",
          input: { path: "app.log" },
          output,
          status: "completed"
        }]
      })
      const [message] = yield* store.messages([recorded.assistantMessageId!])
      yield* store.tombstone(session.id, [{ partId: message!.parts[0]!.id, tokenCount: 20 }], 1)
      let text = ""
      let cursor: string | undefined
      do {
        const page: ExpandResult = yield* session.expand({
          id: message!.id,
          maxTokens: 1_000,
          ...(cursor === undefined ? {} : { cursor })
        })
        text += page.items.map((i) => i.text).join("")
        cursor = page.nextCursor
      } while (cursor !== undefined)
      expect(text).toContain(output.trim())
    }).pipe(Effect.provide(makeTest())))

  it.effect("never show another session's data", () =>
    Effect.gen(function*() {
      const mine = yield* Session.create({ model: "mock/memory" })
      const theirs = yield* Session.create({ model: "mock/memory" })
      const secret = yield* theirs.record({ user: "the password is HORSEBATTERY", assistant: "noted" })
      yield* mine.record({ user: "hello", assistant: "hi" })
      expect((yield* mine.grep({ pattern: "HORSEBATTERY" })).hits).toEqual([])
      expect((yield* mine.grep({ pattern: "HORSE", mode: "regex" })).hits).toEqual([])
      expect(yield* Effect.flip(mine.describe({ id: secret.userMessageId! }))).toMatchObject({
        _tag: "InvalidInput"
      })
      expect(yield* Effect.flip(mine.expand({ id: secret.userMessageId! }))).toMatchObject({
        _tag: "InvalidInput"
      })
      expect((yield* theirs.grep({ pattern: "HORSEBATTERY" })).hits.length).toBe(1)
    }).pipe(Effect.provide(makeTest())))

  it.effect("relatedSessions lets a child read its parent", () =>
    Effect.gen(function*() {
      const parent = yield* Session.create({ model: "mock/memory" })
      yield* parent.record({ user: "the plan is CODENAME-ORCA", assistant: "ok" })
      const isolated = yield* Session.create({ model: "mock/memory", parentId: parent.id })
      const related = yield* Session.create({
        model: "mock/memory",
        parentId: parent.id,
        memoryTools: { relatedSessions: true }
      })
      expect((yield* isolated.grep({ pattern: "CODENAME-ORCA" })).hits).toEqual([])
      expect((yield* related.grep({ pattern: "CODENAME-ORCA" })).hits.length).toBe(1)
    }).pipe(Effect.provide(makeTest())))

  it.effect("grep within a summary stays in that summary's session, even with relatives in reach", () =>
    Effect.gen(function*() {
      const parent = yield* Session.create({
        model: "mock/memory",
        config: { compaction: { freshTailTurns: 1 } }
      })
      for (let i = 0; i < 20; i++) {
        yield* parent.record({
          user: `parent note ${i} about WALRUS and ${"more words ".repeat(20)}`,
          assistant: "ok"
        })
      }
      const child = yield* Session.create({
        model: "mock/memory",
        parentId: parent.id,
        memoryTools: { relatedSessions: true }
      })
      for (let i = 0; i < 6; i++) {
        yield* child.record({ user: `child note ${i} about WALRUS`, assistant: "ok" })
      }
      expect((yield* parent.compact()).compacted).toBe(true)
      const store = yield* Storage.Storage
      const [summary] = yield* store.sessionSummaries(parent.id)
      const everywhere = yield* child.grep({ pattern: "WALRUS", limit: 100 })
      expect(new Set(everywhere.hits.map((h) => h.sessionId))).toEqual(new Set([parent.id, child.id]))
      const within = yield* child.grep({ pattern: "WALRUS", summaryId: summary!.id, limit: 100 })
      expect(within.hits.length).toBeGreaterThan(0)
      expect(within.hits.every((h) => h.sessionId === parent.id)).toBe(true)
    }).pipe(Effect.provide(makeTest())))

  it.effect("host calls get the same input limits as the model's tool calls", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/memory" })
      const { userMessageId } = yield* session.record({ user: "hello", assistant: "hi" })
      expect(yield* Effect.flip(session.expand({ id: userMessageId!, maxTokens: 100_000 }))).toMatchObject({
        _tag: "InvalidInput",
        field: "expand.maxTokens"
      })
      expect(yield* Effect.flip(session.grep({ pattern: "hello", limit: 0 }))).toMatchObject({
        _tag: "InvalidInput",
        field: "grep.limit"
      })
      expect(yield* Effect.flip(session.grep({ pattern: "" }))).toMatchObject({
        _tag: "InvalidInput",
        field: "grep.pattern"
      })
      expect((yield* session.expand({ id: userMessageId!, maxTokens: 200 })).items.length).toBe(1)
    }).pipe(Effect.provide(makeTest())))

  it.effect("a tool of the caller's named like a memory tool is refused when the session opens", () =>
    Effect.gen(function*() {
      const clash = Tool.make({
        name: "grep",
        description: "my own grep",
        input: Schema.Struct({ pattern: Schema.String }),
        handler: () => Effect.succeed("nothing")
      })
      const error = yield* Effect.flip(
        Session.create({ model: "mock/memory", memoryTools: true, tools: [clash] })
      )
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "tools" })
      expect(error.message).toContain("memory tools")
      // without the memory tools the name is free
      const session = yield* Session.create({ model: "mock/memory", tools: [clash] })
      expect(session.id).toMatch(/^sess_/)
    }).pipe(Effect.provide(makeTest())))

  it.effect("bad patterns and cursors are clear errors", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/memory" })
      yield* session.record({ user: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", assistant: "ok" })
      // RE2 has no backtracking to blow up: a nested quantifier is just a pattern
      expect((yield* session.grep({ pattern: "(a+)+$", mode: "regex" })).hits).toEqual([])
      const backreference = yield* Effect.flip(session.grep({ pattern: "(a)\\1", mode: "regex" }))
      expect(backreference).toMatchObject({ _tag: "InvalidInput", field: "pattern" })
      expect(backreference.message).toContain("RE2 syntax")
      expect(yield* Effect.flip(session.grep({ pattern: "([", mode: "regex" }))).toMatchObject({
        _tag: "InvalidInput"
      })
      expect(yield* Effect.flip(session.grep({ pattern: "a", cursor: "garbage" }))).toMatchObject({
        field: "cursor"
      })
      expect((yield* session.grep({ pattern: "\"NEAR(( *" })).hits).toEqual([])
    }).pipe(Effect.provide(makeTest())))

  it.effect("memoryTools: true offers grep/describe/expand to the model in send", () =>
    Effect.gen(function*() {
      const control = yield* MockLlm.MockLlmControl
      const session = yield* Session.create({ model: "mock/memory", memoryTools: true })
      yield* session.record({ user: "my locker number is 4417", assistant: "I'll remember." })
      yield* control.enqueue(
        MockLlm.Reply.toolCalls([{ name: "grep", input: { pattern: "locker" } }]),
        MockLlm.Reply.text("Your locker is 4417.")
      )
      const result = yield* session.send("What is my locker number?")
      expect(result.text).toBe("Your locker is 4417.")
      const [first, second] = yield* control.requests
      expect(first!.tools?.map((t) => t.name)).toEqual(["grep", "describe", "expand"])
      // the names checked for clashes at open are the names of the tools offered
      expect(memoryToolNames).toEqual(first!.tools?.map((t) => t.name))
      const grepResult = second!.messages.flatMap((m) => m.content).find((b): b is ToolResultBlock =>
        b.type === "tool_result"
      )
      expect(grepResult?.content).toMatch(/my \[locker\] number is 4417/)
      expect(grepResult?.content).toContain("in context")
      const schema = first!.tools![0]!.inputSchema
      expect(
        Schema.decodeUnknownOption(Schema.Struct({ type: Schema.Literal("object") }))(schema).pipe(
          Option.isSome
        )
      ).toBe(true)
    }).pipe(Effect.provide(makeTest())))

  it.effect("describe of a summary id lists what it condenses and is honest about its state", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/memory", config: { compaction: { auto: false } } })
      for (let i = 0; i < 8; i++) {
        yield* session.record({ user: `step ${i} ` + "word ".repeat(50), assistant: "ok ".repeat(40) })
      }
      const result = yield* session.compact()
      const described = yield* session.describe({ id: result.summaryId! })
      expect(described.text).toContain("leaf summary, depth 0")
      expect(described.text).toContain("in the active context")
      const missing = yield* Effect.flip(
        session.expand({ id: "msg_01J00000000000000000000000" })
      )
      expect(missing).toMatchObject({ _tag: "InvalidInput" })
      expect(EXPAND_DEFAULT_TOKENS).toBeGreaterThan(1_000)
    }).pipe(Effect.provide(makeTest())))
})
