/**
 * `mnesis context <session> [--turn N]`: what the model saw, item by item, as it was rendered
 * for the model, with the window's composition.
 *
 * @internal
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import type { ContentBlock } from "../../LlmProvider.js"
import { withStore } from "../Database.js"
import { num } from "../format.js"
import { atTurn, type ContextEntry, type ContextView, conversation, current } from "../inspect/context.js"
import { allSnapshots } from "../inspect/read.js"
import { loadConfig, modelView } from "../inspect/settings.js"
import * as Opt from "../options.js"
import { emit } from "../output.js"

const CLIP = 1_500

const clipped = (text: string, full: boolean): string =>
  full || text.length <= CLIP
    ? text
    : `${text.slice(0, CLIP)}\n[… ${num(text.length - CLIP)} more characters; --full shows everything]`

const block = (b: ContentBlock, full: boolean): string => {
  switch (b.type) {
    case "text":
      return clipped(b.text, full)
    case "reasoning":
      return `(reasoning) ${clipped(b.text, full)}`
    case "tool_use":
      return `→ call ${b.name} ${clipped(JSON.stringify(b.input ?? {}), full)}`
    case "tool_result":
      return `← result${b.isError === true ? " (error)" : ""}: ${clipped(b.content, full)}`
  }
}

const heading = (entry: ContextEntry): string => {
  if (entry.summary !== undefined) {
    return `━━ summary ${entry.id} (${entry.summary.kind}, depth ${entry.summary.depth}) covers #${entry.summary.spanStartSeq}` +
      `–#${entry.summary.spanEndSeq}, ${num(entry.summary.messageCount)} messages · ${
        num(entry.tokenCount)
      } tokens`
  }
  return `━━ ${entry.role ?? "message"} ${entry.id} #${entry.seq} · ${num(entry.tokenCount)} tokens` +
    (entry.toolTokens > 0 ? ` (${num(entry.toolTokens)} in tool calls and results)` : "")
}

export const render = (view: ContextView, full: boolean): string => {
  const c = view.composition
  const lines = [
    `session ${view.sessionId} · ${
      view.turn === undefined
        ? `the context the next turn starts from (after ${num(view.turns)} turns)`
        : `turn ${view.turn} of ${view.turns}, rebuilt from the history${
          view.exact ? " (its size matches what the turn recorded)" : ""
        }`
    }`,
    `${num(c.total)} tokens: system ${num(c.system)} · summaries ${num(c.summaries)} · raw ${num(c.raw)} · ` +
    `tool outputs ${num(c.toolOutputs)} · ${view.entries.length} items`
  ]
  if (view.recorded !== undefined && !view.exact) {
    const r = view.recorded
    lines.push(
      `but the turn recorded ${num(r.total)} tokens (system ${num(r.system)}, summaries ${
        num(r.summaries)
      }, messages ${num(r.messages)}, of which tool outputs ${num(r.toolOutputs)})`
    )
  }
  lines.push("", `━━ system prompt · ${num(c.system)} tokens`, clipped(view.systemPrompt, full))
  for (const entry of view.entries) {
    lines.push("", heading(entry))
    for (const message of entry.rendered) {
      for (const b of message.content) lines.push(block(b, full))
    }
  }
  return lines.join("\n")
}

export const context = Command.make("context", {
  db: Opt.db,
  json: Opt.json,
  config: Opt.config,
  turn: Options.integer("turn").pipe(
    Options.withDescription(
      "The turn to show (1 is the first); default: the context the next turn starts from"
    ),
    Options.optional
  ),
  full: Options.boolean("full").pipe(Options.withDescription("Do not shorten long texts and tool outputs")),
  session: Opt.session
}, (args) =>
  withStore(args.db, (store) =>
    Effect.gen(function*() {
      const config = yield* loadConfig(args.config)
      const session = yield* Opt.resolveSession(store, args.session)
      const view = yield* modelView(session.model, config)
      const turns = (yield* allSnapshots(store, session.id)).length
      const result = Option.isSome(args.turn)
        ? yield* atTurn(store, session, view.count, args.turn.value, turns)
        : yield* current(store, session, view.count, turns)
      yield* emit(
        args.json,
        { ...result, messages: conversation(result) },
        () => render(result, args.full)
      )
    }))).pipe(
    Command.withDescription(
      "What the model saw: the context now, or at the end of --turn N, as rendered for it"
    )
  )
