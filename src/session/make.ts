/**
 * Building a `Session`: resolving its model, budget and store, wiring the compactor handle and
 * the event bus into the session's own scope, and serialising its turns.
 *
 * @internal
 */
import {
  Clock,
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Queue,
  Ref,
  Schema,
  Scope,
  Stream,
  Take
} from "effect"
import { Compactor } from "../Compactor.js"
import { makeBudget, mergeConfig, Settings } from "../Config.js"
import type { Budget, MnesisConfig } from "../Config.js"
import { partCost } from "../context/Render.js"
import { ContextBuilder } from "../ContextBuilder.js"
import { assemblyReserve } from "../ContextBuilder.js"
import type { Message, SessionId, SessionInfo } from "../Domain.js"
import { MESSAGE_OVERHEAD_TOKENS, TokenUsage } from "../Domain.js"
import { ContextOverflow, InvalidInput, SessionIsClosed } from "../Errors.js"
import { EventBus, MessageCreated, SessionClosed, SessionCreated } from "../Events.js"
import type { EventOf, EventTag, Handler, MnesisEvent, Subscription } from "../Events.js"
import { runCallback } from "../internal/callbacks.js"
import * as Ids from "../internal/ids.js"
import * as GenAiTelemetry from "../llm/shared/GenAiTelemetry.js"
import { LlmProvider } from "../LlmProvider.js"
import * as MemoryTools from "../MemoryTools.js"
import * as Metrics from "../Metrics.js"
import * as ModelRegistry from "../ModelRegistry.js"
import type {
  HistoryOptions,
  LoadOptions,
  MnesisError,
  OpenOptions,
  RecordResult,
  SendOptions,
  Session,
  StreamEvent,
  TurnResult
} from "../Session.js"
import * as Storage from "../Storage.js"
import { Tokenizer } from "../Tokenizer.js"
import type { Tool } from "../Tool.js"
import { TOOL_NAME } from "../Tool.js"
import { prepareParts, type StoredPart } from "./input.js"
import {
  decodeInput,
  LoadOptions as LoadOptionsInput,
  OpenOptions as OpenOptionsInput,
  RecordInput as RecordInputSchema,
  SendOptions as SendOptionsInput
} from "./options.js"
import { runTurn, type TurnEnv } from "./turn.js"

/** How long a turn waits for a slow `onPart` callback to catch up before returning. */
const CALLBACK_DRAIN_TIMEOUT = "5 seconds"

/** `history` pages by turn number: a count from 0, and a positive page size. */
const checkHistoryPage = (options: HistoryOptions): Effect.Effect<void, InvalidInput> => {
  const { afterTurn, limit } = options
  if (afterTurn !== undefined && !(Number.isSafeInteger(afterTurn) && afterTurn >= 0)) {
    return Effect.fail(new InvalidInput({ field: "afterTurn", reason: "must be a whole number ≥ 0" }))
  }
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    return Effect.fail(new InvalidInput({ field: "limit", reason: "must be a whole number ≥ 1" }))
  }
  return Effect.void
}

/** Whether the session offers the memory tools to the model (`true` or an options object). */
const offersMemoryTools = (memoryTools: OpenOptions["memoryTools"]) =>
  memoryTools !== undefined && memoryTools !== false

const validateTools = (
  tools: ReadonlyArray<Tool<unknown>>,
  memoryTools: OpenOptions["memoryTools"] = false
): Effect.Effect<void, InvalidInput> => {
  const seen = new Set<string>()
  for (const tool of tools) {
    if (offersMemoryTools(memoryTools) && MemoryTools.names.includes(tool.name)) {
      return Effect.fail(
        new InvalidInput({
          field: "tools",
          reason: `"${tool.name}" is one of the memory tools this session offers (memoryTools); ` +
            "rename your tool or open the session without memoryTools"
        })
      )
    }
    if (!TOOL_NAME.test(tool.name)) {
      return Effect.fail(
        new InvalidInput({
          field: "tools",
          reason: `"${tool.name}" is not a valid tool name (letters, digits, _ and -, up to 64)`
        })
      )
    }
    if (seen.has(tool.name)) {
      return Effect.fail(new InvalidInput({ field: "tools", reason: `two tools are named "${tool.name}"` }))
    }
    seen.add(tool.name)
  }
  return Effect.void
}

