import { addEqualityTesters } from "@effect/vitest"
import { beforeEach } from "vitest"
import { nextMacrotask } from "./support/eventLoop.js"

addEqualityTesters()

// Between two tests the runner only awaits promises: without this, a file of Effect tests can
// hold the worker's event loop from its first test to its last, and its RPC with the main
// process times out (see support/eventLoop.ts).
beforeEach(nextMacrotask)
