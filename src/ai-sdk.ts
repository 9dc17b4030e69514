/**
 * `mnesis/ai-sdk`: mnesis with the Vercel AI SDK (`ai`, an optional peer dependency; `mnesis`
 * itself never loads it).
 *
 * - {@link withMnesis} / {@link mnesisMiddleware}: a language-model middleware so `streamText` and
 *   `generateText` keep every exchange in a mnesis session and send its assembled context instead
 *   of the caller's full history;
 * - {@link providerLayer} / {@link makeProvider}: any AI SDK language model as mnesis's
 *   `LlmProvider`, so `send`, its tool loop and compaction's summaries use it.
 *
 * @since 0.1.0
 */
export {
  type MemorySession,
  type MiddlewareOptions,
  mnesisMiddleware,
  withMnesis
} from "./bridges/aiSdk/Middleware.js"
export { type NewTurn, newTurn, toPrompt } from "./bridges/aiSdk/Prompt.js"
export {
  type AnyLanguageModel,
  callOptionsOf,
  layer as providerLayer,
  make as makeProvider,
  type Options
} from "./bridges/aiSdk/Provider.js"
export { errorOf, eventsOf, finishReasonOf, usageOf } from "./bridges/aiSdk/Response.js"
