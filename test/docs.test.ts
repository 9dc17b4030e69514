/**
 * The documentation agrees with the code: every configuration field of the schema is documented
 * in docs/configuration.md with the default the schema decodes, no documented field is unknown to
 * the schema, every name the examples import from `mnesis` or `mnesis/promise` is exported there,
 * every `session.…` member the pages mention exists, and the memory tools' documented inputs and
 * results are the real ones.
 *
 * The README and docs/ as a user meets them: every relative link reaches a page (and heading) the
 * package ships, the README's install command names the peer dependencies, and every code block is
 * type-checked against the sources and run (see support/snippets.ts for the markers of the few
 * that are not whole programs).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schema, SchemaAST } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { defaultConfig, MnesisConfig } from "../src/Config.js"
import * as PackageEntry from "../src/index.js"
import { MemoryTools, MnesisTest, Session } from "../src/index.js"
import * as PromiseEntry from "../src/promise.js"
import type { Exit } from "./support/process.js"
import type { Program } from "./support/snippets.js"
import {
  blocksOf,
  installCommand,
  limit,
  makeWorkspace,
  programsOf,
  runProgram,
  sourceEntries,
  typecheck,
  typeProblems,
  writePrograms
} from "./support/snippets.js"

const DOCS = fileURLToPath(new URL("../docs/", import.meta.url))

const read = (name: string): string => NodeFs.readFileSync(NodePath.join(DOCS, name), "utf8")

/** A documented configuration row. */
interface Row {
  readonly path: string
  readonly defaultCell: string
  readonly cells: ReadonlyArray<string>
}

/** Splits a Markdown table line into trimmed cells (`\|` stays inside a cell). */
const cellsOf = (line: string): Array<string> =>
  line.trim().replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/).map((cell) => cell.trim())

/** Every row of every table whose header has `field` and `default` columns. */
const configRows = (markdown: string): Array<Row> => {
  const rows: Array<Row> = []
  const lines = markdown.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.trim().startsWith("|")) continue
    const header = cellsOf(lines[i]!).map((cell) => cell.toLowerCase())
    const fieldAt = header.indexOf("field")
    const defaultAt = header.indexOf("default")
    let j = i + 1
    for (; j < lines.length && lines[j]!.trim().startsWith("|"); j++) {
      if (fieldAt === -1 || defaultAt === -1 || j === i + 1) continue // the |---| line
      const cells = cellsOf(lines[j]!)
      const field = /^`([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)+)`$/.exec(cells[fieldAt] ?? "")
      if (field !== null) rows.push({ path: field[1]!, defaultCell: cells[defaultAt] ?? "", cells })
    }
    i = j
  }
  return rows
}

/** The leaf field paths of a schema (nested structs are walked, their fields listed). */
const fieldPaths = (ast: SchemaAST.AST, prefix = ""): Array<string> => {
  const node = unwrap(ast)
  // a union of structs (the store, by backend): the fields of every member
  if (node._tag === "Union" && node.types.every((member) => unwrap(member)._tag === "TypeLiteral")) {
    return [...new Set(node.types.flatMap((member) => fieldPaths(member, prefix)))]
  }
  if (node._tag !== "TypeLiteral") return [prefix]
  return node.propertySignatures.flatMap((signature) =>
    fieldPaths(signature.type, prefix === "" ? String(signature.name) : `${prefix}.${String(signature.name)}`)
  )
}

const unwrap = (ast: SchemaAST.AST): SchemaAST.AST => {
  switch (ast._tag) {
    case "Refinement":
      return unwrap(ast.from)
    case "Transformation":
      return unwrap(ast.to)
    case "Suspend":
      return unwrap(ast.f())
    case "Union": {
      // An optional field's type may carry `undefined`; the struct inside is what counts.
      const members = ast.types.filter((member) => member._tag !== "UndefinedKeyword")
      return members.length === 1 ? unwrap(members[0]!) : ast
    }
    default:
      return ast
  }
}

/** The leaf paths of a decoded value (durations and arrays are leaves). */
const valuePaths = (value: unknown, prefix = ""): Array<string> =>
  value !== null && typeof value === "object" && !Array.isArray(value) && !Duration.isDuration(value)
    ? Object.entries(value).flatMap(([key, inner]) =>
      valuePaths(inner, prefix === "" ? key : `${prefix}.${key}`)
    )
    : [prefix]

