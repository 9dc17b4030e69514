/**
 * Tools the model may call during `send`: a name, a description, an input `Schema` (sent to the
 * model as JSON Schema, used to decode what it sends back) and an optional Effect handler.
 *
 * A tool without a handler is executed by the host ("bring your own execution"): the turn ends
 * with the call pending and the host records the result later.
 *
 * Handler failures and undecodable input never crash a turn: they become a tool error result the
 * model sees, so it can correct itself.
 *
 * @since 0.1.0
 */
import { Effect, JSONSchema, ParseResult, Schema } from "effect"
import { inspect } from "node:util"

/** A handler's failure, as the model will read it. */
export interface ToolFailure {
  readonly _tag: "ToolFailure"
  readonly message: string
}

/**
 * A tool, its input type erased: `execute` takes the raw input and returns the result text.
 *
 * @since 0.1.0
 */
export interface Tool<R = never> {
  readonly name: string
  readonly description: string
  /** JSON Schema of the input, as sent to the model. */
  readonly inputSchema: Readonly<Record<string, unknown>>
  /** Runs the tool; absent for tools the host executes itself. */
  readonly execute?: ((input: unknown) => Effect.Effect<string, ToolFailure, R>) | undefined
  /**
   * The tool only reads (it changes nothing outside the conversation). Agentic-Map with
   * `readOnly: true` offers its sub-agents only such tools. Absent means it may write.
   */
  readonly readOnly?: boolean | undefined
}

/** Names providers accept for tools. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/

const failure = (message: string): ToolFailure => ({ _tag: "ToolFailure", message })

/** A handler's result as text: strings as they are, anything else as JSON. */
export const resultText = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value === undefined) return ""
  try {
    return JSON.stringify(value) ?? `[${typeof value}]`
  } catch {
    return inspect(value)
  }
}

const errorText = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (
    typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
  ) {
    return error.message
  }
  return resultText(error)
}

/**
 * Defines a tool.
 *
 * @example
 * const add = Tool.make({
 *   name: "add",
 *   description: "Adds two numbers",
 *   input: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
 *   handler: ({ a, b }) => Effect.succeed(a + b)
 * })
 *
 * @since 0.1.0
 */
export const make = <A, I, E, R = never>(spec: {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<A, I, never>
  readonly handler?: ((input: A) => Effect.Effect<unknown, E, R>) | undefined
  /** Declare that the tool only reads (see {@link Tool.readOnly}). */
  readonly readOnly?: boolean | undefined
}): Tool<R> => {
  const handler = spec.handler
  const decode = Schema.decodeUnknown(spec.input)
  return {
    name: spec.name,
    description: spec.description,
    ...(spec.readOnly === undefined ? {} : { readOnly: spec.readOnly }),
    inputSchema: JSONSchema.make(spec.input) as unknown as Record<string, unknown>,
    execute: handler === undefined ? undefined : (raw) =>
      decode(raw).pipe(
        Effect.mapError((error) =>
          failure(
            `invalid input for tool "${spec.name}": ${ParseResult.TreeFormatter.formatErrorSync(error)}`
          )
        ),
        Effect.flatMap((input) =>
          handler(input).pipe(
            Effect.mapError((error) => failure(errorText(error))),
            Effect.catchAllDefect((defect) => Effect.fail(failure(`the tool crashed: ${errorText(defect)}`)))
          )
        ),
        Effect.map(resultText)
      )
  }
}

/** The provider-facing definition of a tool. */
export const definition = (tool: Tool<unknown>) => ({
  name: tool.name,
  description: tool.description,
  inputSchema: tool.inputSchema
})
