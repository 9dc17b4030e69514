/**
 * The small pieces of the command: ages, the sparkline, the loopback rule of `serve`, and the
 * read-only store the explorer reads through.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Schema } from "effect"
import * as FastCheck from "effect/FastCheck"
import { Age } from "../../src/cli/options.js"
import { sparkline } from "../../src/cli/sparkline.js"
import { readOnly } from "../../src/cli/web/readOnly.js"
import { isLoopback } from "../../src/cli/web/Server.js"
import { SessionId } from "../../src/Domain.js"
import * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"

const decodeAge = Schema.decodeUnknownEither(Age)

describe("ages", () => {
  it("reads short units and Effect durations", () => {
    expect(Either.map(decodeAge("30d"), Duration.toMillis)).toEqual(Either.right(30 * 86_400_000))
    expect(Either.map(decodeAge("2w"), Duration.toMillis)).toEqual(Either.right(14 * 86_400_000))
    expect(Either.map(decodeAge("90m"), Duration.toMillis)).toEqual(Either.right(90 * 60_000))
    expect(Either.map(decodeAge("1.5h"), Duration.toMillis)).toEqual(Either.right(90 * 60_000))
    expect(Either.map(decodeAge("12 hours"), Duration.toMillis)).toEqual(Either.right(12 * 3_600_000))
    expect(Either.isLeft(decodeAge("soon"))).toBe(true)
    expect(Either.isLeft(decodeAge("-3d"))).toBe(true)
  })
})

describe("sparkline", () => {
  it("folds any series into the width, one mark column per marked value", () =>
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.nat(100_000), { minLength: 1, maxLength: 500 }),
        FastCheck.integer({ min: 1, max: 120 }),
        FastCheck.array(FastCheck.nat(499)),
        (values, width, marks) => {
          const marked = new Set(marks.filter((m) => m < values.length))
          const line = sparkline(values, marked, width)
          const columns = Math.ceil(values.length / line.perColumn)
          expect([...line.bars]).toHaveLength(columns)
          expect(columns).toBeLessThanOrEqual(width)
          const markedColumns = new Set([...marked].map((i) => Math.floor(i / line.perColumn)))
          const shown = [...line.marks].flatMap((c, i) => (c === "^" ? [i] : []))
          expect(shown).toEqual([...markedColumns].sort((a, b) => a - b))
          // the highest value gets the full bar
          expect(line.bars.includes("█") || values.every((v) => v === 0)).toBe(true)
        }
      )
    ))
})

describe("serve's loopback rule", () => {
  it("accepts only addresses and names of this machine", () => {
    for (
      const host of ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "app.localhost", "::1", "[::1]"]
    ) {
      expect({ host, local: isLoopback(host) }).toEqual({ host, local: true })
    }
    for (
      const host of ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "localhost.example.com", ""]
    ) {
      expect({ host, local: isLoopback(host) }).toEqual({ host, local: false })
    }
  })
})

describe("the explorer's store", () => {
  it.effect("reads like the store and refuses every write", () =>
    Effect.gen(function*() {
      const store = readOnly(yield* Storage.Storage)
      expect(yield* store.listSessions()).toEqual([])
      const refused = yield* Effect.flip(store.createSession({
        id: Schema.decodeSync(SessionId)("sess_01JX0000000000000000000000"),
        model: "mock/test",
        agent: "default",
        systemPrompt: "",
        createdAt: 0
      }))
      expect(refused.message).toContain("the explorer is read-only")
      expect(yield* store.listSessions()).toEqual([])
    }).pipe(Effect.provide(SqliteStore.layerMemory)))
})
