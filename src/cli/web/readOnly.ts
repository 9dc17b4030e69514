/**
 * The store as the explorer sees it: every read passes through, every write fails. The explorer
 * only reads, and this makes it so whatever a request asks for: a method that writes cannot
 * be reached through it. Every method of the interface is listed here by name, so a method
 * added to the store does not compile until it is sorted into one kind or the other.
 *
 * @internal
 */
import { Effect } from "effect"
import { StorageError } from "../../Errors.js"
import type * as Storage from "../../Storage.js"

const refused = (operation: string) =>
  Effect.fail(
    new StorageError({ operation, reason: "the explorer is read-only: it never writes to the database" })
  )

export const readOnly = (store: Storage.Service): Storage.Service => ({
  // reads
  getSession: store.getSession,
  listSessions: store.listSessions,
  toolParts: store.toolParts,
  findToolCall: store.findToolCall,
  contextItems: store.contextItems,
  contextSince: store.contextSince,
  messages: store.messages,
  history: store.history,
  summaries: store.summaries,
  sessionSummaries: store.sessionSummaries,
  summarySources: store.summarySources,
  activeCovers: store.activeCovers,
  snapshots: store.snapshots,
  getFileReference: store.getFileReference,
  getFile: store.getFile,
  fileLines: store.fileLines,
  fileContent: store.fileContent,
  sessionFiles: store.sessionFiles,
  search: store.search,
  scan: store.scan,
  exportSession: store.exportSession,
  getRun: store.getRun,
  listRuns: store.listRuns,
  runItems: store.runItems,
  // writes
  createSession: () => refused("createSession"),
  appendMessage: () => refused("appendMessage"),
  appendMessages: () => refused("appendMessages"),
  updateToolPart: () => refused("updateToolPart"),
  updateToolParts: () => refused("updateToolParts"),
  tombstone: () => refused("tombstone"),
  commitCompaction: () => refused("commitCompaction"),
  appendSnapshot: () => refused("appendSnapshot"),
  putFileReference: () => refused("putFileReference"),
  putFile: () => refused("putFile"),
  deleteSession: () => refused("deleteSession"),
  deleteSessionsUntouchedSince: () => refused("deleteSessionsUntouchedSince"),
  importSession: () => refused("importSession"),
  createRun: () => refused("createRun"),
  takeOverRun: () => refused("takeOverRun"),
  startRunItem: () => refused("startRunItem"),
  finishRunItem: () => refused("finishRunItem"),
  endRun: () => refused("endRun")
})
