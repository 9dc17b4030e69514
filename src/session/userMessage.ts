/**
 * A user's message on its way into the store: its parts prepared, checked against the budget
 * before anything is written (a message no context could hold is refused with
 * `ContextOverflow`), then stored, announced and primed into the context cache.
 *
 * @internal
 */
import { Clock, Effect } from "effect"
import { assemblyReserve } from "../ContextBuilder.js"
import { MESSAGE_OVERHEAD_TOKENS } from "../Domain.js"
import { ContextOverflow } from "../Errors.js"
import * as Ids from "../internal/ids.js"
import type { Session } from "../Session.js"
import type { Announcer } from "./announce.js"
import type { SessionCore } from "./core.js"
import * as Files from "./files.js"
import { prepareParts, type StoredPart } from "./input.js"

/** What a message costs in the context: its parts and its framing. */
export const messageTokens = (parts: ReadonlyArray<{ readonly tokenCount: number }>) =>
  parts.reduce((sum, part) => sum + part.tokenCount, MESSAGE_OVERHEAD_TOKENS)

/** Fails with `ContextOverflow` when a message could never fit in a context on its own. */
export const checkFits = (
  core: SessionCore,
  parts: ReadonlyArray<{ readonly tokenCount: number }>,
  systemPrompt: string
) => {
  const needed = messageTokens(parts)
  const promptTokens = systemPrompt === core.row.systemPrompt ? core.systemTokens : core.count(systemPrompt)
  const available = core.budget.usable - promptTokens - assemblyReserve(core.count)
  return needed > available ? Effect.fail(new ContextOverflow({ needed, available })) : Effect.void
}

/** The user message of a turn, checked against the budget, then stored and announced. */
export const storeUserMessage = (
  core: SessionCore,
  announcer: Announcer,
  message: Parameters<Session["send"]>[0],
  systemPrompt: string
) =>
  Effect.gen(function*() {
    const { builder, count, row, sessionId, store } = core
    const resolved = yield* Files.resolve(core.files, "message", message)
    const parts: ReadonlyArray<StoredPart> = yield* prepareParts("message", resolved.message, count, {
      allowTools: false
    })
    yield* checkFits(core, parts, systemPrompt)
    yield* Files.save(core.files, resolved.files)
    const stored = yield* store.appendMessage({
      id: yield* Ids.messageId,
      sessionId,
      role: "user",
      agent: row.agent,
      model: row.model,
      createdAt: yield* Clock.currentTimeMillis,
      parts
    })
    yield* Files.save(core.files, resolved.files)
    yield* announcer.messageCreated(stored.id, "user", stored.createdAt)
    yield* builder.prime({ store, sessionId }, [stored], count)
    return stored
  })
