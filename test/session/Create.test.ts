/**
 * Creating a session checks everything first and writes last: a create that fails leaves no
 * session row behind. And the stored session's data type has a name users can import.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { MnesisTest, SessionInfo, Storage } from "../../src/index.js"
import * as Session from "../../src/Session.js"

const MODEL = "anthropic/claude-opus-4-6"

const listSessions = Effect.flatMap(Storage.Storage, (store) => store.listSessions())

describe("create validates first, writes after", () => {
  it.effect("a budget that leaves no room is a ConfigError, and the store lists no session", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Session.create({
          model: MODEL,
          config: { modelOverrides: { contextLimit: 2_000, maxOutputTokens: 4_000 } }
        })
      )
      expect(error).toMatchObject({ _tag: "ConfigError" })
      expect(yield* listSessions).toEqual([])
    }).pipe(Effect.provide(MnesisTest)))

  it.effect("an invalid tool is InvalidInput, and the store lists no session", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Session.create({ model: MODEL, tools: [{ name: "not a name!", description: "d", inputSchema: {} }] })
      )
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "tools" })
      expect(yield* listSessions).toEqual([])
    }).pipe(Effect.provide(MnesisTest)))
})

describe("the stored session's data type", () => {
  it.effect("is exported as SessionInfo: what the store returns for a session", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: MODEL, systemPrompt: "Be brief." })
      const [stored] = yield* listSessions
      expect(stored).toBeInstanceOf(SessionInfo)
      const info: SessionInfo = stored!
      expect(info).toMatchObject({ id: session.id, model: MODEL, systemPrompt: "Be brief.", messageCount: 0 })
      yield* session.close
    }).pipe(Effect.provide(MnesisTest)))
})
