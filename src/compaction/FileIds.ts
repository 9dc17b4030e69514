/**
 * File ids (`file_<sha256>`) a summary must carry in its footer: those of the file references in
 * the messages it covers, any written in their text or tool input/output, and — for condensed
 * nodes — those of its parents. Order is first appearance; no duplicates.
 *
 * @internal
 */
import type { FileId, Message, SummaryNode } from "../Domain.js"
import { FILE_ID_PATTERN } from "../Domain.js"

const idsIn = (text: string): Array<FileId> => (text.match(FILE_ID_PATTERN) ?? []) as Array<FileId>

const unique = (ids: Iterable<FileId>): Array<FileId> => [...new Set(ids)]

export const fileIdsOfMessages = (messages: ReadonlyArray<Message>): Array<FileId> =>
  unique(messages.flatMap((message) =>
    message.parts.flatMap((part): Array<FileId> => {
      switch (part.type) {
        case "file_ref":
          return [part.fileId, ...idsIn(part.summary)]
        case "text":
        case "reasoning":
          return idsIn(part.text)
        case "tool":
          return [
            ...idsIn(JSON.stringify(part.input ?? null)),
            ...idsIn(part.output ?? ""),
            ...idsIn(part.error ?? "")
          ]
        case "compaction":
          return []
      }
    })
  ))

export const fileIdsOfSummaries = (nodes: ReadonlyArray<SummaryNode>): Array<FileId> =>
  unique(nodes.flatMap((node) => [...node.fileIds, ...idsIn(node.content)]))
