/**
 * `record` (bring your own LLM): one exchange — the results of tool calls the host ran, a user
 * message, the reply — written in one transaction, with the turn's snapshot and the compaction
 * check as `send` would make them, and no provider call.
 *
 * @internal
 */
import { Clock, Effect, Ref } from "effect"
import { partCost } from "../context/Render.js"
import { assemblyReserve } from "../ContextBuilder.js"
import { TokenUsage } from "../Domain.js"
import { InvalidInput } from "../Errors.js"
import * as Ids from "../internal/ids.js"
import * as ModelRegistry from "../ModelRegistry.js"
import type { RecordResult, Session } from "../Session.js"
import type * as Storage from "../Storage.js"
import type { Announcer } from "./announce.js"
import type { SessionCore } from "./core.js"
import * as Files from "./files.js"
import { prepareParts } from "./input.js"
import type { Lifecycle } from "./lifecycle.js"
import { decodeInput, RecordInput as RecordInputSchema } from "./options.js"
import type { Snapshots } from "./snapshots.js"
import { checkFits, messageTokens } from "./userMessage.js"

export interface Parts {
  readonly lifecycle: Lifecycle
  readonly announcer: Announcer
  readonly snapshots: Snapshots
}

export const makeRecord = (core: SessionCore, parts: Parts): Session["record"] => {
  const { budget, builder, count, info, row, sessionId, store, systemTokens, usage } = core
  const ref = { store, sessionId }

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

  /**
   * The context a recorded reply answered, by kind: the context before this exchange plus its
   * user message. (Like `send`'s snapshots; measured before writing, so the snapshot is written
   * with the exchange, and without the trimming of old items a full context would get.)
   */
  const answeredContext = (userTokens: number) =>
    builder.build({ ...ref, systemPrompt: row.systemPrompt, budget, count }).pipe(
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
  return (raw) =>
    parts.lifecycle.guarded(Effect.gen(function*() {
      const input = yield* decodeInput(RecordInputSchema, "record")(raw)
      if (
        input.user === undefined && input.assistant === undefined && (input.toolResults ?? []).length === 0
      ) {
        return yield* new InvalidInput({
          field: "record",
          reason: "needs a user message, an assistant reply or tool results"
        })
      }
      const userInput = input.user === undefined
        ? undefined
        : yield* Files.resolve(core.files, "user", input.user)
      const replyInput = input.assistant === undefined
        ? undefined
        : yield* Files.resolve(core.files, "assistant", input.assistant)
      const files = [...(userInput?.files ?? []), ...(replyInput?.files ?? [])]
      const userParts = userInput === undefined
        ? undefined
        : yield* prepareParts("user", userInput.message, count, { allowTools: false })
      const assistantParts = replyInput === undefined
        ? undefined
        : yield* prepareParts("assistant", replyInput.message, count, { allowTools: true, allowEmpty: true })
      // Like `send`: a message no context could hold is refused before anything is stored.
      if (userParts !== undefined) yield* checkFits(core, userParts, row.systemPrompt)
      if (assistantParts !== undefined) yield* checkFits(core, assistantParts, row.systemPrompt)
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
      if (assistantParts !== undefined) {
        const userTokens = userParts === undefined ? 0 : messageTokens(userParts)
        const before = yield* builder.size(ref)
        // Counted usage mirrors what a provider reports: the whole prompt in, the reply out.
        tokens = input.tokens === undefined
          ? TokenUsage.of({
            input: systemTokens + before + userTokens,
            output: assistantParts.reduce((sum, part) => sum + part.tokenCount, 0)
          })
          : TokenUsage.of(input.tokens)
        const id = yield* Ids.messageId
        // As `send` does: the round, if one starts, is told what this exchange will add.
        const added = userTokens + messageTokens(assistantParts)
        messages.push({
          ...common,
          id,
          role: "assistant",
          parts: assistantParts,
          tokens,
          cost: ModelRegistry.costOf(tokens, info),
          finishReason: input.finishReason ?? "stop",
          snapshot: yield* parts.snapshots.withMessage({
            messageId: id,
            context: yield* answeredContext(userTokens),
            at: createdAt,
            sizeAfter: systemTokens + before + added + assemblyReserve(count),
            added
          })
        })
      }
      yield* Files.save(core.files, files)
      const written = yield* store.appendMessages(messages, results.updates)
      yield* Files.save(core.files, files)
      if (results.messageIds.length > 0) yield* builder.invalidate(ref, results.messageIds)
      yield* builder.prime(ref, written, count)
      for (const message of written) {
        yield* parts.announcer.messageCreated(message.id, message.role, message.createdAt)
      }
      const reply = messages.find((message) => message.role === "assistant")
      const compactionTriggered = reply?.snapshot?.compactionTriggered ?? (yield* parts.snapshots.check)
      if (reply !== undefined) yield* Ref.update(usage, (total) => TokenUsage.add(total, tokens))
      const user = written.find((message) => message.role === "user")
      const assistant = written.find((message) => message.role === "assistant")
      return {
        ...(user === undefined ? {} : { userMessageId: user.id }),
        ...(assistant === undefined ? {} : { assistantMessageId: assistant.id }),
        tokens,
        compactionTriggered
      } satisfies RecordResult
    })).pipe(Effect.withSpan("Session.record", { attributes: { sessionId }, captureStackTrace: false }))
}