interface Init {
  readonly row: SessionInfo
  readonly config: MnesisConfig
  readonly info: ModelRegistry.ModelInfo
  readonly budget: Budget
  readonly store: Storage.Service
  readonly scope: Scope.CloseableScope
  readonly tools: ReadonlyArray<Tool>
  readonly memoryTools: OpenOptions["memoryTools"]
  readonly created: boolean
}

/** The session's store: the layer's, or its own when `storage` is given (kept open for the session). */
const storeFor = (storage: LoadOptions["storage"], scope: Scope.Scope) =>
  storage === undefined
    ? Storage.Storage
    : Effect.map(Layer.buildWithScope(storage, scope), (context) => Context.get(context, Storage.Storage))

/** Runs `effect` with a fresh session scope that is closed if `effect` fails. */
const withSessionScope = <A, E, R>(effect: (scope: Scope.CloseableScope) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    Scope.make(),
    (scope) => Effect.onError(effect(scope), (cause) => Scope.close(scope, Exit.failCause(cause)))
  )

/** The model's limits and the budget they leave under `config` (a `ConfigError` if none). */
const resolveModel = (model: string, config: MnesisConfig) =>
  Effect.gen(function*() {
    const info = yield* ModelRegistry.lookup(model, config.modelOverrides)
    return { info, budget: yield* makeBudget(info, config) }
  })

/**
 * What `create` and `load` share: merge the configuration, check the tools, find the store, then
 * get the session's row (a new one, or the stored one) and assemble the session around it. A new
 * session's model is resolved before its row is written, so a create that fails stores nothing.
 */
const start = <E>(
  options: LoadOptions,
  newModel: string | undefined,
  sessionRow: (store: Storage.Service) => Effect.Effect<SessionInfo, E>
) =>
  withSessionScope((scope) =>
    Effect.gen(function*() {
      const config = yield* mergeConfig(yield* Settings, options.config ?? {})
      const tools = options.tools ?? []
      yield* validateTools(tools, options.memoryTools)
      const resolved = newModel === undefined ? undefined : yield* resolveModel(newModel, config)
      const store = yield* storeFor(options.storage, scope)
      const row = yield* sessionRow(store)
      const { budget, info } = resolved ?? (yield* resolveModel(row.model, config))
      return yield* assemble({
        row,
        config,
        info,
        budget,
        store,
        scope,
        tools,
        memoryTools: options.memoryTools,
        created: newModel !== undefined
      })
    })
  )

export const create = (options: OpenOptions) =>
  Effect.flatMap(
    decodeInput(OpenOptionsInput, "options")(options),
    () =>
      start(options, options.model, (store) =>
        Effect.gen(function*() {
          return yield* store.createSession({
            id: yield* Ids.sessionId,
            parentId: options.parentId,
            model: options.model,
            agent: options.agent ?? "default",
            systemPrompt: options.systemPrompt ?? "You are a helpful assistant.",
            metadata: options.metadata,
            createdAt: yield* Clock.currentTimeMillis
          })
        }))
  )

export const open = (options: OpenOptions) =>
  Effect.gen(function*() {
    const session = yield* create(options)
    yield* Effect.addFinalizer(() => session.close)
    return session
  })

export const load = (id: SessionId | string, options: LoadOptions) =>
  Effect.flatMap(
    Effect.all([decodeInput(Schema.String, "id")(id), decodeInput(LoadOptionsInput, "options")(options)]),
    () => start(options, undefined, (store) => store.getSession(id as SessionId))
  )

