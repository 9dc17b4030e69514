/**
 * Helpers for tests that need a real store: temp-file databases that clean up after themselves
 * and short constructors for sessions and messages.
 */
import { Clock, Effect, Layer, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { ContextItem, MessageId, PartInput, Role, SessionId, SummaryId } from "../../src/Domain.js"
import { PartInput as PartInputSchema } from "../../src/Domain.js"
import * as Ids from "../../src/internal/ids.js"
import * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"

/** A fresh temporary directory, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-test-"))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

/** A path for a database file inside a fresh temporary directory. */
export const tempDbPath = Effect.map(tempDir, (dir) => NodePath.join(dir, "store.db"))

/** A SQLite store in a temporary file, deleted with the layer. */
export const layerTempFile = (options: Omit<SqliteStore.Options, "filename"> = {}) =>
  Layer.unwrapScoped(Effect.map(tempDbPath, (filename) => SqliteStore.layer({ ...options, filename })))

export const createSession = (options: { readonly parentId?: SessionId; readonly model?: string } = {}) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const id = yield* Ids.sessionId
    return yield* store.createSession({
      id,
      parentId: options.parentId,
      model: options.model ?? "mock/test",
      agent: "default",
      systemPrompt: "You are a test.",
      createdAt: yield* Clock.currentTimeMillis
    })
  })

const decodePart = Schema.decodeSync(PartInputSchema)

/** Gives each input part an id and a token count (one token per four characters, for tests). */
export const withIds = (parts: ReadonlyArray<PartInput>) =>
  Effect.forEach(
    parts.map((input) => decodePart(input)),
    (part) =>
      Effect.map(Ids.partId, (id): Storage.NewMessage["parts"][number] => {
        const tokenCount = Math.ceil(JSON.stringify(part).length / 4)
        switch (part.type) {
          case "tool":
            return { ...part, id, tokenCount }
          default:
            return { ...part, id, tokenCount }
        }
      })
  )

export const append = (
  sessionId: SessionId,
  role: Role,
  parts: ReadonlyArray<PartInput> | string,
  extra: Partial<Pick<Storage.NewMessage, "inContext" | "tokens" | "finishReason" | "cost">> = {}
) =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const id: MessageId = yield* Ids.messageId
    return yield* store.appendMessage({
      id,
      sessionId,
      role,
      agent: "default",
      model: "mock/test",
      createdAt: yield* Clock.currentTimeMillis,
      parts: yield* withIds(typeof parts === "string" ? [{ type: "text", text: parts }] : parts),
      ...extra
    })
  })

/** Builds the commit that replaces `items` (a contiguous run of the context) with one summary. */
export const summaryCommit = (
  sessionId: SessionId,
  items: ReadonlyArray<ContextItem>,
  options: { readonly content?: string; readonly depth?: number } = {}
): Effect.Effect<Storage.CompactionCommit, Storage.StoreFailure, Storage.Storage> =>
  Effect.gen(function*() {
    const store = yield* Storage.Storage
    const summaryId = yield* Ids.summaryId
    // a condensed node spans from its first parent's first message to its last parent's last one
    const parents = yield* store.summaries(
      items.filter((i) => i.kind === "summary").map((i) => i.id as SummaryId)
    )
    const spanStart = parents[0]?.spanStart ?? items[0]!.id as MessageId
    const spanEnd = parents[parents.length - 1]?.spanEnd ?? items[items.length - 1]!.id as MessageId
    const content = options.content ?? `summary of ${items.length} items`
    const kind = items[0]?.kind === "summary" ? "condensed" as const : "leaf" as const
    const depth = options.depth ?? (kind === "leaf" ? 0 : 1)
    return {
      sessionId,
      summary: {
        id: summaryId,
        kind,
        depth,
        level: 1,
        content,
        tokenCount: 10,
        spanStart,
        spanEnd,
        spanStartSeq: 1,
        spanEndSeq: items.length,
        messageCount: items.length,
        fileIds: [],
        model: "mock/test",
        createdAt: 0
      },
      replaces: items,
      message: {
        id: yield* Ids.messageId,
        agent: "compactor",
        model: "mock/test",
        createdAt: 0,
        parts: [
          { type: "text", id: yield* Ids.partId, tokenCount: 5, text: content },
          {
            type: "compaction",
            id: yield* Ids.partId,
            tokenCount: 0,
            summaryId,
            level: 1,
            depth,
            messagesCovered: items.length,
            tokensCovered: items.reduce((sum, item) => sum + item.tokenCount, 0)
          }
        ]
      }
    }
  })

/** The first column of each row a raw `node:sqlite` query returned (what `SELECT x …` reads). */
export const firstColumn = (rows: ReadonlyArray<Record<string, unknown>>): ReadonlyArray<unknown> =>
  rows.map((row) => Object.values(row)[0])
