/**
 * One managed turn: the user message is stored before anything else, then the tool loop runs —
 * build the context, stream the model's answer live, store the step, run the tools the model
 * asked for, repeat — until the model stops, `maxSteps` is reached, a tool needs the host, or a
 * doom loop is stopped.
 *
 * Each step is stored before the next provider call, so a crash loses at most the step in flight.
 * An assistant message is stored only from a complete provider response; a provider failure
 * (after retries) stores an error row that never enters the context, and fails the turn.
 *
 * @internal
 */
import { Clock, Duration, Effect, Option, Ref } from "effect"
import type { Budget, MnesisConfig } from "../Config.js"
import type { Count } from "../context/Render.js"
import { partCost } from "../context/Render.js"
import type { BuiltContext, Service as ContextBuilderService } from "../ContextBuilder.js"
import type { FinishReason, Message, Part, PartBody, SessionId, ToolPart } from "../Domain.js"
import { MESSAGE_OVERHEAD_TOKENS, TokenUsage } from "../Domain.js"
import type { ContextOverflow, SessionNotFound } from "../Errors.js"
import type { MnesisEvent } from "../Events.js"
import { DoomLoopDetected, LlmRetry, MessageCreated, PartUpdated } from "../Events.js"
import * as Ids from "../internal/ids.js"
import * as Retry from "../llm/Retry.js"
import * as ResponseFold from "../llm/shared/ResponseFold.js"
import type {
  LlmEvent,
  LlmFailure,
  LlmRequest,
  LlmResponse,
  Service as Provider,
  ToolCall
} from "../LlmProvider.js"
import type { ModelInfo } from "../ModelRegistry.js"
import { costOf } from "../ModelRegistry.js"
import type { StreamEvent, TurnResult } from "../Session.js"
import type * as Storage from "../Storage.js"
import type { Tool } from "../Tool.js"
import { definition } from "../Tool.js"

/** What a turn needs from its session. */
export interface TurnEnv {
  readonly sessionId: SessionId
  readonly agent: string
  readonly model: string
  readonly info: ModelInfo
  readonly config: MnesisConfig
  readonly budget: Budget
  readonly store: Storage.Service
  readonly provider: Provider
  readonly builder: ContextBuilderService
  readonly count: Count
  readonly publish: (event: MnesisEvent) => Effect.Effect<void>
  /** Signatures of the latest tool calls, newest last (doom-loop detection spans turns). */
  readonly recentCalls: Ref.Ref<ReadonlyArray<string>>
}

export interface TurnOptions<R> {
  readonly systemPrompt: string
  readonly tools: ReadonlyArray<Tool<R>>
  readonly maxSteps: number
  readonly emit: (event: StreamEvent) => Effect.Effect<void>
  /**
   * The snapshot of a turn that ends with this step (a reply without tool calls), written with
   * the step's message in one transaction. Given the context the step was built from and the
   * message's cost in the context.
   */
  readonly snapshotFor: (
    step: {
      readonly context: BuiltContext
      readonly messageId: Message["id"]
      readonly messageTokens: number
    }
  ) => Effect.Effect<Storage.NewTurnSnapshot>
}

export type TurnFailure = LlmFailure | ContextOverflow | Storage.StoreFailure | SessionNotFound

/** What the loop hands back; the session adds compaction flags and the snapshot. */
export interface TurnOutcome
  extends Omit<TurnResult, "compactionTriggered" | "compactionResult" | "context">
{
  /** The context sent with the last provider call. */
  readonly context: BuiltContext
  /** The turn's snapshot, when the final step stored it. */
  readonly snapshot?: Storage.NewTurnSnapshot | undefined
}

/** A stable text for a tool input, so equal inputs compare equal whatever their key order. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

const now = Clock.currentTimeMillis

/** Streams one provider call into a response, emitting deltas live; retried on transient errors. */
const callModel = (env: TurnEnv, request: LlmRequest, emit: TurnOptions<unknown>["emit"]) => {
  // Each event reaches the caller live (empty reasoning deltas aside) before it is folded.
  const live = (event: LlmEvent): Effect.Effect<void> => {
    switch (event.type) {
      case "text_delta":
        return emit({ type: "text_delta", text: event.text })
      case "reasoning_delta":
        return event.text === "" ? Effect.void : emit({ type: "reasoning_delta", text: event.text })
      case "tool_call":
        return emit({ type: "tool_call", id: event.id, name: event.name, input: event.input })
      case "usage":
      case "finish":
        return Effect.void
    }
  }
  const attempt = ResponseFold.collect(env.info.provider, env.provider.stream(request), live)
  return Retry.retry(attempt, {
    config: env.config.session.retry,
    onRetry: (info) =>
      Effect.gen(function*() {
        const delayMs = Math.round(Duration.toMillis(info.delay))
        yield* env.publish(
          new LlmRetry({
            sessionId: env.sessionId,
            at: yield* now,
            attempt: info.attempt,
            maxRetries: info.maxRetries,
            errorTag: info.error._tag,
            error: info.error.message,
            delayMs
          })
        )
        yield* emit({ type: "retry", attempt: info.attempt, delayMs, error: info.error.message })
      })
  })
}

