/** Every benchmark, in the order `npm run bench` runs them. */
import type { Benchmark } from "./harness.js"
import storage from "./storage.js"

export const benchmarks: ReadonlyArray<Benchmark> = [storage]
