/**
 * mnesis: lossless memory for long-running LLM agents.
 *
 * @since 0.1.0
 */
export * as Archive from "./Archive.js"
export * as Compactor from "./Compactor.js"
export * as Config from "./Config.js"
export { makeConfig, type MnesisConfig, type MnesisConfigOverrides, Settings } from "./Config.js"
export * as ContextBuilder from "./ContextBuilder.js"
export type { BuiltContext } from "./ContextBuilder.js"
export * from "./Domain.js"
export * from "./Errors.js"
export * as Events from "./Events.js"
export { EventBus, type MnesisEvent } from "./Events.js"
export * as Files from "./Files.js"
export { FileHandler } from "./Files.js"
export { makeLayer, makeLive, makeTest, MnesisLive, MnesisTest, type TestOptions } from "./Layers.js"
export * as Anthropic from "./llm/Anthropic.js"
export * as MockLlm from "./llm/MockLlm.js"
export { MockLlmControl } from "./llm/MockLlm.js"
export * as OpenAiCompat from "./llm/OpenAiCompat.js"
export * as Retry from "./llm/Retry.js"
export * as Router from "./llm/Router.js"
export * as GenAiTelemetry from "./llm/shared/GenAiTelemetry.js"
export * as LlmProvider from "./LlmProvider.js"
export * as MemoryTools from "./MemoryTools.js"
export * as Metrics from "./Metrics.js"
export * as ModelRegistry from "./ModelRegistry.js"
export * as Operators from "./Operators.js"
export { AgenticMap, LlmMap } from "./Operators.js"
export * as Session from "./Session.js"
export type {
  AttachedFile,
  AttachFileInput,
  FilePartInput,
  HistoryOptions,
  LoadOptions,
  MessagePart,
  MnesisError,
  MnesisServices,
  OpenOptions,
  RecordInput,
  RecordResult,
  SendOptions,
  StreamEvent,
  TurnResult
} from "./Session.js"
export * as Storage from "./Storage.js"
export * as SqliteStore from "./storage/sqlite/SqliteStore.js"
export * as Tokenizer from "./Tokenizer.js"
export * as Tool from "./Tool.js"
