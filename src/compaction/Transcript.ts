/**
 * The text a summariser reads: each covered message (or summary) under a marker line naming its
 * role and id, with text, reasoning, tool calls *and* their results (inputs and errors included —
 * they carry instructions and failures a continuing agent needs), file references by id.
 * Tool outputs are cut to a head and a tail so one huge output cannot crowd out everything else;
 * the originals stay in the store and are reachable through `expand`.
 *
 * @internal
 */
import { toolInputText } from "../context/Render.js"
import type { Message, SummaryNode } from "../Domain.js"

const TOOL_HEAD_CHARS = 3_000
const TOOL_TAIL_CHARS = 1_000

const clipLong = (text: string): string =>
  text.length <= TOOL_HEAD_CHARS + TOOL_TAIL_CHARS
    ? text
    : `${text.slice(0, TOOL_HEAD_CHARS)}\n[… ${
      (text.length - TOOL_HEAD_CHARS - TOOL_TAIL_CHARS).toLocaleString("en")
    } characters omitted …]\n${text.slice(-TOOL_TAIL_CHARS)}`

/**
 * A message as text. `clip: false` keeps tool outputs whole (for `expand`); the default cuts them
 * to a head and a tail (for summarisers).
 */
export const messageTranscript = (message: Message, options: { readonly clip?: boolean } = {}): string => {
  const clip = options.clip === false ? (text: string) => text : clipLong
  const lines = [`[${message.role} ${message.id} #${message.seq}]`]
  for (const part of message.parts) {
    switch (part.type) {
      case "text":
        lines.push(part.text)
        break
      case "reasoning":
        lines.push(`(reasoning) ${part.text}`)
        break
      case "tool":
        lines.push(`[tool ${part.toolName}] input: ${clip(toolInputText(part.input))}`)
        if (part.output !== undefined) lines.push(`result: ${clip(part.output)}`)
        if (part.error !== undefined) lines.push(`error: ${clip(part.error)}`)
        if (part.output === undefined && part.error === undefined) lines.push("result: (none)")
        break
      case "file_ref":
        lines.push(`[file ${part.path} ${part.fileId} (${part.fileType})] ${part.summary}`)
        break
      case "compaction":
        break
    }
  }
  return lines.join("\n")
}

export const messagesTranscript = (messages: ReadonlyArray<Message>): string =>
  messages.map((message) => messageTranscript(message)).join("\n\n")

export const summariesTranscript = (nodes: ReadonlyArray<SummaryNode>): string =>
  // File ids are left out: the condensed node's footer carries every parent's ids anyway.
  nodes.map((node) =>
    `[summary ${node.id} depth ${node.depth}, ${node.messageCount} messages ${node.spanStart}..${node.spanEnd}]\n${node.content.trim()}`
  )
    .join("\n\n")
