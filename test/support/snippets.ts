/**
 * The code blocks of the README and docs/, as programs a test can type-check and run.
 *
 * Every ```ts / ```typescript / ```js block is code (a js block is an ES module, run but not
 * type-checked). A comment on the line before a block says how it is meant to be read, when it is
 * not a whole program:
 *
 * - `<!-- in-session -->`: statements of an `Effect.gen` body with `session` (a `Session` on the
 *   mock model) in scope;
 * - `<!-- continues -->`: the next part of the block before it on the page (one program);
 * - `<!-- typecheck-only: why -->`: a whole program that is type-checked but not run (it needs a
 *   real provider);
 * - `<!-- not-run: why -->`: not code (a signature written as TypeScript), left alone.
 *
 * Imports are hoisted and merged, and `mnesis` / `mnesis/promise` point at the sources, so that a
 * block is checked against the code of this checkout, not a build.
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { Exit } from "./process.js"
import { exec } from "./process.js"

export type Lang = "ts" | "js"

export type Marker =
  | { readonly kind: "program" }
  | { readonly kind: "in-session" }
  | { readonly kind: "continues" }
  | { readonly kind: "typecheck-only"; readonly reason: string }
  | { readonly kind: "not-run"; readonly reason: string }

export interface Block {
  readonly page: string
  /** 1-based line of the block's first line of code. */
  readonly line: number
  readonly lang: Lang
  readonly code: string
  readonly marker: Marker
}

const FENCE = /^([ \t]*)```([\w-]*)[ \t]*$/
const LANGS: Record<string, Lang> = { ts: "ts", typescript: "ts", js: "js", javascript: "js", mjs: "js" }
const MARKER = /^<!--\s*(in-session|continues|typecheck-only|not-run)(?::\s*(.*?))?\s*-->$/

/** The code blocks of a page, with their markers. A marker it does not know is an error. */
export const blocksOf = (page: string, markdown: string): Array<Block> => {
  const lines = markdown.split(/\r?\n/)
  const blocks: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!)
    if (open === null) continue
    const indent = open[1]!
    let end = i + 1
    while (end < lines.length && lines[end]!.trim() !== "```") end++
    if (end === lines.length) throw new Error(`${page}:${i + 1}: a code block that never closes`)
    const lang = Object.hasOwn(LANGS, open[2]!) ? LANGS[open[2]!] : undefined
    if (lang !== undefined) {
      const code = lines.slice(i + 1, end).map((line) =>
        line.startsWith(indent) ? line.slice(indent.length) : line
      )
      blocks.push({ page, line: i + 2, lang, code: code.join("\n"), marker: markerBefore(page, lines, i) })
    }
    i = end
  }
  return blocks
}

const markerBefore = (page: string, lines: ReadonlyArray<string>, fence: number): Marker => {
  let j = fence - 1
  while (j >= 0 && lines[j]!.trim() === "") j--
  const text = j >= 0 ? lines[j]!.trim() : ""
  if (!text.startsWith("<!--")) return { kind: "program" }
  const match = MARKER.exec(text)
  if (match === null) throw new Error(`${page}:${j + 1}: unknown snippet marker ${text}`)
  const reason = match[2] ?? ""
  switch (match[1]) {
    case "in-session":
      return { kind: "in-session" }
    case "continues":
      return { kind: "continues" }
    default: {
      if (reason === "") throw new Error(`${page}:${j + 1}: ${match[1]} needs a reason`)
      return { kind: match[1] === "not-run" ? "not-run" : "typecheck-only", reason }
    }
  }
}

/** The packages of the README's `npm install mnesis …` line, shell quotes removed. */
export const installCommand = (readme: string): Array<string> => {
  const line = /^npm install (mnesis(?: [^\n]*)?)$/m.exec(readme)
  if (line === null) throw new Error("README.md has no `npm install mnesis …` line")
  return line[1]!.trim().split(/\s+/).map((word) => word.replace(/^"(.*)"$/, "$1"))
}

// ---------------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------------

