/**
 * Running the `mnesis` command as a person does: the package's `bin`, built with the project's
 * build settings into a scratch folder, run as a child process; and databases written by real
 * sessions: the README's `npm run example` (a 62-turn agent on a small window, so compaction
 * rounds happen) and the tool-use example. (Built once per test file: starting every command
 * through `tsx` costs seconds each on a loaded machine.)
 */
import { Effect, Schema } from "effect"
import { execFile, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import type * as Storage from "../../src/Storage.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"

export const ROOT = fileURLToPath(new URL("../..", import.meta.url))

let main: string | undefined

/**
 * Builds the package (`tsc -p tsconfig.build.json`) into a scratch folder inside node_modules
 * (so the built files resolve the project's dependencies) and returns the `bin` file in it.
 * Every command run by {@link mnesis} runs that file.
 */
export const buildCli = async (): Promise<string> => {
  const manifest = JSON.parse(NodeFs.readFileSync(NodePath.join(ROOT, "package.json"), "utf8")) as {
    readonly bin?: Record<string, string>
  }
  const bin = manifest.bin?.["mnesis"]
  if (bin === undefined) throw new Error("package.json has no bin entry for mnesis")
  const cache = NodePath.join(ROOT, "node_modules/.cache")
  NodeFs.mkdirSync(cache, { recursive: true })
  const outDir = NodeFs.mkdtempSync(NodePath.join(cache, "mnesis-cli-test-"))
  await runToEnd(process.execPath, [
    NodePath.join(ROOT, "node_modules/typescript/bin/tsc"),
    "-p",
    "tsconfig.build.json",
    "--outDir",
    outDir,
    "--declaration",
    "false"
  ], process.env)
  main = NodePath.join(outDir, NodePath.relative("dist", NodePath.normalize(bin)))
  return main
}

/** Removes what {@link buildCli} built. */
export const removeBuild = (): void => {
  if (main !== undefined) {
    NodeFs.rmSync(NodePath.dirname(NodePath.dirname(main)), { recursive: true, force: true })
  }
}

/** The environment without any database setting of the machine running the tests. */
export const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  for (const name of ["MNESIS_DB_PATH", "MNESIS_DATABASE_URL"]) if (!(name in extra)) delete env[name]
  return env
}

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** `mnesis …args`, to completion. */
export const mnesis = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve) => {
    if (main === undefined) throw new Error("call buildCli() first (in beforeAll)")
    execFile(
      process.execPath,
      [main, ...args],
      { cwd: ROOT, env: cleanEnv(env), maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
          stdout,
          stderr
        })
    )
  })

/** `mnesis …args --json`, parsed (the command must succeed). */
export const mnesisJson = async (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Promise<unknown> => {
  const run = await mnesis([...args, "--json"], env)
  if (run.code !== 0) throw new Error(`mnesis ${args.join(" ")} failed (${run.code}): ${run.stderr}`)
  return JSON.parse(run.stdout)
}

/** A fresh temporary directory. */
export const tempDir = (): string => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-cli-"))

const runToEnd = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("error", reject)
    child.on(
      "close",
      (code) =>
        code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${output}`))
    )
  })

/**
 * A database written by `npm run example` (example 02: 62 turns on an 8,000-token window) and,
 * with `tools`, example 03 (tool calls, pruned outputs) into the same file.
 */
export const exampleDatabase = async (options: { readonly tools?: boolean } = {}): Promise<string> => {
  const path = NodePath.join(tempDir(), "sessions.db")
  const env = cleanEnv({ MNESIS_DB_PATH: path, MNESIS_MOCK_LLM: "1" })
  await runToEnd("npm", ["run", "example", "--silent"], env)
  if (options.tools === true) await runToEnd(process.execPath, ["scripts/run-examples.mjs", "03"], env)
  return path
}

/** The configuration example 02 runs with (its window and output budgets). */
export const EXAMPLE_CONFIG = JSON.stringify({
  compaction: { compactionOutputBudget: 1_000 },
  modelOverrides: { contextLimit: 8_000, maxOutputTokens: 1_000 }
})

/** Reads the database in this process, through the same store the library uses. */
export const readStore = <A, E>(path: string, read: (store: Storage.Service) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(SqliteStore.make({ filename: path }), read))

/** `mnesis …args` as an effect. */
export const run = (args: ReadonlyArray<string>, env?: Record<string, string>) =>
  Effect.promise(() => mnesis(args, env))

/** `mnesis …args --json` as an effect, decoded with `schema`. */
export const runJson = <A, I>(
  schema: Schema.Schema<A, I>,
  args: ReadonlyArray<string>,
  env?: Record<string, string>
) => Effect.flatMap(Effect.promise(() => mnesisJson(args, env)), Schema.decodeUnknown(schema))
