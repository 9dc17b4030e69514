/**
 * The compaction lease, as a suite any backend runs beside the store's conformance suite: one
 * holder at a time per session, across handles; renewal; expiry by the database's clock; a commit
 * refused once its round's lease is gone; leases going with their session.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Storage from "../../src/Storage.js"
import { append, createSession, summaryCommit } from "../support/storage.js"
import type { Backend } from "./storeConformance.js"

/** Real time passing (leases expire by the database's clock, which TestClock does not move). */
const realSleep = (millis: number) =>
  Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

export const leaseConformance = (name: string, backend: Backend) =>
  describe(`Compaction leases: ${name}`, () => {
    it.scoped("one holder per session across handles; renewed by its holder, released only by it", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const first = yield* database.open()
        const second = yield* database.open()
        const session = yield* Effect.provideService(createSession(), Storage.Storage, first)
        const other = yield* Effect.provideService(createSession(), Storage.Storage, first)
        expect(yield* first.acquireCompactionLease(session.id, "a", 60_000)).toBe(true)
        expect(yield* second.acquireCompactionLease(session.id, "b", 60_000)).toBe(false)
        // another session's lease is its own
        expect(yield* second.acquireCompactionLease(other.id, "b", 60_000)).toBe(true)
        expect(yield* first.acquireCompactionLease(session.id, "a", 60_000)).toBe(true)
        yield* second.releaseCompactionLease(session.id, "b")
        expect(yield* second.acquireCompactionLease(session.id, "b", 60_000)).toBe(false)
        yield* first.releaseCompactionLease(session.id, "a")
        expect(yield* second.acquireCompactionLease(session.id, "b", 60_000)).toBe(true)
        expect(yield* first.acquireCompactionLease(session.id, "a", 60_000)).toBe(false)
      }))

    it.scoped("an expired lease goes to the next holder, and the commit of its round is refused", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const store = yield* database.open()
        const run = <A, E>(effect: Effect.Effect<A, E, Storage.Storage>) =>
          Effect.provideService(effect, Storage.Storage, store)
        const session = yield* run(createSession())
        for (let i = 0; i < 4; i++) yield* run(append(session.id, "user", `turn ${i}`))
        const items = yield* store.contextItems(session.id)
        expect(yield* store.acquireCompactionLease(session.id, "crashed", 30)).toBe(true)
        yield* realSleep(80)
        expect(yield* store.acquireCompactionLease(session.id, "next", 60_000)).toBe(true)
        const late = yield* store.commitCompaction({
          ...(yield* run(summaryCommit(session.id, items.slice(0, 2)))),
          lease: "crashed"
        }).pipe(Effect.flip)
        expect(late.message).toContain("lease")
        expect(yield* store.sessionSummaries(session.id)).toEqual([])
        yield* store.commitCompaction({
          ...(yield* run(summaryCommit(session.id, items.slice(0, 2)))),
          lease: "next"
        })
        expect((yield* store.sessionSummaries(session.id)).length).toBe(1)
      }))

    it.scoped("a lease goes with its session", () =>
      Effect.gen(function*() {
        const database = yield* backend.database
        const store = yield* database.open()
        const session = yield* Effect.provideService(createSession(), Storage.Storage, store)
        expect(yield* store.acquireCompactionLease(session.id, "holder_of_a_doomed_session", 60_000)).toBe(
          true
        )
        yield* store.deleteSession(session.id)
        const left = (yield* database.rows).filter(({ rows }) =>
          rows.some((row) => JSON.stringify(row).includes("holder_of_a_doomed_session"))
        )
        expect(left).toEqual([])
      }))
  })
