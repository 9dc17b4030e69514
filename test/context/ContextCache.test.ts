/**
 * The builder's per-session cache under concurrency, against the real SQLite store wrapped so
 * that its reads yield (as a networked store's reads do): concurrent builds, sizes and item
 * reads of one session, beside appends and compaction commits, must leave the cache equal to the
 * store and must each see one consistent context.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, FastCheck, Fiber, Logger, Ref } from "effect"
import type { Budget } from "../../src/Config.js"
import type { Count } from "../../src/context/Render.js"
import * as ContextBuilder from "../../src/ContextBuilder.js"
import type { ContextItem, SessionId } from "../../src/Domain.js"
import * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import { countTokens } from "../../src/Tokenizer.js"
import { append, createSession, summaryCommit } from "../support/storage.js"

const count: Count = (text) => countTokens(text)
const budget: Budget = {
  contextLimit: 1_000_000,
  maxOutputTokens: 1_000,
  usable: 900_000,
  softThreshold: 500_000,
  hardThreshold: 900_000
}

/**
 * The store, with every read the builder makes yielding `pauses()` times before it reads and
 * again before it answers; `messages` also waits on `gate` when one is set.
 */
const yieldingStore = (
  store: Storage.Service,
  pauses: () => number,
  gate?: Ref.Ref<
    { readonly entered: Deferred.Deferred<void>; readonly release: Deferred.Deferred<void> } | null
  >
): Storage.Service => {
  const pause = Effect.suspend(() => Effect.repeatN(Effect.yieldNow(), pauses()))
  const slow = <A, E>(read: Effect.Effect<A, E>) => Effect.zipLeft(Effect.zipRight(pause, read), pause)
  return {
    ...store,
    contextSince: (sessionId, afterPosition) => slow(store.contextSince(sessionId, afterPosition)),
    summaries: (ids) => slow(store.summaries(ids)),
    messages: (ids) =>
      Effect.gen(function*() {
        const armed = gate === undefined ? null : yield* Ref.getAndSet(gate, null)
        if (armed !== null) {
          yield* Deferred.succeed(armed.entered, undefined)
          yield* Deferred.await(armed.release)
        }
        return yield* slow(store.messages(ids))
      })
  }
}

/** Ids in order, and whether positions strictly increase (no item read twice). */
const shape = (items: ReadonlyArray<ContextItem>) => ({
  ids: items.map((item) => item.id),
  increasing: items.every((item, i) => i === 0 || item.position > items[i - 1]!.position)
})

/** Every text the built context carries, for checking that each included message was rendered. */
const sentText = (built: ContextBuilder.BuiltContext) => JSON.stringify(built.messages)

/** What the store's context items cost together. */
const storedTokens = (store: Storage.Service, sessionId: SessionId) =>
  Effect.map(store.contextItems(sessionId), (items) => items.reduce((sum, item) => sum + item.tokenCount, 0))

/** The builder's view of the session equals the store's. */
const expectCacheEqualsStore = (
  builder: ContextBuilder.Service,
  ref: ContextBuilder.SessionRef,
  store: Storage.Service,
  sessionId: SessionId
) =>
  Effect.gen(function*() {
    const stored = yield* store.contextSince(sessionId)
    const cached = yield* builder.items(ref)
    expect(shape(cached)).toEqual({ ids: stored.items.map((item) => item.id), increasing: true })
    expect(yield* builder.size(ref)).toBe(yield* storedTokens(store, sessionId))
  })