/** One program made of one block, or of a block and the blocks that continue it. */
export interface Program {
  /** `page:line` of its first block. */
  readonly name: string
  /** A file name for it. */
  readonly file: string
  readonly lang: Lang
  readonly blocks: ReadonlyArray<Block>
  readonly run: boolean
  /** It imports a test framework: its tests run inside the test suite, not as a process. */
  readonly isTestFile: boolean
  readonly source: string
  /** The page line of each line of `source` (0 for lines the harness added). */
  readonly lineMap: ReadonlyArray<number>
}

/** Groups the blocks of one page into programs (`not-run` blocks are left out). */
export const programsOf = (blocks: ReadonlyArray<Block>, entries: Entries): Array<Program> => {
  const groups: Array<Array<Block>> = []
  for (const block of blocks) {
    if (block.marker.kind === "not-run") continue
    if (block.marker.kind === "continues") {
      const previous = groups[groups.length - 1]
      if (previous === undefined) {
        throw new Error(`${block.page}:${block.line}: continues, but nothing is before it`)
      }
      previous.push(block)
    } else {
      groups.push([block])
    }
  }
  return groups.map((group) => assemble(group, entries))
}

/** Where each of the package's entry points (`mnesis`, `mnesis/promise`, …) points. */
export type Entries = Readonly<Record<string, string>>

/** Every entry point of the package, pointed at its source module (`./x` → `src/x.ts`). */
export const sourceEntries = (root: string): Entries => ({
  mnesis: NodePath.join(root, "src/index.ts"),
  "mnesis/promise": NodePath.join(root, "src/promise.ts"),
  "mnesis/effect-ai": NodePath.join(root, "src/effect-ai.ts"),
  "mnesis/ai-sdk": NodePath.join(root, "src/ai-sdk.ts")
})

interface Line {
  readonly text: string
  readonly at: number
}

const IMPORT = /^import\s+(type\s+)?([\s\S]*?)\s+from\s+"([^"]+)";?[ \t]*$/gm

const assemble = (group: ReadonlyArray<Block>, entries: Entries): Program => {
  const first = group[0]!
  const named = new Map<string, Set<string>>()
  const whole: Array<string> = []
  const modules = new Set<string>()
  const body: Array<Line> = []
  for (const block of group) {
    const imports: Array<{ readonly start: number; readonly end: number }> = []
    for (const match of block.code.matchAll(IMPORT)) {
      imports.push({ start: match.index, end: match.index + match[0].length })
      const module = match[3]!
      modules.add(module)
      const target = entries[module] ?? module
      const clause = match[2]!.trim()
      const braces = /^\{([\s\S]*)\}$/.exec(clause)
      if (braces === null) {
        whole.push(`import ${match[1] ?? ""}${clause} from ${JSON.stringify(target)}`)
        continue
      }
      const names = named.get(target) ?? new Set<string>()
      for (const name of braces[1]!.split(",").map((n) => n.trim()).filter((n) => n !== "")) {
        names.add(match[1] === undefined ? name : `type ${name.replace(/^type\s+/, "")}`)
      }
      named.set(target, names)
    }
    const codeLines = block.code.split("\n")
    let offset = 0
    codeLines.forEach((text, index) => {
      const inImport = imports.some((range) => offset >= range.start && offset < range.end)
      offset += text.length + 1
      if (!inImport) body.push({ text, at: block.line + index })
    })
  }
  const importLines: Array<Line> = [
    ...[...new Set(whole)].map((text) => ({ text, at: 0 })),
    ...[...named].map(([module, names]) => ({
      text: `import { ${[...names].join(", ")} } from ${JSON.stringify(module)}`,
      at: 0
    }))
  ]
  const inSession = first.marker.kind === "in-session"
  const lines: Array<Line> = inSession
    ? [
      ...importLines,
      { text: `import { Effect as DocsEffect } from "effect"`, at: 0 },
      {
        text: `import { MnesisLive as DocsLive, Session as DocsSession } from ${
          JSON.stringify(entries.mnesis)
        }`,
        at: 0
      },
      { text: "await DocsEffect.runPromise(DocsEffect.scoped(DocsEffect.gen(function*() {", at: 0 },
      { text: `  const session = yield* DocsSession.open({ model: "mock/docs" })`, at: 0 },
      ...body.map((line) => ({ text: `  ${line.text}`, at: line.at })),
      { text: "})).pipe(DocsEffect.provide(DocsLive)))", at: 0 }
    ]
    : [...importLines, ...body]
  const source = `${lines.map((line) => line.text).join("\n")}\n`
  const stem = `${first.page.replace(/[^\w]+/g, "_")}_L${first.line}`
  return {
    name: `${first.page}:${first.line}`,
    file: `${stem}.${first.lang === "ts" ? "ts" : "mjs"}`,
    lang: first.lang,
    blocks: group,
    run: first.marker.kind !== "typecheck-only",
    isTestFile: modules.has("vitest") || modules.has("@effect/vitest"),
    source,
    lineMap: lines.map((line) => line.at)
  }
}

