/**
 * How stored items look to a model, and what they cost. Rendering and costing live together so
 * a part's stored token count is always the count of exactly what is sent.
 *
 * - Text and reasoning are sent as they are.
 * - A tool part becomes a native `tool_use` in the assistant turn and a `tool_result` in the next
 *   user turn. A call that never completed (the process stopped, or the host runs the tool)
 *   still gets a result saying so: a provider rejects a call without a result.
 * - A tombstoned tool output becomes a one-line marker naming the tool and the id to expand.
 * - A file reference becomes a block with path, id, type, size and its structural summary.
 * - A summary becomes user-visible text with its id, depth, covered span and file-id footer.
 *
 * @since 0.1.0
 */
import type { FileRefPart, MessageId, Part, PartBody, SummaryNode, ToolPart } from "../Domain.js"
import type { ContentBlock, LlmMessage } from "../LlmProvider.js"

/** Tokens a tool call and its result cost beyond their text (block framing, ids). */
export const TOOL_OVERHEAD_TOKENS = 12

export type Count = (text: string) => number

type ToolFields = Pick<ToolPart, "toolName" | "toolCallId" | "input" | "output" | "error" | "status">

/** What the model sees as the result of a call that has none yet. */
export const pendingResultText = (part: Pick<ToolPart, "status">): string =>
  part.status === "running"
    ? "[no result: the tool was still running when this context was built]"
    : "[no result: the tool call was not executed]"

/** The result text of a tool part as sent (its output, its error, or a note that it has none). */
export const toolResultText = (part: ToolFields): string =>
  part.output ?? (part.error === undefined ? pendingResultText(part) : `Error: ${part.error}`)

export const toolInputText = (input: unknown): string =>
  typeof input === "string" ? input : JSON.stringify(input ?? {})

/** The one-line marker that replaces a pruned tool output. */
export const tombstoneText = (part: Pick<ToolPart, "toolName" | "output">, messageId: MessageId): string =>
  `[output of tool "${part.toolName}" pruned to save context (${
    (part.output ?? "").length.toLocaleString("en")
  } chars); expand("${messageId}") returns it in full]`

export const renderFileRef = (
  part: Pick<FileRefPart, "fileId" | "path" | "fileType" | "fileTokens" | "summary">
): string =>
  `[file path="${part.path}" id="${part.fileId}" type="${part.fileType}" tokens="${
    part.fileTokens.toLocaleString("en")
  }"]\n${part.summary}\n[/file]`

/** The file-id footer of a summary (empty when it references no file). */
export const fileFooter = (fileIds: ReadonlyArray<string>): string =>
  fileIds.length === 0 ? "" : `\nFiles: ${fileIds.join(", ")}`

export const renderSummary = (
  node: Pick<SummaryNode, "id" | "depth" | "spanStart" | "spanEnd" | "messageCount" | "content" | "fileIds">
): string =>
  `<summary id="${node.id}" depth="${node.depth}" covers="${node.spanStart}..${node.spanEnd}" messages="${node.messageCount}">\n` +
  `${node.content.trim()}${fileFooter(node.fileIds)}\n` +
  `(Originals: expand("${node.id}"); search the whole history with grep.)\n</summary>`

/** A part's cost in the context as rendered now (its stored token count). */
export const partCost = (part: PartBody, count: Count): number => {
  switch (part.type) {
    case "text":
    case "reasoning":
      return count(part.text)
    case "tool":
      return TOOL_OVERHEAD_TOKENS + count(part.toolName) + count(toolInputText(part.input)) +
        count(toolResultText(part))
    case "file_ref":
      return count(renderFileRef(part))
    case "compaction":
      return 0
  }
}

/** What a tool part costs once its output is replaced by the tombstone marker. */
export const tombstoneCost = (part: ToolPart, messageId: MessageId, count: Count): number =>
  TOOL_OVERHEAD_TOKENS + count(part.toolName) + count(toolInputText(part.input)) +
  count(tombstoneText(part, messageId))

/** Tokens of a rendered summary, as stored on its context item. */
export const summaryCost = (node: Parameters<typeof renderSummary>[0], count: Count): number =>
  count(renderSummary(node)) + 4

/**
 * Renders one stored message as provider messages. A user message is one user turn; an
 * assistant message becomes assistant turns holding its text and tool calls, each group of calls
 * followed by a user turn with their results, so calls and results stay paired.
 */
export const renderMessage = (
  message: {
    readonly id: MessageId
    readonly role: "user" | "assistant"
    readonly parts: ReadonlyArray<Part>
  }
): Array<LlmMessage> => {
  if (message.role === "user") {
    const content: Array<ContentBlock> = []
    for (const part of message.parts) {
      const block = plainBlock(part)
      if (block !== undefined) content.push(block)
    }
    return content.length === 0 ? [] : [{ role: "user", content }]
  }
  const out: Array<LlmMessage> = []
  let assistant: Array<ContentBlock> = []
  let results: Array<ContentBlock> = []
  const flush = () => {
    if (assistant.length > 0) out.push({ role: "assistant", content: assistant })
    if (results.length > 0) out.push({ role: "user", content: results })
    assistant = []
    results = []
  }
  for (const part of message.parts) {
    if (part.type === "tool") {
      assistant.push({ type: "tool_use", id: part.toolCallId, name: part.toolName, input: part.input })
      results.push({
        type: "tool_result",
        toolUseId: part.toolCallId,
        content: part.compactedAt === undefined ? toolResultText(part) : tombstoneText(part, message.id),
        isError: part.compactedAt === undefined && part.output === undefined
      })
      continue
    }
    const block = plainBlock(part)
    if (block === undefined) continue
    // Text after a group of calls starts a new assistant turn once their results are sent.
    if (results.length > 0) flush()
    assistant.push(block)
  }
  flush()
  return out
}

const plainBlock = (part: Part): ContentBlock | undefined => {
  switch (part.type) {
    case "text":
      // Providers reject text blocks with nothing but whitespace.
      return part.text.trim() === "" ? undefined : { type: "text", text: part.text }
    case "reasoning":
      return { type: "reasoning", text: part.text, signature: part.signature }
    case "file_ref":
      return { type: "text", text: renderFileRef(part) }
    case "tool":
    case "compaction":
      return undefined
  }
}

/** Tokens the tool parts of a message cost as rendered (for the breakdown's `toolOutputs`). */
export const toolTokens = (
  message: { readonly id: MessageId; readonly parts: ReadonlyArray<Part> },
  count: Count
): number =>
  message.parts.reduce(
    (sum, part) =>
      part.type !== "tool"
        ? sum
        : sum + (part.compactedAt === undefined ? part.tokenCount : tombstoneCost(part, message.id, count)),
    0
  )
