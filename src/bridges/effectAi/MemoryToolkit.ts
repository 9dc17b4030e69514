/**
 * mnesis's memory tools (`grep`, `describe`, `expand`) as an `@effect/ai` toolkit, for programs
 * whose tool loop is `@effect/ai`'s own: the model searches and reopens everything compaction took
 * out of the session's context.
 *
 * The inputs are mnesis's own schemas; every answer is the compact text the session's own model
 * reads. A failure (an unknown id, a bad cursor, a store error) is returned to the model as the
 * tool's failure with a message saying what to do, as mnesis's own tool loop does.
 *
 * @since 0.1.0
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { Effect, Schema } from "effect"
import * as MemoryTools from "../../MemoryTools.js"
import type { Session } from "../../Session.js"

/** The three memory tools of one session (what the toolkit's handlers call). */
export type MemorySession = Pick<Session, "grep" | "describe" | "expand">

const tool = <const Name extends string, Fields extends Schema.Struct.Fields>(
  name: Name,
  description: string,
  parameters: Fields
) =>
  Tool.make(name, {
    description,
    parameters,
    success: Schema.String,
    failure: Schema.String,
    failureMode: "return"
  })

/** @since 0.1.0 */
export const Grep = tool("grep", MemoryTools.descriptions.grep, MemoryTools.GrepInput.fields)

/** @since 0.1.0 */
export const Describe = tool("describe", MemoryTools.descriptions.describe, MemoryTools.DescribeInput.fields)

/** @since 0.1.0 */
export const Expand = tool("expand", MemoryTools.descriptions.expand, MemoryTools.ExpandInput.fields)

/**
 * The memory tools as a toolkit. Provide its handlers for one session with {@link layer}.
 *
 * @since 0.1.0
 */
export const MemoryToolkit = Toolkit.make(Grep, Describe, Expand)

const answer = <A extends { readonly text: string }, E extends { readonly message: string }>(
  result: Effect.Effect<A, E>
): Effect.Effect<string, string> =>
  result.pipe(
    Effect.map((a) => a.text),
    Effect.mapError((error) => error.message)
  )

/**
 * The toolkit's handlers, answering from `session`.
 *
 * @since 0.1.0
 */
export const handlers = (session: MemorySession) =>
  MemoryToolkit.of({
    grep: (input) => answer(session.grep(input)),
    describe: (input) => answer(session.describe(input)),
    expand: (input) => answer(session.expand(input))
  })

/**
 * The handler layer of {@link MemoryToolkit} for one session.
 *
 * @since 0.1.0
 */
export const layer = (session: MemorySession) => MemoryToolkit.toLayer(handlers(session))
