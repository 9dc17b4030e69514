/**
 * `mnesis/effect-ai`: mnesis with `@effect/ai` (an optional peer dependency; `mnesis` itself
 * never loads it).
 *
 * - {@link providerLayer} / {@link makeProvider}: any `@effect/ai` `LanguageModel` as mnesis's
 *   `LlmProvider`, so `send`, its tool loop and compaction's summaries use it;
 * - {@link MemoryToolkit} with {@link memoryToolkitLayer}: mnesis's memory tools (grep, describe,
 *   expand) as an `@effect/ai` toolkit for programs whose tool loop is `@effect/ai`'s.
 *
 * @since 0.1.0
 */
export {
  Describe,
  Expand,
  Grep,
  handlers as memoryHandlers,
  layer as memoryToolkitLayer,
  type MemorySession,
  MemoryToolkit
} from "./bridges/effectAi/MemoryToolkit.js"
export {
  type Configure,
  layer as providerLayer,
  make as makeProvider,
  type Options
} from "./bridges/effectAi/Provider.js"
export { toolkitOf, toolOf, toPrompt } from "./bridges/effectAi/Request.js"
export { errorOf, eventsOf, usageOf } from "./bridges/effectAi/Response.js"
