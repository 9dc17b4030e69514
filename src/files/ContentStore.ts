/**
 * Where a referenced file's bytes live: stored once per content id (deduplicated across sessions
 * and paths), so a reference still expands after the file on disk changed or was deleted.
 *
 * The seam: {@link FileContentStore} is the whole contract the file handler needs. `layerSql`
 * implements it for now over the current store — the reference (path, type, tokens, summary)
 * through `Storage.putFileReference`/`getFileReference`, the bytes in a `file_contents` table it
 * creates itself through a `SqlClient` on the same database. When the store is rebuilt over
 * `SqlClient` (issue 14), `FILE_CONTENTS_DDL` moves into its migrations and the two content
 * statements into the store, and this layer is replaced by one over the new store; nothing else
 * changes.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer } from "effect"
import type { FileId, FileReference } from "../Domain.js"
import { StorageError } from "../Errors.js"
import * as Storage from "../Storage.js"

/** A file as stored: its reference and its bytes. */
export interface StoredFile {
  readonly reference: FileReference
  readonly content: Uint8Array
}

export interface Service {
  /**
   * Stores the file unless its id is already stored (same id, same bytes: the first copy and its
   * first path stay). The bytes are written before the reference, so a reference never exists
   * without its content; a failed put is repaired by putting again.
   */
  readonly put: (file: StoredFile) => Effect.Effect<void, Storage.StoreFailure>
  readonly reference: (id: FileId) => Effect.Effect<FileReference | undefined, Storage.StoreFailure>
  readonly content: (id: FileId) => Effect.Effect<Uint8Array | undefined, Storage.StoreFailure>
}

/**
 * @since 0.1.0
 */
export class FileContentStore extends Context.Tag("mnesis/FileContentStore")<FileContentStore, Service>() {}

/** The content table: one row per content id; to move into the store's migrations (see above). */
export const FILE_CONTENTS_DDL = `CREATE TABLE IF NOT EXISTS file_contents (
  id TEXT PRIMARY KEY,
  byte_length INTEGER NOT NULL,
  content BLOB NOT NULL
) STRICT`

const failure = (operation: string) => (error: SqlError) =>
  new StorageError({ operation, reason: error.message, cause: error.cause })

/** The content store over `Storage` (references) and a `SqlClient` on the same database (bytes). */
export const makeSql: Effect.Effect<Service, Storage.StoreFailure, Storage.Storage | SqlClient.SqlClient> =
  Effect
    .gen(function*() {
      const store = yield* Storage.Storage
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(FILE_CONTENTS_DDL).pipe(Effect.mapError(failure("createFileContents")))

      const put = (file: StoredFile) =>
        Effect.gen(function*() {
          const id = file.reference.id
          yield* sql`INSERT INTO file_contents (id, byte_length, content)
          VALUES (${id}, ${file.content.length}, ${file.content})
          ON CONFLICT (id) DO NOTHING`.pipe(Effect.mapError(failure("putFileContent")))
          // The store's upsert would move the reference to the new path: keep the first one.
          const existing = yield* store.getFileReference(id)
          if (existing === undefined) yield* store.putFileReference(file.reference)
        }).pipe(Effect.withSpan("FileContentStore.put", { captureStackTrace: false }))

      const content = (id: FileId) =>
        sql<{ readonly content: Uint8Array }>`SELECT content FROM file_contents WHERE id = ${id}`.pipe(
          Effect.map((rows) => rows[0]?.content),
          Effect.mapError(failure("getFileContent")),
          Effect.withSpan("FileContentStore.content", { captureStackTrace: false })
        )

      return { put, reference: store.getFileReference, content } satisfies Service
    })

/**
 * The content store over the current `Storage` and a `SqlClient` opened on the same database
 * file (tests and the lead's wiring until the store owns file contents).
 *
 * @since 0.1.0
 */
export const layerSql: Layer.Layer<
  FileContentStore,
  Storage.StoreFailure,
  Storage.Storage | SqlClient.SqlClient
> = Layer.effect(FileContentStore, makeSql)
