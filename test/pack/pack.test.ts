/**
 * The package as users get it: build, `npm pack`, then a fresh `npm init -y` project (CommonJS, as
 * npm makes it) runs the README's install command with the tarball in place of `mnesis`, and runs
 * the README's Promise example with `import` (.mjs) and with `require` (.cjs), the Effect quick
 * start, and type-checks a TypeScript consumer.
 *
 * Runtimes: the supported ones, Node 22 (≥ 22.16) and 24 (`engines`), where `require()` loads an
 * ES module that has no top-level await. CI runs this file on both.
 * SQLite is Node's own (`node:sqlite`), so the install builds nothing.
 *
 * Every child runs asynchronously: a synchronous `npm install` would hold the test worker's event
 * loop, and its RPC with vitest, for as long as the install takes.
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Exit } from "../support/process.js"
import { exec } from "../support/process.js"
import { blocksOf, installCommand } from "../support/snippets.js"

const root = NodePath.resolve(import.meta.dirname, "../..")
const work = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-pack-"))
const project = NodePath.join(work, "consumer")
const env = {
  ...process.env,
  MNESIS_MOCK_LLM: "1",
  MNESIS_DB_PATH: NodePath.join(work, "sessions.db"),
  npm_config_loglevel: "error"
}
const CHILD_TIMEOUT_MS = 480_000

/** Runs a child and fails with its output unless it exits 0; resolves its stdout. */
const succeed = async (command: string, args: ReadonlyArray<string>, cwd: string): Promise<string> => {
  const exit: Exit = await exec(command, args, { cwd, env, timeoutMs: CHILD_TIMEOUT_MS })
  if (exit.code !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited with ${exit.code}:\n${exit.stdout}\n${exit.stderr}`)
  }
  return exit.stdout
}
const npm = (args: ReadonlyArray<string>, cwd: string) => succeed("npm", args, cwd)
const node = (file: string) => succeed(process.execPath, [file], project)

const readme = NodeFs.readFileSync(NodePath.join(root, "README.md"), "utf8")

/** The README's Promise example: the block that imports `mnesis/promise`. */
const promiseExample = (() => {
  const block = blocksOf("README.md", readme).find((b) => b.code.includes(`from "mnesis/promise"`))
  if (block === undefined) throw new Error("README.md has no example importing mnesis/promise")
  return block.code
})()

/** The same program for CommonJS: `require` for the imports, the rest in an async function. */
const asCommonJs = (code: string): string => {
  const imports = /^import\s+\{([^}]*)\}\s+from\s+("[^"]+")\s*$/gm
  const requires = [...code.matchAll(imports)].map((m) => `const {${m[1]}} = require(${m[2]})`)
  const body = code.replace(imports, "").trim()
  return `${requires.join("\n")}\n\nasync function main() {\n${body}\n}\n\n` +
    `main().catch((error) => {\n  console.error(error)\n  process.exitCode = 1\n})\n`
}

const installed = installCommand(readme)

beforeAll(async () => {
  const packed = await npm(["pack", "--pack-destination", work, "--json"], root)
  const files = JSON.parse(packed.slice(packed.indexOf("["))) as ReadonlyArray<{ filename: string }>
  const filename = files[0]?.filename
  if (filename === undefined) throw new Error(`npm pack printed no file name: ${packed}`)
  NodeFs.mkdirSync(project)
  await npm(["init", "-y"], project)
  // the README's command, with the tarball for the package
  await npm([
    "install",
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    ...installed.map((spec) => spec === "mnesis" ? NodePath.join(work, filename) : spec)
  ], project)
})

afterAll(() => NodeFs.rmSync(work, { recursive: true, force: true }))

describe("the packed package in a fresh npm init -y project", () => {
  it("is a CommonJS project that depends on what the README installs", () => {
    const manifest = JSON.parse(NodeFs.readFileSync(NodePath.join(project, "package.json"), "utf8")) as {
      readonly type?: string
      readonly dependencies: Record<string, string>
    }
    expect(manifest.type ?? "commonjs").toBe("commonjs")
    const names = installed.map((spec) =>
      spec.slice(0, spec.lastIndexOf("@") > 0 ? spec.lastIndexOf("@") : undefined)
    )
    expect(Object.keys(manifest.dependencies).sort()).toEqual(names.sort())
  })

  it("ships dist, docs, README and LICENSE", () => {
    const files = NodeFs.readdirSync(NodePath.join(project, "node_modules/mnesis")).sort()
    expect(files).toEqual(["LICENSE", "README.md", "dist", "docs", "package.json"])
    expect(NodeFs.existsSync(NodePath.join(project, "node_modules/mnesis/docs/configuration.md"))).toBe(true)
  })

  it("runs the README's Promise example with import", async () => {
    NodeFs.writeFileSync(NodePath.join(project, "readme.mjs"), promiseExample)
    const out = await node("readme.mjs")
    expect(out).toContain(`[mock reply] You said: "What is a write-ahead log?"`)
    expect(out).toContain(`You said: "Shorter?"`)
  })

  it("runs the README's Promise example with require", async () => {
    NodeFs.writeFileSync(NodePath.join(project, "readme.cjs"), asCommonJs(promiseExample))
    const out = await node("readme.cjs")
    expect(out).toContain(`[mock reply] You said: "What is a write-ahead log?"`)
    expect(out).toContain(`You said: "Shorter?"`)
  })

  it("require() and import give the same modules for both entry points (no top-level await)", async () => {
    NodeFs.writeFileSync(
      NodePath.join(project, "both.cjs"),
      `const main = require("mnesis")
const promise = require("mnesis/promise")
Promise.all([import("mnesis"), import("mnesis/promise")]).then(([esmMain, esmPromise]) => {
  console.log("SAME", main.Session === esmMain.Session && promise.Mnesis === esmPromise.Mnesis)
  console.log("EXPORTS", Object.keys(main).length, Object.keys(promise).length)
})
`
    )
    const out = await node("both.cjs")
    expect(out).toContain("SAME true")
    expect(out).toMatch(/EXPORTS [1-9]\d* [1-9]\d*/)
  })

  it("runs the Effect quick start", async () => {
    NodeFs.writeFileSync(
      NodePath.join(project, "effect.mjs"),
      `import { Effect } from "effect"
import { MnesisLive, Session, TokenUsage } from "mnesis"

const program = Effect.scoped(Effect.gen(function* () {
  const session = yield* Session.open({ model: "anthropic/claude-opus-4-6", systemPrompt: "You are a helpful assistant." })
  const turn = yield* session.send("Explain the GIL in Python.")
  console.log("TEXT", turn.text)
  console.log("TOKENS", TokenUsage.effectiveTotal(turn.tokens))
}))
await Effect.runPromise(program.pipe(Effect.provide(MnesisLive)))
`
    )
    const out = await node("effect.mjs")
    expect(out).toContain("TEXT [mock reply] You said: \"Explain the GIL in Python.\"")
    expect(out).toMatch(/TOKENS \d+/)
  })

  it("type-checks a TypeScript consumer against the shipped declarations", async () => {
    NodeFs.writeFileSync(
      NodePath.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          lib: ["ES2024"],
          noEmit: true,
          skipLibCheck: true,
          types: []
        },
        files: ["consumer.mts"]
      })
    )
    NodeFs.writeFileSync(
      NodePath.join(project, "consumer.mts"),
      `import { Effect } from "effect"
import { MnesisTest, Session, type TurnResult } from "mnesis"
import { Mnesis, type PromiseSession } from "mnesis/promise"

export const turn: Effect.Effect<TurnResult, Session.MnesisError> = Effect.scoped(
  Effect.flatMap(Session.open({ model: "mock/x" }), (s) => s.send("hi"))
).pipe(Effect.provide(MnesisTest))
export const open: Promise<PromiseSession> = Mnesis.open({ model: "mock/x" })
`
    )
    const tsc = NodePath.join(root, "node_modules/typescript/bin/tsc")
    const result = await exec(process.execPath, [tsc, "-p", "tsconfig.json"], {
      cwd: project,
      timeoutMs: CHILD_TIMEOUT_MS
    })
    expect(`${result.stdout}${result.stderr}`).toBe("")
    expect(result.code).toBe(0)
  })
})