/** `tsc --pretty false` output, one problem per line, given back as `page:line: message`. */
export const typeProblems = (
  output: string,
  programs: ReadonlyArray<Program>
): Array<{ readonly program: string; readonly problem: string }> =>
  output.split(/\r?\n/).flatMap((line) => {
    const match = /^(.*?)\((\d+),(\d+)\): (error .*)$/.exec(line)
    if (match === null) return []
    const program = programs.find((p) => NodePath.basename(match[1]!) === p.file)
    if (program === undefined) return [{ program: "(outside the snippets)", problem: line }]
    const at = program.lineMap[Number(match[2]) - 1] ?? 0
    const where = at === 0 ? `${program.name} (a line the harness adds)` : `${program.blocks[0]!.page}:${at}`
    return [{ program: program.name, problem: `${where}: ${match[4]}` }]
  })

// ---------------------------------------------------------------------------------------------
// Checking and running
// ---------------------------------------------------------------------------------------------

/**
 * A temporary folder for the programs: an ES module scope whose `node_modules` is the checkout's,
 * so that `effect`, `@effect/vitest` and the sources resolve as they do for the tests.
 */
export const makeWorkspace = (root: string): string => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-docs-"))
  NodeFs.symlinkSync(NodePath.join(root, "node_modules"), NodePath.join(dir, "node_modules"), "dir")
  NodeFs.writeFileSync(NodePath.join(dir, "package.json"), JSON.stringify({ private: true, type: "module" }))
  return dir
}

export const writePrograms = (dir: string, programs: ReadonlyArray<Program>): void => {
  for (const program of programs) NodeFs.writeFileSync(NodePath.join(dir, program.file), program.source)
}

/**
 * Type-checks the TypeScript programs together with the project's compiler settings (unused names
 * allowed: a snippet may declare something only to show it), and resolves `tsc`'s output.
 */
export const typecheck = (root: string, dir: string, programs: ReadonlyArray<Program>): Promise<Exit> => {
  NodeFs.writeFileSync(
    NodePath.join(dir, "tsconfig.json"),
    JSON.stringify({
      extends: NodePath.join(root, "tsconfig.json"),
      compilerOptions: {
        noUnusedLocals: false,
        noUnusedParameters: false,
        allowImportingTsExtensions: true,
        noEmit: true
      },
      include: [],
      files: programs.filter((program) => program.lang === "ts").map((program) => program.file)
    })
  )
  const tsc = NodePath.join(root, "node_modules/typescript/bin/tsc")
  return exec(process.execPath, [tsc, "-p", "tsconfig.json", "--pretty", "false"], {
    cwd: dir,
    timeoutMs: 300_000
  })
}

/** Runs a program as a user would run it (with tsx), on the mock model and a database of its own. */
export const runProgram = (dir: string, program: Program, timeoutMs: number): Promise<Exit> =>
  exec(process.execPath, ["--import", "tsx", program.file], {
    cwd: dir,
    env: {
      ...process.env,
      MNESIS_MOCK_LLM: "1",
      MNESIS_DB_PATH: NodePath.join(dir, `${program.file}.db`),
      NO_COLOR: "1"
    },
    timeoutMs
  })

/** At most `n` of the started tasks run at once. */
export const limit = (n: number) => {
  let running = 0
  const waiting: Array<() => void> = []
  return async <A>(task: () => Promise<A>): Promise<A> => {
    if (running < n) running++
    else await new Promise<void>((resolve) => waiting.push(resolve)) // the slot is handed over
    try {
      return await task()
    } finally {
      const next = waiting.shift()
      if (next === undefined) running--
      else next()
    }
  }
}
