/**
 * Whole-session reads built from the store's paged operations, a page at a time.
 *
 * @internal
 */
import { Effect } from "effect"
import type { Message, MessageId, SessionId, SessionInfo, TurnSnapshot } from "../../Domain.js"
import type * as Storage from "../../Storage.js"

const PAGE = 500

/** Every session of the database, newest first. */
export const allSessions = (
  store: Storage.Service
): Effect.Effect<Array<SessionInfo>, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const out: Array<SessionInfo> = []
    for (;;) {
      const page = yield* store.listSessions({ limit: PAGE, offset: out.length })
      out.push(...page)
      if (page.length < PAGE) return out
    }
  })

/** The session's sub-sessions, newest first. */
export const childrenOf = (
  store: Storage.Service,
  parentId: SessionId
): Effect.Effect<Array<SessionInfo>, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const out: Array<SessionInfo> = []
    for (;;) {
      const page = yield* store.listSessions({ parentId, limit: PAGE, offset: out.length })
      out.push(...page)
      if (page.length < PAGE) return out
    }
  })

/** Every turn snapshot of the session, in turn order. */
export const allSnapshots = (
  store: Storage.Service,
  sessionId: SessionId
): Effect.Effect<Array<TurnSnapshot>, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const out: Array<TurnSnapshot> = []
    for (;;) {
      const page = yield* store.snapshots(sessionId, {
        afterTurn: out[out.length - 1]?.turn ?? 0,
        limit: PAGE
      })
      out.push(...page)
      if (page.length < PAGE) return out
    }
  })

/** Messages by id, read in pages of ids; unknown ids are left out. */
export const messagesById = (
  store: Storage.Service,
  ids: ReadonlyArray<MessageId>
): Effect.Effect<Map<string, Message>, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const out = new Map<string, Message>()
    for (let i = 0; i < ids.length; i += PAGE) {
      for (const message of yield* store.messages(ids.slice(i, i + PAGE))) out.set(message.id, message)
    }
    return out
  })

/** The session's history (summary messages included) with `seq` below `beforeSeq`, in order. */
export const historyBefore = (
  store: Storage.Service,
  sessionId: SessionId,
  beforeSeq: number
): Effect.Effect<Array<Message>, Storage.StoreFailure> =>
  Effect.gen(function*() {
    const out: Array<Message> = []
    let after = 0
    for (;;) {
      const page = yield* store.history(sessionId, { afterSeq: after, limit: PAGE, includeSummaries: true })
      for (const message of page) {
        if (message.seq >= beforeSeq) return out
        out.push(message)
      }
      if (page.length < PAGE) return out
      after = page[page.length - 1]!.seq
      // a long history: let other fibers run between pages
      yield* Effect.yieldNow()
    }
  })
