/**
 * Any AI SDK language model (`@ai-sdk/openai`, `@ai-sdk/anthropic`, a gateway model, a mock…) as
 * mnesis's `LlmProvider`: `send`, its tool loop and compaction's summaries all go through it.
 *
 * Each request is one `doStream` call of the provider spec: the request's tools are offered as
 * function tools and the calls come back to mnesis's tool loop (the AI SDK's own loop lives in
 * `streamText`, which this does not use). Models of older spec versions are brought to v4 by the
 * AI SDK's own adapter. Interrupting the stream aborts the call.
 *
 * @since 0.1.0
 */
import type { JSONSchema7, LanguageModelV4CallOptions, LanguageModelV4FunctionTool } from "@ai-sdk/provider"
import { wrapLanguageModel } from "ai"
import { Clock, Effect, Either, Layer, Stream } from "effect"
import type { LlmError } from "../../Errors.js"
import { LlmInvalidRequest } from "../../Errors.js"
import type { LlmEvent, LlmFailure, LlmRequest, Service, ToolDefinition } from "../../LlmProvider.js"
import { LlmProvider } from "../../LlmProvider.js"
import { toPrompt } from "./Prompt.js"
import { errorOf, eventsOf } from "./Response.js"

/** A language model of any spec version the installed AI SDK accepts (v2, v3, v4). */
export type AnyLanguageModel = Parameters<typeof wrapLanguageModel>[0]["model"]

export interface Options {
  /** The name errors carry (`LlmRateLimited.provider`…); default: the model's `provider`. */
  readonly provider?: string | undefined
}

/** mnesis's tool schemas are JSON Schema objects (`Tool.make` writes them with `JSONSchema.make`). */
const isJsonSchema = (value: unknown): value is JSONSchema7 =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const functionTool = (
  provider: string,
  tool: ToolDefinition
): Either.Either<LanguageModelV4FunctionTool, LlmError> =>
  isJsonSchema(tool.inputSchema)
    ? Either.right({
      type: "function",
      name: tool.name,
      description: tool.description,
      inputSchema: tool.inputSchema
    })
    : Either.left(
      new LlmInvalidRequest({
        provider,
        detail: `the input schema of tool "${tool.name}" is not a JSON object`
      })
    )

/** A mnesis request as the call options of the provider spec. */
export const callOptionsOf = (
  provider: string,
  request: LlmRequest,
  abortSignal?: AbortSignal
): Either.Either<LanguageModelV4CallOptions, LlmError> =>
  Either.map(
    Either.all((request.tools ?? []).map((tool) => functionTool(provider, tool))),
    (tools) => ({
      prompt: toPrompt(request.system, request.messages),
      maxOutputTokens: request.maxTokens,
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.stop === undefined ? {} : { stopSequences: [...request.stop] }),
      ...(tools.length === 0 ? {} : { tools, toolChoice: { type: "auto" } }),
      ...(abortSignal === undefined ? {} : { abortSignal })
    })
  )

const failWith = (provider: string) => (error: unknown) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(errorOf(provider, error, now)))

/**
 * An `LlmProvider` over one AI SDK model.
 *
 * @since 0.1.0
 */
export const make = (model: AnyLanguageModel, options: Options = {}): Service => {
  const v4 = wrapLanguageModel({ model, middleware: [] })
  const provider = options.provider ?? v4.provider
  return {
    stream: (request: LlmRequest): Stream.Stream<LlmEvent, LlmFailure> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const controller = yield* Effect.acquireRelease(
          Effect.sync(() => new AbortController()),
          (controller) => Effect.sync(() => controller.abort())
        )
        const callOptions = yield* callOptionsOf(provider, request, controller.signal)
        const result = yield* Effect.tryPromise({
          try: () => v4.doStream(callOptions),
          catch: (error) => error
        })
          .pipe(Effect.catchAll(failWith(provider)))
        return Stream.fromReadableStream({ evaluate: () => result.stream, onError: (error) => error }).pipe(
          Stream.catchAll((error) => Stream.fromEffect(failWith(provider)(error))),
          Stream.mapConcatEffect((part) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => eventsOf(provider, part, now))
          )
        )
      })).pipe(Stream.withSpan("AiSdk.stream", { attributes: { model: request.model, provider } }))
  }
}

/**
 * The `LlmProvider` layer over one AI SDK model.
 *
 * @since 0.1.0
 */
export const layer = (model: AnyLanguageModel, options: Options = {}): Layer.Layer<LlmProvider> =>
  Layer.succeed(LlmProvider, make(model, options))