export const loadScoped = (id: SessionId | string, options: LoadOptions) =>
  Effect.gen(function*() {
    const session = yield* load(id, options)
    yield* Effect.addFinalizer(() => session.close)
    return session
  })

const assemble = (init: Init) =>
  Effect.gen(function*() {
    const { budget, config, info, row, scope, store } = init
    const tokenizer = yield* Tokenizer
    const provider = yield* LlmProvider
    const bus = yield* EventBus
    const builder = yield* ContextBuilder
    const compactor = yield* Compactor
    const count = (text: string) => tokenizer.countFor(text, info)
    const sessionId = row.id
    const publish = (event: MnesisEvent) => bus.publish(event)

    const systemTokens = count(row.systemPrompt)
    const contextSize = Effect.map(
      builder.size({ store, sessionId }),
      (items) => systemTokens + items + assemblyReserve(count)
    )
    const handle = yield* Scope.extend(
      compactor.forSession({
        sessionId,
        agent: row.agent,
        model: info,
        config,
        budget,
        contextSize,
        contextItems: builder.items({ store, sessionId }),
        store,
        count,
        publish,
        invalidate: (ids) => builder.invalidate({ store, sessionId }, ids),
        messages: (ids) => builder.messages({ store, sessionId }, ids, count)
      }),
      scope
    )

    // The memory tools read this session, and its relatives when asked to.
    const related = typeof init.memoryTools === "object" && init.memoryTools.relatedSessions === true
    const sessionIds: Array<SessionId> = [sessionId]
    if (related) {
      if (row.parentId !== undefined) sessionIds.push(row.parentId)
      for (const child of yield* store.listSessions({ parentId: sessionId, limit: 1_000 })) {
        sessionIds.push(child.id)
      }
    }
    const memory: MemoryTools.MemoryScope = {
      store,
      sessionId,
      sessionIds,
      count,
      contextItems: builder.items({ store, sessionId })
    }
    const sessionTools: ReadonlyArray<Tool> = offersMemoryTools(init.memoryTools)
      ? [...init.tools, ...MemoryTools.tools(memory)]
      : init.tools

    const trackTurn = yield* Metrics.trackTurns(sessionId, row.model)
    const turnLock = yield* Effect.makeSemaphore(1)
    const closed = yield* Ref.make(false)
    const usage = yield* Ref.make(row.tokens)
    const subscriptions = yield* Ref.make<ReadonlyArray<Subscription>>([])
    const env: TurnEnv = {
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

    const created = new SessionCreated({
      sessionId,
      at: row.createdAt,
      model: row.model,
      ...(row.parentId === undefined ? {} : { parentId: row.parentId })
    })
    if (init.created) yield* publish(created)

    /** Runs `effect` unless the session is closed (its store may be closed with it). */
    const whileOpen = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SessionIsClosed, R> =>
      Effect.flatMap(Ref.get(closed), (isClosed): Effect.Effect<A, E | SessionIsClosed, R> =>
        isClosed ? Effect.fail(new SessionIsClosed({ sessionId })) : effect)

    /** `whileOpen`, one at a time: turns of a session run in call order. */
    const guarded = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SessionIsClosed, R> =>
      whileOpen(turnLock.withPermits(1)(effect))

    const messageCreated = (messageId: TurnResult["messageId"], role: "user" | "assistant", at: number) =>
      publish(
        new MessageCreated({ sessionId, at, messageId, role, isSummary: false }, { disableValidation: true })
      )

    /** Fails with `ContextOverflow` when a message could never fit in a context on its own. */
    const checkFits = (parts: ReadonlyArray<{ readonly tokenCount: number }>, systemPrompt: string) => {
      const needed = parts.reduce((sum, part) =>
        sum + part.tokenCount, MESSAGE_OVERHEAD_TOKENS)
      const promptTokens = systemPrompt === row.systemPrompt ? systemTokens : count(systemPrompt)
      const available = budget.usable - promptTokens - assemblyReserve(count)
      return needed > available ? Effect.fail(new ContextOverflow({ needed, available })) : Effect.void
    }

    /** Stores a user message whose parts were checked, and announces it. */
    const appendUserMessage = (parts: ReadonlyArray<StoredPart>) =>
      Effect.gen(function*() {
        const stored = yield* store.appendMessage({
          id: yield* Ids.messageId,
          sessionId,
          role: "user",
          agent: row.agent,
          model: row.model,
          createdAt: yield* Clock.currentTimeMillis,
          parts
        })
        yield* messageCreated(stored.id, "user", stored.createdAt)
        yield* builder.prime({ store, sessionId }, [stored], count)
        return stored
      })

    /** The user message of a turn, checked against the budget before anything is stored. */
    const storeUserMessage = (message: Parameters<Session["send"]>[0], systemPrompt: string) =>
      Effect.gen(function*() {
        const parts = yield* prepareParts("message", message, count, { allowTools: false })
        yield* checkFits(parts, systemPrompt)
        return yield* appendUserMessage(parts)
      })

    const turn = <R>(
      message: Parameters<Session["send"]>[0],
      options: Omit<SendOptions<R>, "onPart">,
      emit: (event: StreamEvent) => Effect.Effect<void>
    ): Effect.Effect<TurnResult, MnesisError, R> =>
      guarded(trackTurn(Effect.gen(function*() {
        const tools = [...sessionTools, ...(options.tools ?? [])]
        yield* validateTools(tools)
        const systemPrompt = options.systemPrompt ?? row.systemPrompt
        yield* storeUserMessage(message, systemPrompt)
        const waited = yield* handle.beforeTurn
        const compactionResult = Option.isSome(waited) ? { compactionResult: waited.value } : {}
        const outcome = yield* runTurn(env, {
          systemPrompt,
          tools,
          maxSteps: options.maxSteps ?? config.session.maxSteps,
          emit,
          snapshotFor: ({ context, messageId, messageTokens }) =>
            Effect.gen(function*() {
              const size = systemTokens + context.contextTokens + messageTokens + assemblyReserve(count)
              return {
                messageId,
                context: context.breakdown,
                compactionTriggered: yield* handle.afterTurn(size, messageTokens),
                ...compactionResult,
                createdAt: yield* Clock.currentTimeMillis
              }
            })
        })
        yield* Ref.update(usage, (total) =>
          TokenUsage.add(total, outcome.tokens))
        let compactionTriggered: boolean
        if (outcome.snapshot === undefined) {
          // The turn ended after tools ran (host tools, max steps, doom loop): snapshot it now.
          compactionTriggered = yield* handle.afterTurn()
          yield* store.appendSnapshot(sessionId, {
            messageId: outcome.messageId,
            context: outcome.context.breakdown,
            compactionTriggered,
            ...compactionResult,
            createdAt: yield* Clock.currentTimeMillis
          })
        } else {
          compactionTriggered = outcome.snapshot.compactionTriggered
        }
        const { context: _context, snapshot: _snapshot, ...result } = outcome
        return {
          ...result,
          context: outcome.context.breakdown,
          compactionTriggered,
          ...(Option.isSome(waited) ? { compactionResult: waited.value } : {})
        } satisfies TurnResult
      }))).pipe(Effect.withSpan("Session.send", { attributes: { sessionId }, captureStackTrace: false }))

    const decodeSendOptions = decodeInput(SendOptionsInput, "options")

    const send: Session["send"] = (message, options = {}) =>
      Effect.flatMap(decodeSendOptions(options), () => sendChecked(message, options))

    /** `send` with options of the right shape. */
    const sendChecked: Session["send"] = (message, options = {}) => {
      const onPart = options.onPart
      if (onPart === undefined) return turn(message, options, () => Effect.void)
      // Deliver events from a queue in another fiber: a slow callback never holds the stream.
      return Effect.gen(function*() {
        type Item = { readonly event: StreamEvent } | { readonly flushed: Deferred.Deferred<void> }
        const queue = yield* Queue.unbounded<Item>()
        const consumer = yield* Queue.take(queue).pipe(
          Effect.flatMap((item) =>
            "flushed" in item
              ? Deferred.succeed(item.flushed, undefined)
              : runCallback(onPart, item.event, "the onPart callback")
          ),
          Effect.forever,
          Effect.fork
        )
        const drain = Effect.gen(function*() {
          const flushed = yield* Deferred.make<void>()
          yield* Queue.offer(queue, { flushed })
          yield* Deferred.await(flushed).pipe(Effect.timeout(CALLBACK_DRAIN_TIMEOUT), Effect.ignore)
          yield* Fiber.interrupt(consumer)
        })
        // Deliver what the turn produced (also when it failed); an interrupted turn stops at once.
        return yield* turn(message, options, (event) => Queue.offer(queue, { event })).pipe(
          Effect.onExit((exit) => Exit.isInterrupted(exit) ? Fiber.interrupt(consumer) : drain)
        )
      })
    }

    const stream: Session["stream"] = (message, options = {}) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        yield* decodeSendOptions(options)
        const queue = yield* Queue.unbounded<Take.Take<StreamEvent, MnesisError>>()
        yield* turn(message, options, (event) => Queue.offer(queue, Take.of(event))).pipe(
          Effect.matchCauseEffect({
            onFailure: (cause) => Queue.offer(queue, Take.failCause(cause)),
            onSuccess: (result) =>
              Queue.offerAll(queue, [Take.of({ type: "turn_complete", result }), Take.end])
          }),
          Effect.forkScoped
        )
        return Stream.flattenTake(Stream.fromQueue(queue))
      }))

    /**
     * The updates that store the results of tool calls the host ran. Every result is checked
     * first (nothing is written here), so a call refused for one bad id stores nothing and can be
     * retried as a whole.
     */
    const toolResultUpdates = (results: NonNullable<RecordInputSchema["toolResults"]>) =>
      Effect.gen(function*() {
        const refuse = (reason: string) => new InvalidInput({ field: "toolResults", reason })
        const seen = new Set<string>()
        const calls = yield* Effect.forEach(results, (result) =>
          Effect.gen(function*() {
            if (seen.has(result.toolCallId)) {
              return yield* refuse(`tool call "${result.toolCallId}" has two results in this call`)
            }
            seen.add(result.toolCallId)
            const message = yield* store.findToolCall(sessionId, result.toolCallId)
            const part = message?.parts.find((p) => p.type === "tool" && p.toolCallId === result.toolCallId)
            if (message === undefined || part === undefined || part.type !== "tool") {
              return yield* refuse(`no tool call "${result.toolCallId}" in this session`)
            }
            if (part.status === "completed" || part.status === "error") {
              return yield* refuse(`tool call "${result.toolCallId}" already has a result`)
            }
            return { result, message, part }
          }))
        const at = yield* Clock.currentTimeMillis
        return {
          messageIds: [...new Set(calls.map(({ message }) => message.id))],
          updates: calls.map(({ part, result }) => {
            const output = result.output?.toWellFormed()
            const error = output === undefined
              ? (result.error ?? "the tool returned no result").toWellFormed()
              : undefined
            const status = output === undefined ? "error" as const : "completed" as const
            const tokenCount = partCost({ ...part, status, output, error }, count)
            return { id: part.id, update: { status, output, error, completedAt: at, tokenCount } }
          })
        }
      })

    /** What a message costs in the context: its parts and its framing. */
    const itemTokens = (parts: ReadonlyArray<StoredPart>) =>
      parts.reduce((sum, part) => sum + part.tokenCount, MESSAGE_OVERHEAD_TOKENS)

    /**
     * The context a recorded reply answered, by kind: the context before this exchange plus its
     * user message. (Like `send`'s snapshots; measured before writing, so the snapshot is written
     * with the exchange, and without the trimming of old items a full context would get.)
     */
    const answeredContext = (userTokens: number) =>
      builder.build({ store, sessionId, systemPrompt: row.systemPrompt, budget, count }).pipe(
        Effect.map(({ breakdown }) => ({
          ...breakdown,
          messages: breakdown.messages + userTokens,
          total: breakdown.total + userTokens
        })),
        Effect.catchTag("ContextOverflow", (overflow) =>
          Effect.succeed({
            system: 0,
            summaries: 0,
            messages: overflow.needed + userTokens,
            toolOutputs: 0,
            total: overflow.needed + userTokens
          }))
      )

    /**
     * One exchange, one transaction: the tool results, the user message and the reply (with its
     * turn snapshot) are written together, so no other writer's message lands between question
     * and answer, and a failure leaves none of them.
     */
    const record: Session["record"] = (raw) =>
      guarded(Effect.gen(function*() {
        const input = yield* decodeInput(RecordInputSchema, "record")(raw)
        if (
          input.user === undefined && input.assistant === undefined && (input.toolResults ?? []).length === 0
        ) {
          return yield* new InvalidInput({
            field: "record",
            reason: "needs a user message, an assistant reply or tool results"
          })
        }
        const userParts = input.user === undefined
          ? undefined
          : yield* prepareParts("user", input.user, count, { allowTools: false })
        const assistantParts = input.assistant === undefined
          ? undefined
          : yield* prepareParts("assistant", input.assistant, count, { allowTools: true, allowEmpty: true })
        // Like `send`: a message no context could hold is refused before anything is stored.
        if (userParts !== undefined) yield* checkFits(userParts, row.systemPrompt)
        if (assistantParts !== undefined) yield* checkFits(assistantParts, row.systemPrompt)
        const results = input.toolResults === undefined
          ? { messageIds: [], updates: [] }
          : yield* toolResultUpdates(input.toolResults)

        const createdAt = yield* Clock.currentTimeMillis
        const common = { sessionId, agent: row.agent, model: row.model, createdAt }
        const messages: Array<Storage.NewMessage> = []
        if (userParts !== undefined) {
          messages.push({ ...common, id: yield* Ids.messageId, role: "user", parts: userParts })
        }
        let tokens = TokenUsage.zero
        let compactionTriggered = false
        if (assistantParts !== undefined) {
          const userTokens = userParts === undefined ? 0 : itemTokens(userParts)
          const replyTokens = itemTokens(assistantParts)
          const before = yield* builder.size({ store, sessionId })
          // Counted usage mirrors what a provider reports: the whole prompt in, the reply out.
          tokens = input.tokens === undefined
            ? TokenUsage.of({
              input: systemTokens + before + userTokens,
              output: assistantParts.reduce((sum, part) => sum + part.tokenCount, 0)
            })
            : TokenUsage.of(input.tokens)
          const context = yield* answeredContext(userTokens)
          // As `send` does: the round, if one starts, is told what this exchange will add.
          const added = userTokens + replyTokens
          compactionTriggered = yield* handle.afterTurn(
            systemTokens + before + added + assemblyReserve(count),
            added
          )
          const id = yield* Ids.messageId
          messages.push({
            ...common,
            id,
            role: "assistant",
            parts: assistantParts,
            tokens,
            cost: ModelRegistry.costOf(tokens, info),
            finishReason: input.finishReason ?? "stop",
            snapshot: { messageId: id, context, compactionTriggered, createdAt }
          })
        }
        const written = yield* store.appendMessages(messages, results.updates)
        if (results.messageIds.length > 0) yield* builder.invalidate({ store, sessionId }, results.messageIds)
        yield* builder.prime({ store, sessionId }, written, count)
        for (const message of written) yield* messageCreated(message.id, message.role, message.createdAt)
        if (assistantParts === undefined) compactionTriggered = yield* handle.afterTurn()
        else yield* Ref.update(usage, (total) => TokenUsage.add(total, tokens))
        const user = written.find((message) => message.role === "user")
        const assistant = written.find((message) => message.role === "assistant")
        return {
          ...(user === undefined ? {} : { userMessageId: user.id }),
          ...(assistant === undefined ? {} : { assistantMessageId: assistant.id }),
          tokens,
          compactionTriggered
        } satisfies RecordResult
      })).pipe(Effect.withSpan("Session.record", { attributes: { sessionId }, captureStackTrace: false }))

    const contextForNextTurn: Session["contextForNextTurn"] = (options = {}) =>
      guarded(Effect.gen(function*() {
        yield* handle.beforeTurn
        return yield* builder.build({
          store,
          sessionId,
          systemPrompt: options.systemPrompt ?? row.systemPrompt,
          budget,
          count
        })
      }))

    const messages: Session["messages"] = (options = {}) =>
      whileOpen(Effect.gen(function*() {
        const all: Array<Message> = []
        let after = 0
        for (;;) {
          const page = yield* store.history(sessionId, {
            afterSeq: after,
            limit: 1_000,
            includeSummaries: options.includeSummaries ?? true
          })
          all.push(...page)
          if (page.length < 1_000) return all
          after = page[page.length - 1]!.seq
        }
      }))

    const subscribe: Session["subscribe"] = <T extends EventTag | "*">(
      tag: T,
      handler: Handler<EventOf<T>>
    ) =>
      Effect.gen(function*() {
        if (init.created && (tag === "*" || tag === "SessionCreated")) {
          // The session's creation happened before anyone could subscribe: replay it.
          yield* runCallback(handler, created as EventOf<T>, "the handler of SessionCreated events")
        }
        const subscription = yield* Scope.extend(
          bus.subscribe(tag, handler, {
            filter: (event) => event.sessionId === sessionId,
            until: (event) => event.sessionId === sessionId && event._tag === "SessionClosed"
          }),
          scope
        )
        yield* Ref.update(subscriptions, (all) => [...all, subscription])
        return subscription.unsubscribe
      })

    const events: Session["events"] = Stream.concat(
      init.created ? Stream.make<Array<MnesisEvent>>(created) : Stream.empty,
      bus.events.pipe(
        Stream.filter((event) => event.sessionId === sessionId),
        Stream.takeUntil((event) => event._tag === "SessionClosed")
      )
    )

    // Not serialised with turns: a manual round runs beside a turn, or joins the one in flight.
    const compact: Session["compact"] = () => whileOpen(handle.compact)

    const close: Session["close"] = Effect.gen(function*() {
      if (yield* Ref.getAndSet(closed, true)) return
      // Let an in-flight turn finish, then background compaction, each up to the deadline.
      yield* turnLock.withPermits(1)(Effect.void).pipe(
        Effect.timeout(config.session.closeTimeout),
        Effect.ignore
      )
      yield* handle.shutdown(config.session.closeTimeout)
      yield* publish(new SessionClosed({ sessionId, at: yield* Clock.currentTimeMillis }))
      // Subscribers end on SessionClosed; give them the same deadline to get there.
      yield* Effect.forEach(yield* Ref.get(subscriptions), (s) => s.done, { discard: true }).pipe(
        Effect.timeout(config.session.closeTimeout),
        Effect.ignore
      )
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.withSpan("Session.close", { attributes: { sessionId } }))

    return {
      id: sessionId,
      model: row.model,
      systemPrompt: row.systemPrompt,
      send,
      stream,
      record,
      contextForNextTurn,
      messages,
      history: (options = {}) =>
        whileOpen(Effect.flatMap(checkHistoryPage(options), () => store.snapshots(sessionId, options))),
      compact,
      grep: (input) => whileOpen(MemoryTools.grep(memory, input)),
      describe: (input) => whileOpen(MemoryTools.describe(memory, input)),
      expand: (input) => whileOpen(MemoryTools.expand(memory, input)),
      tokenUsage: Ref.get(usage),
      compactionInProgress: handle.inProgress,
      awaitCompaction: handle.awaitIdle,
      events,
      subscribe,
      close
    } satisfies Session
  })
