/**
 * The append benchmarks' workload, shared by the SQLite and PostgreSQL runs so both measure the same
 * messages: a bench session, and message `n` with three ~40-token text parts (`text(n, i)` is what
 * the raw baselines write for part `i`).
 */
import { Effect } from "effect"
import type { SessionId } from "../src/Domain.js"
import * as Ids from "../src/internal/ids.js"
import type * as Storage from "../src/Storage.js"

/** Part `i` of message `n`. */
export const text = (n: number, i: number) =>
  `message ${n} part ${i}: ` + "lorem ipsum dolor sit amet ".repeat(6)

/** A fresh session of the bench's model and agent. */
export const newSession = (store: Storage.Service) =>
  Effect.gen(function*() {
    const id = yield* Ids.sessionId
    yield* store.createSession({ id, model: "mock/bench", agent: "bench", systemPrompt: "", createdAt: 0 })
    return id
  })

/** Message `n` of a session as the library appends it: alternating roles, three text parts. */
export const libraryMessage = (sessionId: SessionId, n: number) =>
  Effect.gen(function*() {
    const parts = []
    for (let i = 0; i < 3; i++) {
      parts.push({ type: "text" as const, id: yield* Ids.partId, tokenCount: 40, text: text(n, i) })
    }
    return {
      id: yield* Ids.messageId,
      sessionId,
      role: n % 2 === 0 ? "user" as const : "assistant" as const,
      agent: "bench",
      model: "mock/bench",
      createdAt: n,
      parts
    }
  })

/**
 * The `parts` rows of message `n` as the raw baselines insert them, flattened in column order (id,
 * message, session, index, type, content, tokens, then the tool columns, all NULL).
 */
export const rawPartValues = (
  partIds: ReadonlyArray<string>,
  messageId: string,
  sessionId: string,
  n: number
) =>
  partIds.flatMap((id, i) => [
    id,
    messageId,
    sessionId,
    i,
    "text",
    JSON.stringify({ text: text(n, i) }),
    40,
    ...Array<null>(8).fill(null)
  ])
