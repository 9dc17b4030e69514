/**
 * The memory tools (grep, describe, expand) for a person at a terminal: the same host API a
 * program calls (`MemoryTools`), scoped to one session of the database.
 *
 * @internal
 */
import { Effect, Option, Schema } from "effect"
import { defaultConfig } from "../../Config.js"
import type { SessionId, SessionInfo } from "../../Domain.js"
import { MessageId, SummaryId } from "../../Domain.js"
import type { MemoryScope } from "../../MemoryTools.js"
import type * as Storage from "../../Storage.js"
import { IdNotFound } from "../errors.js"
import { childrenOf } from "./read.js"
import { modelView } from "./settings.js"

/** The memory tools' view of `session`; with `related`, its parent's and children's history too. */
export const scopeFor = (
  store: Storage.Service,
  session: SessionInfo,
  related: boolean
): Effect.Effect<MemoryScope, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const view = yield* modelView(session.model, defaultConfig)
    const sessionIds: Array<SessionId> = [session.id]
    if (related) {
      if (session.parentId !== undefined) sessionIds.push(session.parentId)
      for (const child of yield* childrenOf(store, session.id)) sessionIds.push(child.id)
    }
    return {
      store,
      sessionId: session.id,
      sessionIds,
      count: view.count,
      contextItems: store.contextItems(session.id)
    }
  })

const asMessageId = Schema.decodeUnknownOption(MessageId)
const asSummaryId = Schema.decodeUnknownOption(SummaryId)

/** The session a message or summary belongs to. */
export const ownerOf = (
  store: Storage.Service,
  id: string
): Effect.Effect<SessionId, IdNotFound | Storage.StoreFailure> =>
  Effect.gen(function*() {
    const messageId = asMessageId(id.trim())
    if (Option.isSome(messageId)) {
      const [message] = yield* store.messages([messageId.value])
      if (message !== undefined) return message.sessionId
    }
    const summaryId = asSummaryId(id.trim())
    if (Option.isSome(summaryId)) {
      const [node] = yield* store.summaries([summaryId.value])
      if (node !== undefined) return node.sessionId
    }
    return yield* new IdNotFound({ id })
  })
