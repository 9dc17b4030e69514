/**
 * The explorer's JSON API: what the page asks the server for, computed from the store by the
 * same inspection code the commands use.
 *
 * @internal
 */
import { Effect, Option, Schema } from "effect"
import type { MnesisConfig } from "../../Config.js"
import type { SessionId, SummaryKind } from "../../Domain.js"
import { MessageId, SummaryId } from "../../Domain.js"
import * as MemoryTools from "../../MemoryTools.js"
import type * as Storage from "../../Storage.js"
import { IdNotFound } from "../errors.js"
import { clip } from "../format.js"
import { atTurn, current } from "../inspect/context.js"
import { ownerOf, scopeFor } from "../inspect/memory.js"
import { coveredTokens, overview } from "../inspect/overview.js"
import { allSnapshots, messagesById } from "../inspect/read.js"
import { list } from "../inspect/sessions.js"
import { modelView } from "../inspect/settings.js"
import { resolveSession } from "../options.js"

export interface DagNode {
  readonly id: SummaryId
  readonly kind: SummaryKind
  readonly depth: number
  readonly level: number
  readonly tokenCount: number
  readonly tokensCovered: number
  readonly spanStartSeq: number
  readonly spanEndSeq: number
  readonly messageCount: number
  /** The summaries this node condenses (its children in the drawing). */
  readonly parents: ReadonlyArray<SummaryId>
  readonly supersededBy?: SummaryId | undefined
  readonly inContext: boolean
  readonly createdAt: number
}

const asSummaryId = Schema.decodeUnknownOption(SummaryId)

export const make = (store: Storage.Service, config: MnesisConfig) => {
  const session = (id: string) => resolveSession(store, id)

  const sessions = Effect.map(
    list(store, { limit: 500 }, config),
    (r) => ({ sessions: r.rows, total: r.total })
  )

  const sessionOverview = (id: string) => Effect.flatMap(session(id), (s) => overview(store, s.id, config))

  const dag = (id: string) =>
    Effect.gen(function*() {
      const s = yield* session(id)
      const nodes = yield* store.sessionSummaries(s.id)
      const covered = yield* coveredTokens(store, nodes)
      const inContext = new Set<string>((yield* store.contextItems(s.id)).map((item) => item.id))
      return {
        sessionId: s.id,
        maxSeq: s.messageCount,
        nodes: nodes.map((n): DagNode => ({
          id: n.id,
          kind: n.kind,
          depth: n.depth,
          level: n.level,
          tokenCount: n.tokenCount,
          tokensCovered: covered.get(n.id)?.tokensCovered ?? 0,
          spanStartSeq: n.spanStartSeq,
          spanEndSeq: n.spanEndSeq,
          messageCount: n.messageCount,
          parents: n.parents,
          supersededBy: n.supersededBy,
          inContext: inContext.has(n.id),
          createdAt: n.createdAt
        }))
      }
    })

  /** A summary with what it stands for: messages (with a preview) or the summaries it condenses. */
  const summary = (id: string) =>
    Effect.gen(function*() {
      const summaryId = asSummaryId(id)
      const [node] = Option.isSome(summaryId) ? yield* store.summaries([summaryId.value]) : []
      if (node === undefined) return yield* new IdNotFound({ id })
      const sources = yield* store.summarySources(node.id)
      const messages = yield* messagesById(
        store,
        sources.flatMap((source) => Option.toArray(Schema.decodeUnknownOption(MessageId)(source.id)))
      )
      const inContext = (yield* store.contextItems(node.sessionId)).some((item) => item.id === node.id)
      return {
        node,
        inContext,
        sources: sources.map((source) => {
          const message = messages.get(source.id)
          return message === undefined
            ? { kind: source.kind, id: source.id }
            : {
              kind: source.kind,
              id: source.id,
              seq: message.seq,
              role: message.role,
              preview: clip(message.text, 200)
            }
        })
      }
    })

  const expand = (id: string, cursor: string | undefined) =>
    Effect.gen(function*() {
      const owner: SessionId = yield* ownerOf(store, id)
      const scope = yield* scopeFor(store, yield* store.getSession(owner), false)
      return yield* MemoryTools.expand(scope, { id, cursor })
    })

  const context = (id: string, turn: number | undefined) =>
    Effect.gen(function*() {
      const s = yield* session(id)
      const view = yield* modelView(s.model, config)
      const turns = (yield* allSnapshots(store, s.id)).length
      return turn === undefined
        ? yield* current(store, s, view.count, turns)
        : yield* atTurn(store, s, view.count, turn, turns)
    })

  const grep = (id: string, pattern: string, mode: "fulltext" | "regex", cursor: string | undefined) =>
    Effect.gen(function*() {
      const s = yield* session(id)
      const scope = yield* scopeFor(store, s, false)
      return yield* MemoryTools.grep(scope, { pattern, mode, cursor })
    })

  return { sessions, overview: sessionOverview, dag, summary, expand, context, grep }
}