const valueAt = (value: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>(
    (current, key) =>
      current !== null && typeof current === "object" ? (current as Record<string, unknown>)[key] : undefined,
    value
  )

const DURATION_UNITS: Record<string, (n: number) => Duration.Duration> = {
  ms: Duration.millis,
  s: Duration.seconds,
  min: Duration.minutes
}

/** A documented default as a value: "—" (none), `true`, `20_000`, `120 s`, `"warn"`, `["skill"]`. */
const parseDefault = (
  cell: string
): { readonly none: true } | { readonly none: false; readonly value: unknown } => {
  const text = cell.replace(/`/g, "").trim()
  if (text === "—") return { none: true }
  const duration = /^(\d+(?:\.\d+)?)\s*(ms|s|min)$/.exec(text)
  if (duration !== null) return { none: false, value: DURATION_UNITS[duration[2]!]!(Number(duration[1])) }
  if (text === "true" || text === "false") return { none: false, value: text === "true" }
  const number = text.replace(/[_,]/g, "")
  if (/^-?\d+(?:\.\d+)?$/.test(number)) return { none: false, value: Number(number) }
  return { none: false, value: JSON.parse(text) as unknown }
}

describe("docs/configuration.md", () => {
  const rows = configRows(read("configuration.md"))
  const documented = new Map(rows.map((row) => [row.path, row]))
  const schemaFields = fieldPaths(SchemaAST.typeAST(MnesisConfig.ast))

  it("documents each field once", () => {
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.length).toBe(documented.size)
  })

  it("documents every field of the schema, and nothing else", () => {
    expect([...documented.keys()].sort()).toEqual([...schemaFields].sort())
  })

  it("walks every field of the decoded defaults", () => {
    for (const path of valuePaths(defaultConfig)) expect(schemaFields).toContain(path)
  })

  it.each(schemaFields)("%s: the documented default is the schema's", (path) => {
    const row = documented.get(path)
    expect(row, `${path} is not documented`).toBeDefined()
    const documentedDefault = parseDefault(row!.defaultCell)
    const actual = valueAt(defaultConfig, path)
    if (documentedDefault.none) {
      expect(actual, `${path} is documented without a default but has one`).toBeUndefined()
      return
    }
    expect(actual, `${path} is documented with a default but has none`).toBeDefined()
    if (Duration.isDuration(actual)) {
      const expected = documentedDefault.value
      expect(Duration.isDuration(expected), `${path}: document the default as a duration, e.g. "30 s"`).toBe(
        true
      )
      expect(Duration.equals(actual, expected as Duration.Duration)).toBe(true)
    } else {
      expect(documentedDefault.value).toEqual(actual)
    }
  })

  it("gives every field a rule and a meaning", () => {
    for (const row of rows) {
      expect(row.cells.length, row.path).toBe(4)
      expect(row.cells[2], `${row.path}: rule`).not.toBe("")
      expect(row.cells[3], `${row.path}: meaning`).not.toBe("")
    }
  })

  it("defaultConfig is what an empty configuration decodes to", () => {
    expect(Schema.decodeSync(MnesisConfig)({})).toEqual(defaultConfig)
  })
})

// ---------------------------------------------------------------------------------------------
// Names the pages use
// ---------------------------------------------------------------------------------------------

const SRC = fileURLToPath(new URL("../src/", import.meta.url))

const pages = NodeFs.readdirSync(DOCS).filter((name) => name.endsWith(".md")).sort()

/** The TypeScript code blocks of a page. */
const codeBlocks = (markdown: string): Array<string> =>
  [...markdown.matchAll(/```(?:ts|typescript)\r?\n([\s\S]*?)```/g)].map((match) => match[1]!)

/** Names declared as types by a source file and the files it re-exports with `export *`. */
const typeExports = (file: string): Set<string> => {
  const text = NodeFs.readFileSync(NodePath.join(SRC, file), "utf8")
  const names = new Set<string>()
  for (
    const match of text.matchAll(/export\s+(?:declare\s+)?(?:interface|type|class)\s+([A-Za-z_$][\w$]*)/g)
  ) {
    names.add(match[1]!)
  }
  for (const match of text.matchAll(/export\s+(type\s+)?\{([^}]*)\}/g)) {
    for (const entry of match[2]!.split(",")) {
      const name = /^(?:type\s+)?([A-Za-z_$][\w$]*)/.exec(entry.trim())?.[1]
      if (name !== undefined) names.add(name)
    }
  }
  for (const match of text.matchAll(/export\s+\*\s+from\s+"\.\/([^"]+)\.js"/g)) {
    for (const name of typeExports(`${match[1]!}.ts`)) names.add(name)
  }
  return names
}

const entries = {
  mnesis: new Set([...Object.keys(PackageEntry), ...typeExports("index.ts")]),
  "mnesis/promise": new Set([...Object.keys(PromiseEntry), ...typeExports("promise.ts")])
} as const

/** `[page, module, name]` for every name a page's code imports from the package. */
const imported = pages.flatMap((page) =>
  codeBlocks(read(page)).flatMap((code) =>
    [...code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"(mnesis(?:\/promise)?)"/g)].flatMap(
      (match) =>
        match[1]!.split(",").map((entry) => entry.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]!)
          .filter((name) => name !== "")
          .map((name) => [page, match[2]! as keyof typeof entries, name] as const)
    )
  )
)

describe("imports in the docs", () => {
  it("import something from the package", () => {
    expect(imported.map(([, , name]) => name)).toContain("makeLayer")
    expect(imported.map(([, , name]) => name)).toContain("Mnesis")
  })

  it.each(imported)("%s imports from %s the exported name %s", (_page, module, name) => {
    expect(entries[module].has(name)).toBe(true)
  })
})

/** The `session` section of the configuration: `session.maxSteps` is a setting, not a member. */
const sessionSettings = new Set(
  fieldPaths(SchemaAST.typeAST(MnesisConfig.ast)).filter((path) => path.startsWith("session.")).map((path) =>
    path.split(".")[1]!
  )
)

/** The `session.member` names a page mentions (prose and code). */
const sessionMembers = (markdown: string): Array<string> => [
  ...new Set([...markdown.matchAll(/\bsession\.([A-Za-z_$][\w$]*)/g)].map((match) => match[1]!))
]

describe("session members in the docs", () => {
  it.effect("every session.… the Effect pages mention exists", () =>
    Effect.scoped(Effect.gen(function*() {
      const session = yield* Session.open({ model: "mock/test" })
      const members = new Set([...Object.keys(session), ...sessionSettings])
      for (const page of pages.filter((page) => page !== "promise.md")) {
        for (const member of sessionMembers(read(page))) {
          expect(members.has(member), `${page}: session.${member}`).toBe(true)
        }
      }
    })).pipe(Effect.provide(MnesisTest)))

  it("every session.… and Mnesis.… the Promise API page mentions exists", async () => {
    const client = PromiseEntry.client(MnesisTest)
    try {
      const session = await client.open({ model: "mock/test" })
      const members = new Set([...Object.keys(session), ...sessionSettings])
      await session.close()
      const page = read("promise.md")
      const mentioned = sessionMembers(page)
      expect(mentioned).toContain("close")
      for (const member of mentioned) expect(members.has(member), `session.${member}`).toBe(true)
      const entry = [...page.matchAll(/\bMnesis\.([A-Za-z_$][\w$]*)/g)].map((match) => match[1]!)
      expect(entry.length).toBeGreaterThan(0)
      for (const member of entry) {
        expect(Object.keys(PromiseEntry.Mnesis), `Mnesis.${member}`).toContain(member)
      }
    } finally {
      await client.dispose()
    }
  })
})

describe("memory tools in the docs", () => {
  const tools = ["grep", "describe", "expand"] as const
  const inputs = {
    grep: MemoryTools.GrepInput,
    describe: MemoryTools.DescribeInput,
    expand: MemoryTools.ExpandInput
  }
  /** Field names of a `{ a, b?, c? }` list, as the docs write inputs and results. */
  const fieldList = (text: string) =>
    text.split(",").map((field) => field.trim().replace(/\?$/, "")).filter((f) => f !== "")
  const concepts = read("concepts.md")

  it.each(tools)("session.%s: the documented input fields are the schema's", (tool) => {
    const documented = pages.flatMap((page) =>
      [...read(page).matchAll(new RegExp(`session\\.${tool}\\(\\{([^}]*)\\}\\)`, "g"))].map((match) =>
        fieldList(match[1]!)
      )
    )
    expect(documented.length, `session.${tool}({ … }) is documented`).toBeGreaterThan(0)
    const schemaFields = Object.keys(inputs[tool].fields).sort()
    for (const fields of documented) for (const field of fields) expect(schemaFields).toContain(field)
    expect([...new Set(documented.flat())].sort()).toEqual(schemaFields)
  })

  it.effect("the documented results have the real fields", () =>
    Effect.scoped(Effect.gen(function*() {
      const session = yield* Session.open({ model: "mock/test" })
      const turn = yield* session.send("remember the staging key KEY-4471")
      const results: Record<(typeof tools)[number], object> = {
        grep: yield* session.grep({ pattern: "KEY-4471" }),
        describe: yield* session.describe({ id: turn.messageId }),
        expand: yield* session.expand({ id: turn.messageId })
      }
      for (const tool of tools) {
        const name = `${tool[0]!.toUpperCase()}${tool.slice(1)}Result`
        const documented = new RegExp(`Effect<${name} \\{([^}]*)\\}>`).exec(concepts)
        expect(documented, `concepts.md documents ${name}`).not.toBeNull()
        expect(fieldList(documented![1]!).sort()).toEqual(Object.keys(results[tool]).sort())
      }
    })).pipe(Effect.provide(MnesisTest)))
})

// ---------------------------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------------------------

const ROOT = fileURLToPath(new URL("../", import.meta.url))
const readRoot = (path: string): string => NodeFs.readFileSync(NodePath.join(ROOT, path), "utf8")
const packageJson = JSON.parse(readRoot("package.json")) as {
  readonly files: ReadonlyArray<string>
  readonly peerDependencies: Record<string, string>
  readonly peerDependenciesMeta: Record<string, { readonly optional?: boolean }>
}
/** The peers every user installs (the optional ones serve one bridge each and say so in its page). */
const requiredPeers = Object.fromEntries(
  Object.entries(packageJson.peerDependencies).filter(([name]) =>
    packageJson.peerDependenciesMeta[name]?.optional !== true
  )
)
/** The README and every page of docs/, as paths from the root. */
const markdownPages = ["README.md", ...pages.map((page) => `docs/${page}`)]

/** Markdown without its code (fenced blocks and inline spans), where links are not links. */
const prose = (markdown: string): string =>
  markdown.replace(/^([ \t]*)```[\s\S]*?^\1```/gm, "").replace(/`[^`\n]*`/g, "")

/** The anchors GitHub and npm give a page's headings. */
const anchorsOf = (markdown: string): Set<string> => {
  const anchors = new Set<string>()
  // Headings keep their inline code (it is part of the anchor); only fenced blocks are skipped.
  for (
    const match of markdown.replace(/^([ \t]*)```[\s\S]*?^\1```/gm, "").matchAll(/^#{1,6}\s+(.+?)\s*$/gm)
  ) {
    const slug = match[1]!.replace(/`/g, "").toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(
      /\s/g,
      "-"
    )
    let anchor = slug
    for (let n = 1; anchors.has(anchor); n++) anchor = `${slug}-${n}`
    anchors.add(anchor)
  }
  return anchors
}

/** `[page, target]` for every relative link of a page (web addresses left out). */
const links = markdownPages.flatMap((page) =>
  [...prose(readRoot(page)).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
    .map((target) => [page, target] as const)
)

/** Whether a path from the root is in the package: under an entry of `files`, or package.json. */
const shipped = (path: string): boolean =>
  path === "package.json" ||
  packageJson.files.some((entry) => path === entry || path.startsWith(`${entry}/`))

describe("links in README.md and docs/", () => {
  it("are there (the docs link to each other)", () => {
    expect(links.filter(([page]) => page === "docs/README.md").length).toBeGreaterThan(5)
    expect(links.filter(([page]) => page === "README.md").length).toBeGreaterThan(5)
  })

  it.each(links)("%s links to %s, which the package ships", (page, target) => {
    const [file, anchor] = target.split("#") as [string, string | undefined]
    const path = file === "" ? page : NodePath.posix.join(NodePath.posix.dirname(page), file)
    expect(NodeFs.existsSync(NodePath.join(ROOT, path)), `${path} exists`).toBe(true)
    // npm shows the README without the repository around it: only what the package ships is there
    expect(shipped(path), `${path} is in package.json "files"`).toBe(true)
    if (anchor !== undefined) expect([...anchorsOf(readRoot(path))]).toContain(anchor)
  })
})

describe("README.md", () => {
  it("installs the package and every required peer dependency, with its range, in one command", () => {
    const command = installCommand(readRoot("README.md"))
    expect(command[0]).toBe("mnesis")
    const peers = Object.fromEntries(
      command.slice(1).map((spec) => {
        const at = spec.lastIndexOf("@")
        return at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, "(no range)"]
      })
    )
    expect(peers).toEqual(requiredPeers)
  })
})

// ---------------------------------------------------------------------------------------------
// The code in README.md and docs/: every block type-checked, and run
// ---------------------------------------------------------------------------------------------

const entriesOfSources = sourceEntries(ROOT)
const blocks = markdownPages.flatMap((page) => blocksOf(page, readRoot(page)))
const programs = markdownPages.flatMap((page) =>
  programsOf(blocks.filter((block) => block.page === page), entriesOfSources)
)

/** A block that is wrong on purpose: the harness must report it (type error, then a throw). */
const broken = programsOf(
  blocksOf(
    "broken.md",
    "```ts\nconst answer: number = \"forty-two\"\nthrow new Error(`broken on purpose: ${answer}`)\n```\n"
  ),
  entriesOfSources
)[0]!

/** Effect's log lines at warning level or above (logfmt or pretty). */
const LOGGED_PROBLEM = /level=(WARN|ERROR|FATAL)\b|\] (WARN|ERROR|FATAL) \(#\d+\)/
const RUN_TIMEOUT_MS = 120_000

const workspace = makeWorkspace(ROOT)
writePrograms(workspace, [...programs, broken])

let checked: Promise<Exit> | undefined
const typechecked = (): Promise<Exit> => (checked ??= typecheck(ROOT, workspace, [...programs, broken]))
const runs = new Map<Program, Promise<Exit>>()
const oneAtATime = limit(2)
const ran = (program: Program): Promise<Exit> => {
  let run = runs.get(program)
  if (run === undefined) {
    run = oneAtATime(() => runProgram(workspace, program, RUN_TIMEOUT_MS))
    runs.set(program, run)
  }
  return run
}
const toRun = programs.filter((program) => program.run && !program.isTestFile)

// The checks and runs start together and mostly overlap; the tests below wait for theirs.
beforeAll(() => {
  void typechecked()
  for (const program of [broken, ...toRun]) void ran(program)
})

afterAll(async () => {
  await Promise.allSettled([typechecked(), ...runs.values()])
  NodeFs.rmSync(workspace, { recursive: true, force: true })
})

describe("code blocks", () => {
  it("are found in the README and the docs, and few are left unrun", () => {
    expect(blocks.length).toBeGreaterThan(30)
    const counts = (kind: string): Record<string, number> => {
      const byPage: Record<string, number> = {}
      for (const block of blocks) {
        if (block.marker.kind === kind) byPage[block.page] = (byPage[block.page] ?? 0) + 1
      }
      return byPage
    }
    // Signatures written as TypeScript; a new one belongs here only if it is not code either.
    // The bridges' pages show a real provider package too (not installed here, and it needs a key).
    expect(counts("not-run")).toEqual({
      "docs/ai-sdk.md": 1,
      "docs/byo-llm.md": 2,
      "docs/concepts.md": 4,
      "docs/effect-ai.md": 2,
      "docs/storage.md": 1,
      "docs/telemetry.md": 1
    })
    // a real provider (byo-llm), a PostgreSQL server (postgres)
    expect(counts("typecheck-only")).toEqual({ "docs/byo-llm.md": 1, "docs/postgres.md": 1 })
  })

  it("subscribe before the turns whose events they are for", () => {
    for (const program of programs) {
      const subscribed = [...program.source.matchAll(/\bsession\.(subscribe|on)\(/g)].map((m) => m.index)
      const turns = [...program.source.matchAll(/\bsession\.(send|stream|record|compact)\(/g)].map((m) =>
        m.index
      )
      if (turns.length === 0) continue
      const lastTurn = Math.max(...turns)
      expect(subscribed.filter((at) => at > lastTurn), `${program.name} subscribes after its last turn`)
        .toEqual([])
    }
  })

  it("type-check against the sources", async () => {
    const result = await typechecked()
    const problems = typeProblems(result.stdout, [...programs, broken])
    // the harness sees a type error
    expect(problems.filter((p) => p.program === broken.name).map((p) => p.problem)).toEqual([
      "broken.md:2: error TS2322: Type 'string' is not assignable to type 'number'."
    ])
    expect(problems.filter((p) => p.program !== broken.name), result.stderr).toEqual([])
  }, RUN_TIMEOUT_MS * 2)

  it("a program that throws fails its run", async () => {
    const run = await ran(broken)
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain("broken on purpose: forty-two")
  }, RUN_TIMEOUT_MS * 2)

  it.each(toRun.map((program) => [program.name, program] as const))("%s runs", async (name, program) => {
    const run = await ran(program)
    const output = `${run.stdout}${run.stderr === "" ? "" : `\n--- stderr ---\n${run.stderr}`}`
    expect(run.code, `${name} exited with ${run.code}:\n${program.source}\n--- output ---\n${output}`).toBe(0)
    expect(output, `${name} logged a warning or an error`).not.toMatch(LOGGED_PROBLEM)
  }, RUN_TIMEOUT_MS * 4)
})

// The blocks that are test files run here, as tests of this suite.
for (const program of programs.filter((p) => p.isTestFile)) {
  describe(`${program.name} (a test file)`, async () => {
    await import(NodePath.join(workspace, program.file))
  })
}