/** Stores a failed turn's marker: out of every context, with what went wrong. */
const storeFailure = (env: TurnEnv, error: LlmFailure) =>
  Effect.gen(function*() {
    yield* env.store.appendMessage({
      id: yield* Ids.messageId,
      sessionId: env.sessionId,
      role: "assistant",
      agent: env.agent,
      model: env.model,
      createdAt: yield* now,
      parts: [],
      finishReason: "error",
      error: { tag: error._tag, message: error.message },
      inContext: false
    })
  }).pipe(
    // The turn's own failure is what the caller gets; losing its marker is worth a warning, not a second error.
    Effect.catchAllCause((cause) =>
      Effect.logWarning(
        "the failed turn's marker could not be stored; the turn's failure is still returned",
        cause
      )
    )
  )

/** The parts of one step, as stored: reasoning, text, then one tool part per call. */
const stepParts = (response: LlmResponse, count: Count) =>
  Effect.gen(function*() {
    const bodies: Array<PartBody> = []
    if (response.reasoning !== "") {
      bodies.push(
        response.signature === undefined
          ? { type: "reasoning", text: response.reasoning }
          : { type: "reasoning", text: response.reasoning, signature: response.signature }
      )
    }
    if (response.text !== "") bodies.push({ type: "text", text: response.text })
    for (const call of response.toolCalls) {
      bodies.push(
        call.inputError === undefined
          ? { type: "tool", toolName: call.name, toolCallId: call.id, input: call.input, status: "pending" }
          : {
            type: "tool",
            toolName: call.name,
            toolCallId: call.id,
            input: call.input,
            status: "error",
            error:
              `the tool input was not valid JSON (${call.inputError}); send the call again with valid JSON`
          }
      )
    }
    return yield* Effect.forEach(bodies, (body) =>
      // Bodies built here are never compaction markers or tombstoned: they are storable parts.
      Effect.map(Ids.partId, (id) => ({ ...body, id, tokenCount: partCost(body, count) })))
  })

/** Runs one tool call: running → completed | error, each change stored and published. */
const runTool = <R>(
  env: TurnEnv,
  message: Message,
  part: ToolPart,
  execute: (input: unknown) => Effect.Effect<string, { readonly message: string }, R>,
  emit: TurnOptions<R>["emit"]
) =>
  Effect.gen(function*() {
    const startedAt = yield* now
    const update = (status: ToolPart["status"], at: number) =>
      env.publish(
        new PartUpdated({
          sessionId: env.sessionId,
          at,
          messageId: message.id,
          partId: part.id,
          toolName: part.toolName,
          status
        }, { disableValidation: true })
      )
    yield* env.store.updateToolPart(part.id, { status: "running", startedAt, tokenCount: part.tokenCount })
    yield* update("running", startedAt)
    const result = yield* Effect.either(execute(part.input))
    const completedAt = yield* now
    const done: ToolPart = result._tag === "Right"
      ? { ...part, status: "completed", output: result.right.toWellFormed(), startedAt, completedAt }
      : { ...part, status: "error", error: result.left.message.toWellFormed(), startedAt, completedAt }
    const tokenCount = partCost(done, env.count)
    yield* env.store.updateToolPart(part.id, {
      status: done.status,
      output: done.output,
      error: done.error,
      completedAt,
      tokenCount
    })
    yield* env.builder.invalidate(env, [message.id])
    yield* update(done.status, completedAt)
    yield* emit({
      type: "tool_result",
      id: part.toolCallId,
      name: part.toolName,
      output: done.output,
      error: done.error
    })
    return { ...done, tokenCount }
  })

/** The model called a tool this turn does not offer: it gets an error result naming the tools it has. */
const unknownTool = (name: string, known: ReadonlyArray<string>) => () =>
  Effect.fail({
    message: `there is no tool named "${name}"; available tools: ${
      known.length === 0 ? "none" : known.join(", ")
    }`
  })

/** Records the calls for doom-loop detection; returns the repeated tool when the threshold is hit. */
const checkDoomLoop = (env: TurnEnv, calls: ReadonlyArray<ToolCall>) =>
  Effect.gen(function*() {
    const threshold = env.config.session.doomLoopThreshold
    let detected: Option.Option<string> = Option.none()
    for (const call of calls) {
      const signature = `${call.name}\u0000${canonicalJson(call.input)}`
      const recent = yield* Ref.updateAndGet(
        env.recentCalls,
        (all) => [...all.slice(-(threshold - 1)), signature]
      )
      if (recent.length >= threshold && recent.every((s) => s === signature)) {
        detected = Option.some(call.name)
      }
    }
    return detected
  })