describe("context cache under concurrent reads", () => {
  it.effect("two concurrent catch-up reads append what they read once (3 stored, 3 cached)", () =>
    Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const builder = yield* ContextBuilder.make
      const ref = { store: yieldingStore(store, () => 3), sessionId: session.id }
      yield* append(session.id, "user", "the first question")
      yield* builder.build({ ...ref, systemPrompt: "", budget, count })
      yield* append(session.id, "assistant", "the first answer")
      yield* append(session.id, "user", "the second question")

      const [a, b] = yield* Effect.all([builder.size(ref), builder.size(ref)], { concurrency: "unbounded" })
      const stored = yield* storedTokens(store, session.id)
      expect([a, b]).toEqual([stored, stored])
      expect((yield* builder.items(ref)).length).toBe(3)
      yield* expectCacheEqualsStore(builder, ref, store, session.id)
    }).pipe(Effect.provide(SqliteStore.layerMemory)))

  it.effect("builds, sizes and item reads beside appends and compactions each see one consistent context", () =>
    Effect.gen(function*() {
      const store = yield* Storage.Storage
      const scenarios = FastCheck.sample(
        FastCheck.record({
          pauses: FastCheck.array(FastCheck.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 24 }),
          readers: FastCheck.integer({ min: 2, max: 5 }),
          appends: FastCheck.integer({ min: 1, max: 6 }),
          compactions: FastCheck.integer({ min: 0, max: 2 })
        }),
        { numRuns: 40, seed: 5 }
      )
      for (const scenario of scenarios) {
        const session = yield* createSession()
        const builder = yield* ContextBuilder.make
        let tick = 0
        const ref = {
          store: yieldingStore(store, () => scenario.pauses[tick++ % scenario.pauses.length]!),
          sessionId: session.id
        }
        for (let i = 0; i < 4; i++) {
          yield* append(session.id, i % 2 === 0 ? "user" : "assistant", `seed message ${i}`)
        }
        yield* builder.build({ ...ref, systemPrompt: "", budget, count })

        const writer = Effect.gen(function*() {
          for (let i = 0; i < scenario.appends; i++) {
            yield* append(session.id, i % 2 === 0 ? "user" : "assistant", `live message ${i}`)
            yield* Effect.yieldNow()
          }
        })
        const compactor = Effect.gen(function*() {
          for (let i = 0; i < scenario.compactions; i++) {
            const items = (yield* store.contextSince(session.id)).items.slice(0, 2)
            yield* store.commitCompaction(yield* summaryCommit(session.id, items))
            yield* Effect.yieldNow()
          }
        })
        const reader = (n: number) =>
          Effect.gen(function*() {
            for (let round = 0; round < 3; round++) {
              if ((n + round) % 3 === 0) {
                const built = yield* builder.build({ ...ref, systemPrompt: "", budget, count })
                expect(shape(built.items).increasing).toBe(true)
                expect(built.contextTokens).toBe(built.items.reduce((sum, item) => sum + item.tokenCount, 0))
                expect(built.messages.every((message) => message.content.length > 0)).toBe(true)
              } else if ((n + round) % 3 === 1) {
                expect(shape(yield* builder.items(ref)).increasing).toBe(true)
              } else {
                yield* builder.size(ref)
              }
            }
          })
        yield* Effect.all([
          writer,
          compactor,
          ...Array.from({ length: scenario.readers }, (_, n) => reader(n))
        ], {
          concurrency: "unbounded",
          discard: true
        })
        yield* expectCacheEqualsStore(builder, ref, store, session.id)
      }
    }).pipe(Effect.provide(SqliteStore.layerMemory)))

  it.effect("a build keeps the renderings it chose while a concurrent reload drops items that left", () =>
    Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const builder = yield* ContextBuilder.make
      const gate = yield* Ref.make<
        { readonly entered: Deferred.Deferred<void>; readonly release: Deferred.Deferred<void> } | null
      >(null)
      const ref = { store: yieldingStore(store, () => 1, gate), sessionId: session.id }
      yield* append(session.id, "user", "alpha question")
      yield* append(session.id, "assistant", "bravo answer")
      yield* append(session.id, "user", "charlie question")
      yield* builder.build({ ...ref, systemPrompt: "", budget, count })
      yield* append(session.id, "assistant", "delta answer")

      // The build reads the new message while a compaction replaces the first two items and
      // another read reloads the view.
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      yield* Ref.set(gate, { entered, release })
      const building = yield* Effect.fork(builder.build({ ...ref, systemPrompt: "", budget, count }))
      yield* Deferred.await(entered)
      const items = (yield* store.contextSince(session.id)).items
      yield* store.commitCompaction(yield* summaryCommit(session.id, items.slice(0, 2)))
      yield* builder.size(ref)
      yield* Deferred.succeed(release, undefined)
      const built = yield* Fiber.join(building)

      expect(built.items.map((item) => item.id)).toEqual(items.map((item) => item.id))
      for (const text of ["alpha question", "bravo answer", "charlie question", "delta answer"]) {
        expect(sentText(built)).toContain(text)
      }
    }).pipe(Effect.provide(SqliteStore.layerMemory)))

  it.effect("messages() returns cached messages even when a concurrent reload drops them", () =>
    Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const builder = yield* ContextBuilder.make
      const gate = yield* Ref.make<
        { readonly entered: Deferred.Deferred<void>; readonly release: Deferred.Deferred<void> } | null
      >(null)
      const ref = { store: yieldingStore(store, () => 1, gate), sessionId: session.id }
      const first = yield* append(session.id, "user", "alpha question")
      const second = yield* append(session.id, "assistant", "bravo answer")
      yield* builder.build({ ...ref, systemPrompt: "", budget, count })
      const third = yield* append(session.id, "user", "charlie question")

      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      yield* Ref.set(gate, { entered, release })
      const reading = yield* Effect.fork(builder.messages(ref, [first.id, second.id, third.id], count))
      yield* Deferred.await(entered)
      const items = (yield* store.contextSince(session.id)).items
      yield* store.commitCompaction(yield* summaryCommit(session.id, items.slice(0, 2)))
      yield* builder.size(ref)
      yield* Deferred.succeed(release, undefined)
      const messages = yield* Fiber.join(reading)

      expect(messages.map((message) => message.id)).toEqual([first.id, second.id, third.id])
    }).pipe(Effect.provide(SqliteStore.layerMemory)))
})

describe("context items whose content is missing", () => {
  it.effect("are left out with a warning naming them, not silently", () =>
    Effect.gen(function*() {
      const store = yield* Storage.Storage
      const session = yield* createSession()
      const kept = yield* append(session.id, "user", "kept question")
      const lost = yield* append(session.id, "assistant", "lost answer")
      // A damaged store: the context lists the message, but its content cannot be found.
      const damaged: Storage.Service = {
        ...store,
        messages: (ids) => store.messages(ids.filter((id) => id !== lost.id))
      }
      const logs: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ logLevel, message }) => logs.push(`${logLevel.label} ${String(message)}`))
      )
      const builder = yield* ContextBuilder.make
      const built = yield* builder.build({
        store: damaged,
        sessionId: session.id,
        systemPrompt: "",
        budget,
        count
      })
        .pipe(Effect.provide(capture))
      expect(sentText(built)).toContain("kept question")
      expect(built.items.map((item) => item.id)).toEqual([kept.id, lost.id])
      expect(logs.filter((line) => line.startsWith("WARN") && line.includes(lost.id))).toHaveLength(1)
    }).pipe(Effect.provide(SqliteStore.layerMemory)))
})
