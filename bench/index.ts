/** Every benchmark, in the order `npm run bench` runs them. */
import compaction from "./compaction.js"
import files from "./files.js"
import grep from "./grep.js"
import type { Benchmark } from "./harness.js"
import memory from "./memory.js"
import operators from "./operators.js"
import postgres from "./postgres.js"
import prefix from "./prefix.js"
import quality from "./quality.js"
import session from "./session.js"
import storage from "./storage.js"
import tokenizer from "./tokenizer.js"

export const benchmarks: ReadonlyArray<Benchmark> = [
  storage,
  tokenizer,
  session,
  compaction,
  prefix,
  memory,
  grep,
  files,
  operators,
  postgres,
  quality
]
