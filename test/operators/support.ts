/**
 * Test helpers for the operators: the test bundle with the operators' layers, a provider wrapper
 * that measures how many calls are in flight, and readers for what the mock was sent.
 */
import { Context, Effect, Layer, Ref, Stream } from "effect"
import { Settings } from "../../src/Config.js"
import { makeLayer, makeTest, type TestOptions } from "../../src/Layers.js"
import { sampleOf } from "../../src/llm/mockJson.js"
import * as MockLlm from "../../src/llm/MockLlm.js"
import type { LlmRequest } from "../../src/LlmProvider.js"
import { LlmProvider } from "../../src/LlmProvider.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"

/** Fast retries: no backoff to wait for. */
export const fastRetry = { session: { retry: { baseDelay: 0, jitter: false } } } as const

/** `makeTest` (which includes the operators) with fast retries. */
export const layer = (options: TestOptions = {}) =>
  makeTest({ ...options, config: { ...fastRetry, ...options.config } })

/** Every request the mock received. */
export const requests = Effect.flatMap(MockLlm.MockLlmControl, (control) => control.requests)

/** The text of every text block of a request, in order. */
export const textsOf = (request: LlmRequest): ReadonlyArray<string> =>
  request.messages.flatMap((m) => m.content.flatMap((b) => (b.type === "text" ? [b.text] : [])))

/** The most provider calls that were ever in flight at once. */
export class Peak extends Context.Tag("test/Peak")<Peak, Effect.Effect<number>>() {}

/** The mock, with a count of calls in flight (from a call's first pull to its end). */
const measuredProvider = (options: MockLlm.MockOptions) =>
  Layer.effectContext(Effect.gen(function*() {
    const { control, provider } = yield* MockLlm.make(options)
    const inFlight = yield* Ref.make(0)
    const peak = yield* Ref.make(0)
    const enter = Effect.flatMap(
      Ref.updateAndGet(inFlight, (n) => n + 1),
      (n) => Ref.update(peak, (p) => Math.max(p, n))
    )
    const leave = Ref.update(inFlight, (n) => n - 1)
    const stream = (request: LlmRequest) =>
      Stream.unwrapScoped(Effect.as(Effect.acquireRelease(enter, () => leave), provider.stream(request)))
    return Context.make(LlmProvider, { stream }).pipe(
      Context.add(MockLlm.MockLlmControl, control),
      Context.add(Peak, Ref.get(peak))
    )
  }))

/** The test services over a measured mock (see {@link Peak}). */
export const measuredLayer = (
  options: { readonly mock?: MockLlm.MockOptions; readonly config?: object } = {}
) =>
  makeLayer({
    settings: Settings.layer({ ...fastRetry, ...options.config }),
    storage: SqliteStore.layerMemory,
    provider: measuredProvider(options.mock ?? {})
  })

/**
 * Scripts the mock per item (the first text of the request): each item's replies in order, so
 * concurrent items do not take each other's. Items not scripted (or past their script) get the
 * mock's own replies (a value of the schema for structured requests).
 */
export const scriptByItem = (script: Readonly<Record<string, ReadonlyArray<MockLlm.MockReply>>>) =>
  Effect.gen(function*() {
    const control = yield* MockLlm.MockLlmControl
    const next = new Map<string, number>()
    const step = (request: LlmRequest): MockLlm.MockReply => {
      const item = textsOf(request)[0] ?? ""
      const i = next.get(item) ?? 0
      next.set(item, i + 1)
      const scripted = script[item]?.[i]
      if (scripted !== undefined) return scripted
      return request.output === undefined
        ? MockLlm.Reply.text(MockLlm.defaultReply(request))
        : MockLlm.Reply.text(JSON.stringify(sampleOf(request.output.schema, item)))
    }
    yield* control.enqueue(...Array.from({ length: 2_000 }, () => step))
  })
