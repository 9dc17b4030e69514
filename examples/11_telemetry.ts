/**
 * Example 11 — telemetry: mnesis's spans and metrics exported through `@effect/opentelemetry`.
 *
 *   MNESIS_MOCK_LLM=1 npx tsx examples/11_telemetry.ts
 *
 * Every model call gets a `chat <model>` span with the OpenTelemetry GenAI attributes (model,
 * tokens, cache tokens, finish reason, cost); each turn a `mnesis.turn` span; each compaction
 * round a `mnesis.compaction.round` span; and Effect metrics count tokens, cost, latency and
 * rounds. Here the OpenTelemetry SDK exports into memory so the example can print what was sent;
 * in production give `NodeSdk.layer` your exporter instead (OTLP, Jaeger, Honeycomb…), or use
 * `Otlp.layerJson({ baseUrl })` from `@effect/opentelemetry` — see docs/telemetry.md.
 *
 * `@effect/opentelemetry` and the OpenTelemetry SDK are optional: mnesis does not load them, your
 * program does.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Layer } from "effect"
import { makeLive, Session } from "../src/index.js"

// ---------------------------------------------------------------------------------------------
// The OpenTelemetry SDK, exporting into memory
// ---------------------------------------------------------------------------------------------

const spans = new InMemorySpanExporter()
const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)

/** Spans and Effect metrics go to the SDK; both are flushed when the layer closes. */
const Telemetry = NodeSdk.layer(() => ({
  resource: { serviceName: "mnesis-example", serviceVersion: "0.1.0" },
  spanProcessor: new SimpleSpanProcessor(spans),
  metricReader: new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 60_000 })
}))

// ---------------------------------------------------------------------------------------------
// A short session: three turns, a compaction, a grep
// ---------------------------------------------------------------------------------------------

const NOTES = "Notes so far: pages hold sorted keys, splits push a key up, merges pull one down. "

const session = Effect.scoped(Effect.gen(function*() {
  const session = yield* Session.open({
    model: "anthropic/claude-sonnet-4-5",
    systemPrompt: "You are a helpful assistant.",
    config: { compaction: { freshTailTurns: 1 } }
  })
  yield* Console.log("== Example 11: telemetry — spans and metrics through @effect/opentelemetry ==")
  const questions = [
    "What is a B-tree?",
    "How do B-trees stay balanced?",
    "Compare them with LSM trees.",
    "Which one suits a write-heavy log?"
  ]
  for (const question of questions) {
    const turn = yield* session.send(`${question} ${NOTES.repeat(6)}`)
    yield* Console.log(
      `turn: ${question} → ${turn.tokens.input} in, ${turn.tokens.output} out, $${turn.cost.toFixed(6)}`
    )
  }
  const compacted = yield* session.compact()
  yield* Console.log(
    `compaction: ${compacted.tokensBefore} → ${compacted.tokensAfter} tokens, level ${compacted.level}`
  )
  const found = yield* session.grep({ pattern: "B-tree" })
  yield* Console.log(`grep "B-tree": ${found.hits.length} hit(s)`)
  // Every span of the session has ended by now; the SDK exported each as it ended.
  return [...spans.getFinishedSpans()]
}))

// ---------------------------------------------------------------------------------------------
// What was exported
// ---------------------------------------------------------------------------------------------

const INTERESTING = /^(mnesis\.|chat |Compactor\.run|ContextBuilder\.build|MemoryTools\.)/

/** The spans mnesis made, as an indented tree. */
const spanTree = (all: ReadonlyArray<ReadableSpan>): Array<string> => {
  const shown = all.filter((span) => INTERESTING.test(span.name))
  const ids = new Map(all.map((span) => [span.spanContext().spanId, span]))
  /** The nearest shown ancestor, skipping store and SQL spans. */
  const parentOf = (span: ReadableSpan): ReadableSpan | undefined => {
    let parent = ids.get(span.parentSpanContext?.spanId ?? "")
    while (parent !== undefined && !INTERESTING.test(parent.name)) {
      parent = ids.get(parent.parentSpanContext?.spanId ?? "")
    }
    return parent
  }
  const lines: Array<string> = []
  const walk = (parent: ReadableSpan | undefined, depth: number) => {
    const children = shown
      .filter((span) => parentOf(span) === parent)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
    for (const span of children) {
      lines.push(`${"  ".repeat(depth)}${span.name}${describe(span)}`)
      walk(span, depth + 1)
    }
  }
  walk(undefined, 1)
  return lines
}

/** A few attributes of the spans worth showing. */
const describe = (span: ReadableSpan): string => {
  const a = (key: string) => String(span.attributes[key] ?? "")
  if (span.name === "mnesis.turn") {
    return `  turn ${a("mnesis.turn.number")}, context ${a("mnesis.context.tokens")} tokens`
  }
  if (span.name.startsWith("chat ")) {
    return `  ${a("mnesis.purpose")}: ${a("gen_ai.usage.input_tokens")} in ` +
      `(${a("gen_ai.usage.cache_read.input_tokens")} cached), ${a("gen_ai.usage.output_tokens")} out, ` +
      `$${Number(a("mnesis.cost.usd")).toFixed(6)}`
  }
  if (span.name === "mnesis.compaction.round") {
    const level = a("mnesis.compaction.level")
    return `  ${a("mnesis.compaction.kind")} ${a("mnesis.compaction.outcome")}` +
      (level === "" ? "" : `, level ${level}`) +
      `, ${a("mnesis.compaction.tokens_before")} → ${a("mnesis.compaction.tokens_after")} tokens`
  }
  return ""
}

/** Each exported metric with its data points summed (counters) or counted (histograms). */
const metricLines = (): Array<string> => {
  const lines: Array<string> = []
  for (const resource of metrics.getMetrics()) {
    for (const scope of resource.scopeMetrics) {
      for (const metric of scope.metrics) {
        const name = metric.descriptor.name
        if (!name.startsWith("mnesis.") && !name.startsWith("gen_ai.")) continue
        let total = 0
        let count = 0
        for (const point of metric.dataPoints) {
          const value: unknown = point.value
          if (typeof value === "number") total += value
          else if (typeof value === "object" && value !== null && "count" in value && "sum" in value) {
            count += Number(value.count)
            total += Number(value.sum)
          }
        }
        lines.push(
          count > 0
            ? `  ${name}: ${count} recorded, sum ${+total.toFixed(6)}`
            : `  ${name}: ${+total.toFixed(6)} (${metric.dataPoints.length} series)`
        )
      }
    }
  }
  return lines.sort()
}

const program = Effect.gen(function*() {
  const exported = yield* session.pipe(
    Effect.provide(Layer.merge(makeLive({ compaction: { auto: false } }), Telemetry))
  )
  // The SDK layer has closed, which flushed the metrics.
  yield* Console.log("\nspans:")
  for (const line of spanTree(exported)) yield* Console.log(line)
  yield* Console.log("\nmetrics:")
  for (const line of metricLines()) yield* Console.log(line)
})

program.pipe(NodeRuntime.runMain)
