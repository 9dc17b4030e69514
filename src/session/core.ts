/**
 * What every part of a session shares: its stored row, configuration and budget, its store and
 * scope, the services it calls, its compaction handle and its running usage. Built once per
 * session by {@link makeCore}, whatever way the session came to be (created, loaded, spawned
 * under a parent), and handed to the parts (turns, `record`, events, lifecycle).
 *
 * @internal
 */
import { Effect, Ref, Scope } from "effect"
import { Compactor, type SessionCompactor } from "../Compactor.js"
import type { Budget, MnesisConfig } from "../Config.js"
import type { Count } from "../context/Render.js"
import { assemblyReserve, ContextBuilder, type Service as ContextBuilderService } from "../ContextBuilder.js"
import type { SessionId, SessionInfo, TokenUsage } from "../Domain.js"
import { EventBus, type MnesisEvent, type Service as EventBusService } from "../Events.js"
import * as Files from "../Files.js"
import * as GenAiTelemetry from "../llm/shared/GenAiTelemetry.js"
import { LlmProvider } from "../LlmProvider.js"
import type { ModelInfo } from "../ModelRegistry.js"
import type { OpenOptions } from "../Session.js"
import type * as Storage from "../Storage.js"
import { Tokenizer } from "../Tokenizer.js"
import type { Tool } from "../Tool.js"
import type { TurnEnv } from "./turn.js"

/** A session about to be put together: its row and everything resolved before it. */
export interface Init {
  readonly row: SessionInfo
  readonly config: MnesisConfig
  readonly info: ModelInfo
  readonly budget: Budget
  readonly store: Storage.Service
  readonly scope: Scope.CloseableScope
  readonly tools: ReadonlyArray<Tool>
  readonly memoryTools: OpenOptions["memoryTools"]
  /** True when the row was written just now (the session announces its creation). */
  readonly created: boolean
}

export interface SessionCore extends Init {
  readonly sessionId: SessionId
  readonly count: Count
  /** The stored system prompt's cost, counted once. */
  readonly systemTokens: number
  readonly publish: (event: MnesisEvent) => Effect.Effect<void>
  readonly bus: EventBusService
  readonly builder: ContextBuilderService
  readonly compaction: SessionCompactor
  /** Usage summed over the session's turns (restored from the row on load). */
  readonly usage: Ref.Ref<TokenUsage>
  /** What the tool loop needs of the session. */
  readonly turnEnv: TurnEnv
  /** Files attached to the session's messages, stored in its store and counted as its model counts. */
  readonly files: Files.Service
}

export const makeCore = (init: Init) =>
  Effect.gen(function*() {
    const { budget, config, info, row, scope, store } = init
    const tokenizer = yield* Tokenizer
    const provider = yield* LlmProvider
    const bus = yield* EventBus
    const builder = yield* ContextBuilder
    const compactor = yield* Compactor
    const count: Count = (text) => tokenizer.countFor(text, info)
    const encoding = tokenizer.encodingFor(info)
    const files = Files.make(store, {
      count,
      isWithinLimit: (text, limit) => tokenizer.isWithinLimit(text, limit, encoding)
    }, Files.optionsOf(config.file))
    const sessionId = row.id
    const publish = (event: MnesisEvent) => bus.publish(event)
    const systemTokens = count(row.systemPrompt)
    const ref = { store, sessionId }

    const compaction = yield* Scope.extend(
      compactor.forSession({
        sessionId,
        agent: row.agent,
        model: info,
        config,
        budget,
        contextSize: Effect.map(builder.size(ref), (items) => systemTokens + items + assemblyReserve(count)),
        contextItems: builder.items(ref),
        store,
        count,
        publish,
        invalidate: (ids) => builder.invalidate(ref, ids),
        messages: (ids) => builder.messages(ref, ids, count)
      }),
      scope
    )

    const turnEnv: TurnEnv = {
      sessionId,
      agent: row.agent,
      model: row.model,
      info,
      config,
      budget,
      store,
      provider: GenAiTelemetry.instrument(provider, { purpose: "turn", conversationId: sessionId, info }),
      builder,
      count,
      publish,
      recentCalls: yield* Ref.make<ReadonlyArray<string>>([])
    }

    return {
      ...init,
      sessionId,
      count,
      systemTokens,
      publish,
      bus,
      builder,
      compaction,
      usage: yield* Ref.make(row.tokens),
      turnEnv,
      files
    } satisfies SessionCore
  })
