/**
 * Printing a command's result: text for people by default, one JSON document with `--json`.
 * Results go to stdout; progress and errors to stderr, so `--json` output stays parseable.
 *
 * @internal
 */
import type { Effect } from "effect"
import { Console } from "effect"

export const emit = <A>(json: boolean, value: A, human: (value: A) => string): Effect.Effect<void> =>
  Console.log(json ? JSON.stringify(value, null, 2) : human(value))

/** A line on stderr (progress, notes). */
export const note = (text: string): Effect.Effect<void> => Console.error(text)
