/**
 * Building a `Session`: resolving its model, budget and store, wiring the compactor handle and
 * the event bus into the session's own scope, and serialising its turns.
 *
 * @internal
 */
import {
  Clock,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Option,
  Queue,
  Ref,
  Scope,
  Stream,
  Take
} from "effect"
import { Compactor } from "../Compactor.js"
import { makeBudget, mergeConfig, Settings } from "../Config.js"
import type { MnesisConfig } from "../Config.js"
import { partCost } from "../context/Render.js"
import { ContextBuilder } from "../ContextBuilder.js"
import { assemblyReserve } from "../ContextBuilder.js"
import type { Message, Session as StoredSession, SessionId } from "../Domain.js"
import { MESSAGE_OVERHEAD_TOKENS, TokenUsage } from "../Domain.js"
import { ContextOverflow, InvalidInput, SessionIsClosed } from "../Errors.js"
import { EventBus, MessageCreated, SessionClosed, SessionCreated } from "../Events.js"
import type { EventOf, EventTag, Handler, MnesisEvent, Subscription } from "../Events.js"
import { runCallback } from "../internal/callbacks.js"
import * as Ids from "../internal/ids.js"
import { LlmProvider } from "../LlmProvider.js"
import * as MemoryTools from "../MemoryTools.js"
import * as ModelRegistry from "../ModelRegistry.js"
import type {
  HistoryOptions,
  LoadOptions,
  MnesisError,
  OpenOptions,
  RecordInput,
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
  readonly row: StoredSession
  readonly config: MnesisConfig
  readonly store: Storage.Service
  readonly scope: Scope.CloseableScope
  readonly tools: ReadonlyArray<Tool>
  readonly memoryTools: OpenOptions["memoryTools"]
  readonly created: boolean
}

/** The session's store: the layer's, or its own database when `dbPath` is given. */
const storeFor = (dbPath: string | undefined, config: MnesisConfig, scope: Scope.Scope) =>
  dbPath === undefined
    ? Storage.Storage
    : Scope.extend(
      Storage.makeSqlite({
        filename: dbPath,
        walMode: config.store.walMode,
        busyTimeoutMs: Duration.toMillis(config.store.busyTimeout)
      }),
      scope
    )

/** Runs `effect` with a fresh session scope that is closed if `effect` fails. */
const withSessionScope = <A, E, R>(effect: (scope: Scope.CloseableScope) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    Scope.make(),
    (scope) => Effect.onError(effect(scope), (cause) => Scope.close(scope, Exit.failCause(cause)))
  )

/**
 * What `create` and `load` share: merge the configuration, check the tools, find the store, then
 * get the session's row (a new one, or the stored one) and assemble the session around it.
 */
const start = <E>(
  options: LoadOptions,
  sessionRow: (store: Storage.Service) => Effect.Effect<StoredSession, E>,
  created: boolean
) =>
  withSessionScope((scope) =>
    Effect.gen(function*() {
      const config = yield* mergeConfig(yield* Settings, options.config ?? {})
      const tools = options.tools ?? []
      yield* validateTools(tools, options.memoryTools)
      const store = yield* storeFor(options.dbPath, config, scope)
      const row = yield* sessionRow(store)
      return yield* assemble({ row, config, store, scope, tools, memoryTools: options.memoryTools, created })
    })
  )

export const create = (options: OpenOptions) =>
  start(options, (store) =>
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
    }), true)

export const open = (options: OpenOptions) =>
  Effect.gen(function*() {
    const session = yield* create(options)
    yield* Effect.addFinalizer(() => session.close)
    return session
  })

export const load = (id: SessionId | string, options: LoadOptions) =>
  start(options, (store) => store.getSession(id as SessionId), false)

export const loadScoped = (id: SessionId | string, options: LoadOptions) =>
  Effect.gen(function*() {
    const session = yield* load(id, options)
    yield* Effect.addFinalizer(() => session.close)
    return session
  })

const assemble = (init: Init) =>
  Effect.gen(function*() {
    const { config, row, scope, store } = init
    const tokenizer = yield* Tokenizer
    const provider = yield* LlmProvider
    const bus = yield* EventBus
    const builder = yield* ContextBuilder
    const compactor = yield* Compactor
    const info = yield* ModelRegistry.lookup(row.model, config.modelOverrides)
    const budget = yield* makeBudget(info, config)
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
      provider,
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
      guarded(Effect.gen(function*() {
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
      })).pipe(Effect.withSpan("Session.send", { attributes: { sessionId }, captureStackTrace: false }))

    const send: Session["send"] = (message, options = {}) => {
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
     * Writes the results of tool calls the host ran, all in one transaction. Every result is
     * checked first, so a call refused for one bad id stores nothing and can be retried as a whole.
     */
    const recordToolResults = (results: NonNullable<RecordInput["toolResults"]>) =>
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
        yield* store.updateToolParts(calls.map(({ part, result }) => {
          const output = result.output?.toWellFormed()
          const error = output === undefined
            ? (result.error ?? "the tool returned no result").toWellFormed()
            : undefined
          const status = output === undefined ? "error" as const : "completed" as const
          const tokenCount = partCost({ ...part, status, output, error }, count)
          return { id: part.id, update: { status, output, error, completedAt: at, tokenCount } }
        }))
        yield* builder.invalidate({ store, sessionId }, [...new Set(calls.map(({ message }) => message.id))])
      })

    const record: Session["record"] = (input) =>
      guarded(Effect.gen(function*() {
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
        if (input.toolResults !== undefined) yield* recordToolResults(input.toolResults)
        const result: {
          userMessageId?: TurnResult["messageId"]
          assistantMessageId?: TurnResult["messageId"]
        } = {}
        if (userParts !== undefined) result.userMessageId = (yield* appendUserMessage(userParts)).id
        let tokens = TokenUsage.zero
        if (assistantParts !== undefined) {
          // Counted usage mirrors what a provider reports: the whole prompt in, the reply out.
          tokens = input.tokens === undefined
            ? TokenUsage.of({
              input: systemTokens + (yield* builder.size({ store, sessionId })),
              output: assistantParts.reduce((sum, part) => sum + part.tokenCount, 0)
            })
            : TokenUsage.of(input.tokens)
          const assistant = yield* store.appendMessage({
            id: yield* Ids.messageId,
            sessionId,
            role: "assistant",
            agent: row.agent,
            model: row.model,
            createdAt: yield* Clock.currentTimeMillis,
            parts: assistantParts,
            tokens,
            cost: ModelRegistry.costOf(tokens, info),
            finishReason: input.finishReason ?? "stop"
          })
          yield* messageCreated(assistant.id, "assistant", assistant.createdAt)
          result.assistantMessageId = assistant.id
          yield* Ref.update(usage, (total) => TokenUsage.add(total, tokens))
        }
        const compactionTriggered = yield* handle.afterTurn()
        if (result.assistantMessageId !== undefined) {
          const breakdown = yield* builder.build({
            store,
            sessionId,
            systemPrompt: row.systemPrompt,
            budget,
            count
          }).pipe(
            Effect.map((context) => context.breakdown),
            Effect.catchTag("ContextOverflow", (overflow) =>
              Effect.succeed({
                system: 0,
                summaries: 0,
                messages: overflow.needed,
                toolOutputs: 0,
                total: overflow.needed
              }))
          )
          yield* store.appendSnapshot(sessionId, {
            messageId: result.assistantMessageId,
            context: breakdown,
            compactionTriggered,
            createdAt: yield* Clock.currentTimeMillis
          })
        }
        return { ...result, tokens, compactionTriggered } satisfies RecordResult
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
