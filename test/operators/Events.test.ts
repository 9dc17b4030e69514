/**
 * The operators' events: `MapStarted`, one `MapItemCompleted` per item (running count, success,
 * attempts, tokens, cost), then `MapCompleted` with the totals — `completed`, or `interrupted`
 * when the run stopped early. Runs started from a session reach its subscribers.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Schema, Stream } from "effect"
import { LlmAuthenticationError } from "../../src/Errors.js"
import type { MnesisEvent } from "../../src/Events.js"
import { EventBus } from "../../src/Events.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import { LlmMap } from "../../src/Operators.js"
import * as Session from "../../src/Session.js"
import { layer, scriptByItem } from "./support.js"

/** The map events published while `effect` runs (collected from the bus). */
const mapEvents = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const bus = yield* EventBus
    const collector = yield* bus.events.pipe(
      Stream.filter((event) => event._tag.startsWith("Map")),
      Stream.takeUntil((event) => event._tag === "MapCompleted"),
      Stream.runCollect,
      Effect.fork
    )
    yield* Effect.yieldNow()
    const value = yield* effect
    const events: ReadonlyArray<MnesisEvent> = Chunk.toReadonlyArray(yield* Fiber.join(collector))
    return { value, events }
  })

describe("operator events", () => {
  it.effect("MapStarted, one MapItemCompleted per item, MapCompleted with counts, tokens and cost", () =>
    Effect.gen(function*() {
      yield* scriptByItem({
        "b": [MockLlm.Reply.fail(new LlmAuthenticationError({ provider: "mock", detail: "no" }))]
      })
      const { events, value: batch } = yield* mapEvents(LlmMap.runAll({
        items: ["a", "b", "c"],
        template: "{{ item }}",
        schema: Schema.String,
        model: "anthropic/claude-haiku-4-5"
      }))
      expect(events.map((e) => e._tag)).toEqual([
        "MapStarted",
        "MapItemCompleted",
        "MapItemCompleted",
        "MapItemCompleted",
        "MapCompleted"
      ])
      const [started, ...rest] = events
      expect(started).toMatchObject({ runId: batch.runId, operator: "llm_map", total: 3, pending: 3 })
      const items = rest.filter((e) => e._tag === "MapItemCompleted")
      expect(items.map((e) => e.completed)).toEqual([1, 2, 3])
      expect(items.filter((e) => !e.success)).toHaveLength(1)
      const completed = events.at(-1)!
      expect(completed).toMatchObject({ status: "completed", total: 3, succeeded: 2, failed: 1, attempts: 3 })
      if (completed._tag !== "MapCompleted") throw new Error("expected MapCompleted")
      expect(completed.tokens).toEqual(batch.tokens)
      expect(completed.tokens.input).toBeGreaterThan(0)
      // priced by the model registry
      expect(completed.cost).toBeGreaterThan(0)
      expect(completed.cost).toBeCloseTo(batch.cost, 10)
    }).pipe(Effect.provide(layer())))

  it.effect("a run stopped early ends with MapCompleted interrupted", () =>
    Effect.gen(function*() {
      const { events } = yield* mapEvents(
        LlmMap.run({
          items: ["a", "b", "c", "d"],
          template: "{{ item }}",
          schema: Schema.String,
          model: "mock/m",
          concurrency: 1
        })
          .pipe(Stream.take(1), Stream.runDrain)
      )
      expect(events.at(-1)).toMatchObject({
        _tag: "MapCompleted",
        status: "interrupted",
        total: 4,
        succeeded: 1
      })
    }).pipe(Effect.provide(layer())))

  it.effect("a run started from a session reaches the session's subscribers", () =>
    Effect.gen(function*() {
      const session = yield* Session.create({ model: "mock/m" })
      const seen: Array<string> = []
      yield* session.subscribe("MapCompleted", (event) => {
        seen.push(`${event.runId} ${event.status}`)
      })
      const batch = yield* LlmMap.runAll({
        items: ["a"],
        template: "{{ item }}",
        schema: Schema.String,
        session
      })
      yield* session.close
      expect(seen).toEqual([`${batch.runId} completed`])
    }).pipe(Effect.provide(layer())))
})
