/**
 * The operators as tools for the model (opt-in): `llm_map` and `agentic_map`, bound to the
 * session whose turns offer them. A call runs the whole operator inside the tool call and answers
 * with the run's compact note — what ran, the counts, where the results are — never the outputs,
 * which the model pages through with the memory tools (`expand("run_…")`). A call the delegation
 * guard refuses, or any failure of the run as a whole, is a tool error that says why.
 *
 * @internal
 */
import { Effect, Schema } from "effect"
import type { Session } from "../Session.js"
import * as Tool from "../Tool.js"
import type { Service as AgenticMapService } from "./AgenticMap.js"
import type { Service as LlmMapService } from "./LlmMap.js"
import type { MapBatch } from "./Run.js"
import * as Runs from "./Runs.js"

/** The field types a model may ask its results to have. */
const FieldType = Schema.Literal("string", "number", "integer", "boolean", "string[]", "number[]")
type FieldType = typeof FieldType.Type

// The results only pass through (to the store and the model's pages): their static type is open.
const fieldSchemas: Record<FieldType, Schema.Schema.AnyNoContext> = {
  string: Schema.String,
  number: Schema.Number,
  integer: Schema.Int,
  boolean: Schema.Boolean,
  "string[]": Schema.Array(Schema.String),
  "number[]": Schema.Array(Schema.Number)
}

const Fields = Schema.Record({ key: Schema.String, value: FieldType }).annotations({
  description: "The fields each result must have, with their types; without it each result is free text."
})

const DelegationInput = Schema.Struct({
  delegated: Schema.String.annotations({ description: "The part of your task this run does." }),
  kept: Schema.String.annotations({ description: "The part of your task you keep doing yourself." })
}).annotations({
  description: "Required when you are a sub-agent and give this run as many items as your own run had."
})

const common = {
  items: Schema.Array(Schema.Unknown).annotations({ description: "The items: JSON values, one task each." }),
  template: Schema.String.annotations({
    description: "The prompt for each item, with {{ item }} or paths such as {{ item.title }}."
  }),
  fields: Schema.optional(Fields),
  delegation: Schema.optional(DelegationInput)
}

const LlmMapInput = Schema.Struct({
  ...common,
  model: Schema.optional(Schema.String.annotations({ description: "provider/model; yours when absent." }))
})

const AgenticMapInput = Schema.Struct({
  ...common,
  systemPrompt: Schema.optional(Schema.String.annotations({ description: "The sub-agents' system prompt." })),
  maxTurns: Schema.optional(Schema.Int.pipe(Schema.between(1, 100)))
})

/** The schema of each result: an object of the asked fields, or free text. */
const resultSchema = (fields: Readonly<Record<string, FieldType>> | undefined) =>
  fields === undefined || Object.keys(fields).length === 0
    ? undefined
    : Schema.Struct(
      Object.fromEntries(Object.entries(fields).map(([name, type]) => [name, fieldSchemas[type]]))
    )

/** The tool's answer: the run's note (as it would be left in the session), and the first failures. */
const answer = <I, A>(operator: "llm_map" | "agentic_map", batch: MapBatch<I, A>, details: {
  readonly model: string
  readonly template: string
}) => {
  const note = Runs.noteText({ id: batch.runId, operator }, {
    status: batch.successes.length + batch.failures.length === batch.total ? "completed" : "interrupted",
    total: batch.total,
    succeeded: batch.successes.length,
    failed: batch.failures.length,
    attempts: batch.attempts,
    tokens: batch.tokens,
    cost: batch.cost
  }, details)
  const failures = batch.failures.slice(0, 5).map((f) =>
    `- item ${f.index}: ${f.reason._tag}: ${f.reason.message}`
  )
  return failures.length === 0 ? note : `${note}\nFirst failures:\n${failures.join("\n")}`
}

export interface ToolsOptions {
  /** Tools the `agentic_map` sub-agents may use (none by default). */
  readonly agentTools?: ReadonlyArray<Tool.Tool> | undefined
  /** Offer the sub-agents only read-only tools. */
  readonly readOnly?: boolean | undefined
  /** Give the `agentic_map` sub-agents these tools too, so they can delegate further (guarded). */
  readonly nested?: boolean | undefined
}

/** `llm_map` and `agentic_map`, bound to `session`. */
export const make = (
  services: { readonly llmMap: LlmMapService; readonly agenticMap: AgenticMapService },
  session: Session,
  options: ToolsOptions = {}
): ReadonlyArray<Tool.Tool> => [
  Tool.make({
    name: "llm_map",
    description: "Run one model call per item, in parallel, outside your context: each item fills the " +
      "template, and each answer is checked against the fields you ask for. Answers with a short " +
      "note (counts and the run id); page through the results with expand on the run id.",
    input: LlmMapInput,
    handler: (input) => {
      const model = input.model ?? session.model
      const common = {
        items: input.items,
        template: input.template,
        model,
        session,
        note: false,
        ...(input.delegation === undefined ? {} : { delegation: input.delegation })
      }
      const schema = resultSchema(input.fields)
      const batch = schema === undefined
        ? Effect.map(
          services.llmMap.runAll({ ...common, schema: Schema.String }),
          (b) => answer("llm_map", b, { model, template: input.template })
        )
        : Effect.map(
          services.llmMap.runAll({ ...common, schema }),
          (b) => answer("llm_map", b, { model, template: input.template })
        )
      return batch
    }
  }),
  Tool.make({
    name: "agentic_map",
    description: "Run one sub-agent per item, in parallel, outside your context: each gets the item's " +
      "prompt, its own memory and the tools it is given, and works until its final answer. Answers " +
      "with a short note (counts and the run id); page through the results with expand on the run id.",
    input: AgenticMapInput,
    handler: (input) => {
      const common = {
        items: input.items,
        template: input.template,
        model: session.model,
        session,
        note: false,
        tools: options.agentTools ?? [],
        readOnly: options.readOnly ?? false,
        operatorTools: options.nested ?? false,
        ...(input.systemPrompt === undefined ? {} : { systemPrompt: input.systemPrompt }),
        ...(input.maxTurns === undefined ? {} : { maxTurns: input.maxTurns }),
        ...(input.delegation === undefined ? {} : { delegation: input.delegation })
      }
      const details = { model: session.model, template: input.template }
      const schema = resultSchema(input.fields)
      return schema === undefined
        ? Effect.map(services.agenticMap.runAll(common), (b) => answer("agentic_map", b, details))
        : Effect.map(
          services.agenticMap.runAll({ ...common, schema }),
          (b) => answer("agentic_map", b, details)
        )
    }
  })
]