/**
 * Runs the tool loop for a user message already stored. Fails with the provider's typed error
 * (after storing the error row), or with `ContextOverflow` when the turn no longer fits.
 */
export const runTurn = <R>(env: TurnEnv, options: TurnOptions<R>) =>
  Effect.gen(function*() {
    const tools = new Map(options.tools.map((tool) => [tool.name, tool]))
    const definitions = options.tools.map((tool) => definition(tool as Tool<unknown>))
    const parts: Array<Part> = []
    let tokens = TokenUsage.zero
    let cost = 0
    let doomLoopDetected = false
    let pending: Array<ToolCall> = []
    for (let step = 1;; step++) {
      const context = yield* env.builder.build({
        store: env.store,
        sessionId: env.sessionId,
        systemPrompt: options.systemPrompt,
        budget: env.budget,
        count: env.count
      })
      if (step > 1) yield* options.emit({ type: "step", step })
      const request: LlmRequest = {
        model: env.model,
        system: context.system,
        messages: context.messages,
        tools: definitions.length === 0 ? undefined : definitions,
        maxTokens: env.info.maxOutputTokens
      }
      const response = yield* callModel(env, request, options.emit).pipe(
        Effect.tapError((error) => storeFailure(env, error))
      )
      const stepCost = costOf(response.usage, env.info)
      const messageId = yield* Ids.messageId
      const stepPartsList = yield* stepParts(response, env.count)
      // A reply without tool calls ends the turn: its snapshot is stored with it.
      const snapshot = response.toolCalls.length === 0
        ? yield* options.snapshotFor({
          context,
          messageId,
          messageTokens: stepPartsList.reduce((sum, part) => sum + part.tokenCount, MESSAGE_OVERHEAD_TOKENS)
        })
        : undefined
      const message = yield* env.store.appendMessage({
        id: messageId,
        sessionId: env.sessionId,
        role: "assistant",
        agent: env.agent,
        model: env.model,
        createdAt: yield* now,
        parts: stepPartsList,
        tokens: response.usage,
        cost: stepCost,
        finishReason: response.finishReason,
        snapshot
      })
      yield* env.builder.prime(env, [message], env.count)
      yield* env.publish(
        new MessageCreated({
          sessionId: env.sessionId,
          at: message.createdAt,
          messageId: message.id,
          role: "assistant",
          isSummary: false
        }, { disableValidation: true })
      )
      tokens = TokenUsage.add(tokens, response.usage)
      cost += stepCost
      const outcome = (finishReason: FinishReason): TurnOutcome => ({
        messageId: message.id,
        text: message.text,
        parts: [...parts],
        tokens,
        finishReason,
        cost,
        doomLoopDetected,
        steps: step,
        pendingToolCalls: pending,
        context,
        snapshot
      })

      const calls = message.parts.filter((p): p is ToolPart => p.type === "tool")
      const executeOf = (part: ToolPart) => {
        if (part.status !== "pending") return undefined
        const tool = tools.get(part.toolName)
        if (tool === undefined) return unknownTool(part.toolName, [...tools.keys()])
        return tool.execute
      }
      const runnable = calls.flatMap((part) => {
        const execute = executeOf(part)
        return execute === undefined ? [] : [{ part, execute }]
      })
      const results = yield* Effect.forEach(
        runnable,
        ({ execute, part }) => runTool(env, message, part, execute, options.emit),
        { concurrency: env.config.session.toolConcurrency }
      )
      const finished = new Map(results.map((part) => [part.id, part]))
      parts.push(...message.parts.map((part) => finished.get(part.id) ?? part))

      if (calls.length === 0) return outcome(response.finishReason)
      const doomed = yield* checkDoomLoop(env, response.toolCalls)
      if (Option.isSome(doomed)) {
        doomLoopDetected = true
        yield* env.publish(
          new DoomLoopDetected({
            sessionId: env.sessionId,
            at: yield* now,
            toolName: doomed.value,
            repeats: env.config.session.doomLoopThreshold
          })
        )
        yield* Effect.logWarning(`doom loop: "${doomed.value}" was called with the same input repeatedly`)
          .pipe(
            Effect.annotateLogs({ sessionId: env.sessionId })
          )
      }
      // Calls to tools the host executes end the turn: the host records their results.
      pending = response.toolCalls.filter((call) =>
        call.inputError === undefined && tools.has(call.name) && tools.get(call.name)?.execute === undefined
      )
      if (pending.length > 0) return outcome("tool_calls")
      if (doomLoopDetected && env.config.session.doomLoopAction === "stop") return outcome("tool_calls")
      if (step >= options.maxSteps) return outcome("max_steps")
    }
  })
