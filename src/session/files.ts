/**
 * Files in a session's messages: `attachFile`, and `{ type: "file" }` parts in `send`, `stream`
 * and `record`. Every file of a message is read and summarised first (a missing one fails the call
 * with `FileError` before anything is stored), each becomes a text part or a `file_ref` part, and
 * the contents are stored just before the message and once more just after it: a deletion of the
 * last other session using the same content, running meanwhile in another process, cannot leave
 * the new message with a reference whose content is gone.
 *
 * @internal
 */
import { Effect } from "effect"
import type { PartInput } from "../Domain.js"
import { type FileError, InvalidInput } from "../Errors.js"
import * as Files from "../Files.js"
import type { AttachedFile, AttachFileInput } from "../Session.js"
import type * as Storage from "../Storage.js"
import { AttachFileInput as AttachFileInputSchema, decodeInput, FilePart } from "./options.js"

/** A message with its file parts turned into stored parts, and the files to store with it. */
export interface Resolved {
  readonly message: unknown
  readonly files: ReadonlyArray<Files.Prepared>
}

const isFilePart = (value: unknown): boolean =>
  typeof value === "object" && value !== null && "type" in value && value.type === "file"

/** The part a prepared file goes into a message as. */
export const partOf = (prepared: Files.Prepared): PartInput =>
  prepared._tag === "Inline" ? { type: "text", text: Files.renderInline(prepared) } : prepared.part

/**
 * Reads and summarises the `{ type: "file" }` parts of a message (anything else passes through
 * unchanged, to be checked with the other parts). Stores nothing.
 */
export const resolve = (
  files: Files.Service,
  field: string,
  message: unknown
): Effect.Effect<Resolved, InvalidInput | FileError | Storage.StoreFailure> =>
  !Array.isArray(message) || !message.some(isFilePart)
    ? Effect.succeed({ message, files: [] })
    : Effect.gen(function*() {
      const prepared: Array<Files.Prepared> = []
      const parts = yield* Effect.forEach(message, (raw: unknown, index) =>
        isFilePart(raw)
          ? Effect.gen(function*() {
            const at = `${field}[${index}]`
            const part = yield* decodeInput(FilePart, "")(raw).pipe(
              Effect.mapError((error) =>
                new InvalidInput({
                  field: error.field === "" ? at : `${at}.${error.field}`,
                  reason: error.reason
                })
              )
            )
            const file = yield* files.prepare(
              part.content === undefined ? { path: part.path } : { path: part.path, content: part.content }
            )
            prepared.push(file)
            return partOf(file)
          })
          : Effect.succeed(raw))
      return { message: parts, files: prepared }
    })

/** Stores the contents of a message's files (idempotent: see the module comment). */
export const save = (files: Files.Service, prepared: ReadonlyArray<Files.Prepared>) =>
  Effect.forEach(prepared, files.save, { discard: true })

/** `session.attachFile`: the file read, summarised and stored, and the part for a message. */
export const attach = (
  files: Files.Service,
  input: AttachFileInput
): Effect.Effect<AttachedFile, InvalidInput | FileError | Storage.StoreFailure> =>
  Effect.gen(function*() {
    const decoded = yield* decodeInput(AttachFileInputSchema, "attachFile")(input)
    const file = typeof decoded === "string"
      ? { path: decoded }
      : decoded.content === undefined
      ? { path: decoded.path }
      : { path: decoded.path, content: decoded.content }
    const prepared = yield* files.prepare(file)
    yield* files.save(prepared)
    if (prepared._tag === "Inline") {
      return {
        part: partOf(prepared),
        inline: true,
        path: prepared.path,
        fileType: prepared.fileType,
        tokens: prepared.tokens,
        reused: false
      }
    }
    return {
      part: prepared.part,
      inline: false,
      path: prepared.part.path,
      fileType: prepared.part.fileType,
      tokens: prepared.part.fileTokens,
      fileId: prepared.part.fileId,
      summary: prepared.part.summary,
      reused: prepared.reused
    }
  }).pipe(Effect.withSpan("Session.attachFile", { captureStackTrace: false }))
