/**
 * Parallel operators: fan-out work that stays out of the caller's context.
 *
 * - {@link LlmMap}: one stateless model call per item, each reply decoded with a `Schema`.
 * - {@link AgenticMap}: one sub-agent (a sub-session with its own memory, tools and turns) per item.
 *
 * Both record their runs in the store — the run, and each item's status, attempts and output or
 * typed failure — so an interrupted or crashed run finishes with `resume(runId)`, never paying
 * twice for an item that finished. A run started from a session leaves one compact note in it.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as AgenticMapModule from "./operators/AgenticMap.js"
import * as LlmMapModule from "./operators/LlmMap.js"
import * as ModelTools from "./operators/ModelTools.js"
import type { MnesisServices, Session } from "./Session.js"
import type { Tool } from "./Tool.js"

export * as AgenticMap from "./operators/AgenticMap.js"

export type { Delegation } from "./operators/Guard.js"
export type { ItemsSource } from "./operators/Items.js"
export * as LlmMap from "./operators/LlmMap.js"
export type { ToolsOptions } from "./operators/ModelTools.js"
export {
  ItemStatus,
  type MapBatch,
  type MapFailed,
  MapFailure,
  type MapResult,
  type MapSuccess,
  OperatorName,
  RunId,
  RunInfo,
  RunItem,
  RunStatus
} from "./operators/Run.js"

/**
 * Both operators, over the services a session uses (`MnesisLive` and `MnesisTest` include it).
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<LlmMapModule.LlmMap | AgenticMapModule.AgenticMap, never, MnesisServices> =
  AgenticMapModule.layer.pipe(Layer.provideMerge(LlmMapModule.layer))

/**
 * The operators as tools for `session`'s model (opt-in): `llm_map` and `agentic_map`. Pass them to
 * `send(…, { tools })`. Each call answers with the run's compact note; the model pages through
 * the results with the memory tools (`expand("run_…")`).
 *
 * @since 0.1.0
 */
export const tools = (
  session: Session,
  options: ModelTools.ToolsOptions = {}
): Effect.Effect<ReadonlyArray<Tool>, never, LlmMapModule.LlmMap | AgenticMapModule.AgenticMap> =>
  Effect.gen(function*() {
    const llmMap = yield* LlmMapModule.LlmMap
    const agenticMap = yield* AgenticMapModule.AgenticMap
    return ModelTools.make({ llmMap, agenticMap }, session, options)
  })
