/**
 * The package as users get it: build, `npm pack`, install the tarball into a fresh project, then
 * run the Effect and the Promise quick starts from it and type-check a TypeScript consumer.
 * SQLite is Node's own (`node:sqlite`), so the install builds nothing.
 */
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = NodePath.resolve(import.meta.dirname, "../..")
const work = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-pack-"))
const project = NodePath.join(work, "consumer")
const env = {
  ...process.env,
  MNESIS_MOCK_LLM: "1",
  MNESIS_DB_PATH: NodePath.join(work, "sessions.db"),
  npm_config_loglevel: "error"
}

const npm = (args: ReadonlyArray<string>, cwd: string) =>
  execFileSync("npm", args, { cwd, env, encoding: "utf8" })
const node = (file: string) => execFileSync(process.execPath, [file], { cwd: project, env, encoding: "utf8" })

beforeAll(() => {
  const tarball = npm(["pack", "--pack-destination", work, "--json"], root)
  const packed = JSON.parse(tarball.slice(tarball.indexOf("["))) as ReadonlyArray<{ filename: string }>
  const filename = packed[0]?.filename
  if (filename === undefined) throw new Error(`npm pack printed no file name: ${tarball}`)
  NodeFs.mkdirSync(project)
  NodeFs.writeFileSync(
    NodePath.join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" })
  )
  npm([
    "install",
    "--no-audit",
    "--no-fund",
    "--ignore-scripts",
    "--prefer-offline",
    NodePath.join(work, filename)
  ], project)
})

afterAll(() => NodeFs.rmSync(work, { recursive: true, force: true }))

describe("the packed package", () => {
  it("ships only dist, README and LICENSE", () => {
    const files = NodeFs.readdirSync(NodePath.join(project, "node_modules/mnesis")).sort()
    expect(files).toEqual(["LICENSE", "README.md", "dist", "package.json"])
  })

  it("runs the Effect quick start", () => {
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
    const out = node("effect.mjs")
    expect(out).toContain("TEXT [mock reply] You said: \"Explain the GIL in Python.\"")
    expect(out).toMatch(/TOKENS \d+/)
  })

  it("runs the Promise quick start", () => {
    NodeFs.writeFileSync(
      NodePath.join(project, "promise.mjs"),
      `import { Mnesis } from "mnesis/promise"

// (plain JavaScript on Node 20 has no \`await using\`; TypeScript compiles it, see below)
const session = await Mnesis.open({ model: "openai/gpt-5" })
try {
  const turn = await session.send("What is lossless context management?")
  console.log("TEXT", turn.text)
  await session.send("   ")
} catch (error) {
  console.log("ERROR", error instanceof Error, error._tag)
} finally {
  await session.close()
}
await Mnesis.shutdown()
`
    )
    const out = node("promise.mjs")
    expect(out).toContain("TEXT [mock reply]")
    expect(out).toContain("ERROR true InvalidInput")
  })

  it("type-checks a TypeScript consumer against the shipped declarations", () => {
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
        files: ["consumer.ts"]
      })
    )
    NodeFs.writeFileSync(
      NodePath.join(project, "consumer.ts"),
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
    const result = (() => {
      try {
        return execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
          cwd: project,
          encoding: "utf8"
        })
      } catch (error) {
        return String((error as { stdout?: unknown }).stdout ?? error)
      }
    })()
    expect(result).toBe("")
  })
})
