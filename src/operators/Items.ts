/**
 * An operator's input and output files. Items come as an array, a `Stream` or a JSON Lines file;
 * every item is read before the first call, so the run records all of them (and `resume` knows
 * what is left). Items are stored as JSON: each must survive `JSON.stringify`. Results can be
 * written as JSON Lines, one per item, in completion order.
 *
 * @internal
 */
import { Effect, ParseResult, Schema, type Scope, Stream } from "effect"
import * as NodeFs from "node:fs/promises"
import { InvalidInput, JsonlFileError } from "../Errors.js"

/**
 * Where the items come from.
 *
 * @since 0.1.0
 */
export type ItemsSource<I, E = never, IE = unknown> =
  | ReadonlyArray<I>
  | Stream.Stream<I, E>
  /** One item per line, decoded with `schema` (`Schema.Unknown` takes any JSON). */
  | { readonly jsonl: string; readonly schema: Schema.Schema<I, IE> }

const reasonOf = (error: unknown) => error instanceof Error ? error.message : String(error)

/** Each line of the file that is not blank, parsed as JSON, with its line number. */
export const readJsonl = (
  path: string
): Effect.Effect<ReadonlyArray<{ readonly line: number; readonly value: unknown }>, JsonlFileError> =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => NodeFs.readFile(path, "utf8"),
      catch: (error) => new JsonlFileError({ path, reason: reasonOf(error) })
    })
    const items: Array<{ readonly line: number; readonly value: unknown }> = []
    const lines = text.split("\n")
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (line === "") continue
      try {
        const value: unknown = JSON.parse(line)
        items.push({ line: i + 1, value })
      } catch (error) {
        return yield* new JsonlFileError({ path, line: i + 1, reason: `not JSON: ${reasonOf(error)}` })
      }
    }
    return items
  })

/** True when the value comes back from JSON as it went in (the store keeps items as JSON). */
const isJson = (value: unknown): boolean => {
  try {
    return JSON.stringify(value) !== undefined
  } catch {
    return false
  }
}

const isArray = <I, E, IE>(source: ItemsSource<I, E, IE>): source is ReadonlyArray<I> => Array.isArray(source)

/** The file's items, each decoded with `schema` (a line that does not decode names its number). */
const decodeLines = <I, IE>(path: string, schema: Schema.Schema<I, IE>) =>
  Effect.gen(function*() {
    const decode = Schema.decodeUnknownEither(schema)
    const lines = yield* readJsonl(path)
    const items: Array<I> = []
    for (const { line, value } of lines) {
      const decoded = decode(value)
      if (decoded._tag === "Left") {
        return yield* new JsonlFileError({
          path,
          line,
          reason: ParseResult.TreeFormatter.formatErrorSync(decoded.left)
        })
      }
      items.push(decoded.right)
    }
    return items
  })

const isStream = <I, E, IE>(source: ItemsSource<I, E, IE>): source is Stream.Stream<I, E> =>
  Stream.StreamTypeId in source

/** Every item, read to the end; `InvalidInput` for an item JSON cannot hold. */
export const collect = <I, E, IE>(
  source: ItemsSource<I, E, IE>
): Effect.Effect<ReadonlyArray<I>, E | JsonlFileError | InvalidInput> =>
  Effect.gen(function*() {
    const items: ReadonlyArray<I> = isArray(source)
      ? source
      : isStream(source)
      ? yield* Stream.runCollect(source).pipe(Effect.map((chunk) => Array.from(chunk)))
      : "jsonl" in source
      ? yield* decodeLines(source.jsonl, source.schema)
      : yield* new InvalidInput({ field: "items", reason: "must be an array, a Stream or { jsonl, schema }" })
    for (let i = 0; i < items.length; i++) {
      if (!isJson(items[i])) {
        return yield* new InvalidInput({
          field: `items[${i}]`,
          reason: "must be a JSON value (runs store their items as JSON: no functions, bigints or cycles)"
        })
      }
      if (i % 1_000 === 999) yield* Effect.yieldNow()
    }
    return items
  })

/** A JSON Lines file written line by line (truncated first), closed with the scope. */
export const jsonlWriter = (
  path: string
): Effect.Effect<(value: unknown) => Effect.Effect<void, JsonlFileError>, JsonlFileError, Scope.Scope> =>
  Effect.gen(function*() {
    const fail = (error: unknown) => new JsonlFileError({ path, reason: reasonOf(error) })
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => NodeFs.open(path, "w"), catch: fail }),
      (handle) => Effect.promise(() => handle.close())
    )
    // One write at a time: concurrent writes to one handle may interleave.
    const lock = yield* Effect.makeSemaphore(1)
    return (value: unknown) =>
      lock.withPermits(1)(
        Effect.tryPromise({ try: () => handle.appendFile(`${JSON.stringify(value)}\n`, "utf8"), catch: fail })
      )
  })
