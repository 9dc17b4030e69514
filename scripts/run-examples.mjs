#!/usr/bin/env node
// Runs examples/NN_*.ts one after another with the mock model, as the README's main command.
//
//   node scripts/run-examples.mjs          every example
//   node scripts/run-examples.mjs 02 04    the examples whose number is given
//
// MNESIS_MOCK_LLM defaults to 1 (no API key needed); set MNESIS_MOCK_LLM=0 and a provider key to
// run against a real model. MNESIS_DB_PATH is passed through (default ~/.mnesis/sessions.db).
// Exits non-zero on the first example that fails.
/* global console, process */
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const wanted = process.argv.slice(2)
const examples = readdirSync(join(root, "examples"))
  .filter((name) => /^\d\d_.*\.ts$/.test(name))
  .filter((name) => wanted.length === 0 || wanted.some((n) => name.startsWith(n.padStart(2, "0"))))
  .sort()

if (examples.length === 0) {
  console.error(`no example matches ${wanted.join(", ")}; see examples/README.md`)
  process.exit(1)
}

const env = { ...process.env, MNESIS_MOCK_LLM: process.env.MNESIS_MOCK_LLM ?? "1" }
for (const [i, name] of examples.entries()) {
  if (i > 0) console.log("")
  const { status, signal } = spawnSync(process.execPath, ["--import", "tsx", join("examples", name)], {
    cwd: root,
    env,
    stdio: "inherit"
  })
  if (status !== 0) {
    console.error(`examples/${name} failed (${signal ?? `exit code ${status}`})`)
    process.exit(status ?? 1)
  }
}
