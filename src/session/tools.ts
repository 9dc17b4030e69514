/**
 * The tools a session offers: the caller's (checked for names providers accept, no duplicates, no
 * clash with the memory tools) and, when asked for, the memory tools over this session — and its
 * parent and children with `relatedSessions`.
 *
 * @internal
 */
import { Effect } from "effect"
import type { SessionId } from "../Domain.js"
import { InvalidInput } from "../Errors.js"
import * as MemoryTools from "../MemoryTools.js"
import type { OpenOptions } from "../Session.js"
import type { Tool } from "../Tool.js"
import { TOOL_NAME } from "../Tool.js"
import type { SessionCore } from "./core.js"

/** Whether the session offers the memory tools to the model (`true` or an options object). */
export const offersMemoryTools = (memoryTools: OpenOptions["memoryTools"]) =>
  memoryTools !== undefined && memoryTools !== false

export const validateTools = (
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

/** The memory tools' scope over this session, and every tool the session offers on each turn. */
export const sessionTools = (core: SessionCore) =>
  Effect.gen(function*() {
    const { builder, count, memoryTools, row, sessionId, store } = core
    const related = typeof memoryTools === "object" && memoryTools.relatedSessions === true
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
    const tools: ReadonlyArray<Tool> = offersMemoryTools(memoryTools)
      ? [...core.tools, ...MemoryTools.tools(memory)]
      : core.tools
    return { memory, tools }
  })
