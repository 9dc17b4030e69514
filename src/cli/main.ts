#!/usr/bin/env node
/**
 * The `mnesis` executable (package `bin`).
 *
 * @internal
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import { run } from "./Cli.js"

run(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  // `run` printed any failure already; the runtime only sets the exit code.
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
