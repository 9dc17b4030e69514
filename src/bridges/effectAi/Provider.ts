/**
 * Any `@effect/ai` `LanguageModel` as mnesis's `LlmProvider`: `send`, its tool loop and
 * compaction's summaries all go through it.
 *
 * Each request is one `streamText` call with the request's tools in a toolkit and
 * `disableToolCallResolution`, so the model's tool calls come back to mnesis's tool loop instead
 * of being run by `@effect/ai`. `@effect/ai` has no provider-neutral setting for the output limit,
 * temperature or stop sequences (each provider package has its own `Config`), so `configure` lets
 * the caller apply them, e.g. with `OpenAiLanguageModel.withConfigOverride`.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Effect, Layer, Stream } from "effect"
import type { LlmEvent, LlmFailure, LlmRequest, Service } from "../../LlmProvider.js"
import { LlmProvider, providerOf } from "../../LlmProvider.js"
import { toolkitOf, toPrompt } from "./Request.js"
import { errorOf, eventsOf } from "./Response.js"

/** Wraps a call's effect; `@effect/ai` providers' `withConfigOverride(…)` has this shape. */
export type Configure = (
  request: LlmRequest
) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

export interface Options {
  /** The name errors carry (`LlmRateLimited.provider`…); default: the request model's prefix. */
  readonly provider?: string | undefined
  /**
   * Applied around every call, to pass what `@effect/ai` has no neutral option for:
   *
   * ```ts
   * configure: (request) => OpenAiLanguageModel.withConfigOverride({ max_output_tokens: request.maxTokens })
   * ```
   */
  readonly configure?: Configure | undefined
}

/**
 * Captures the context `configure` sets up (an effect run inside it returns its context), so the
 * stream can run in it.
 */
const configuredContext = (configure: Configure | undefined, request: LlmRequest) =>
  configure === undefined ? Effect.context<never>() : configure(request)(Effect.context<never>())

/**
 * An `LlmProvider` over one `LanguageModel` service.
 *
 * @since 0.1.0
 */
export const make = (model: LanguageModel.Service, options: Options = {}): Service => ({
  stream: (request: LlmRequest): Stream.Stream<LlmEvent, LlmFailure> => {
    const provider = options.provider ?? (providerOf(request.model) || "effect-ai")
    const parts = Stream.unwrap(Effect.map(
      configuredContext(options.configure, request),
      (context) =>
        model.streamText({
          prompt: toPrompt(request.system, request.messages),
          toolkit: toolkitOf(request.tools ?? []),
          disableToolCallResolution: true
        }).pipe(Stream.provideContext(context))
    ))
    return parts.pipe(
      Stream.catchAll((error) => Stream.fromEffect(Effect.flip(errorOf(provider, error)))),
      Stream.mapConcatEffect((part) => eventsOf(provider, part)),
      Stream.withSpan("EffectAi.stream", { attributes: { model: request.model } })
    )
  }
})

/**
 * The `LlmProvider` layer over the `LanguageModel` in context. Give it a provider package's layer:
 *
 * ```ts
 * EffectAi.layer().pipe(Layer.provide(OpenAiLanguageModel.layer({ model: "gpt-4.1" })))
 * ```
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<LlmProvider, never, LanguageModel.LanguageModel> =>
  Layer.effect(LlmProvider, Effect.map(LanguageModel.LanguageModel, (model) => make(model, options)))
