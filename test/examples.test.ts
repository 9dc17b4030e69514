/**
 * The examples run as users run them: each `examples/NN_*.ts` as a child process with the mock
 * model and a database in a fresh temporary directory. Each must exit 0 without logging warnings
 * or errors, and print the lines that show what it is about (examples not listed below must at
 * least print something).
 *
 * The children start together when the file starts, two at a time, so the tests mostly wait.
 */
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const EXAMPLES = NodePath.join(ROOT, "examples")
const CONCURRENCY = 2
/** A child still running after this is killed (and its test fails): a hang, not a slow machine. */
const CHILD_TIMEOUT_MS = 240_000

/** What each example must print: substrings, or patterns matched against the whole stdout. */
const expected: Record<string, ReadonlyArray<string | RegExp>> = {
  "01_basic_session.ts": [
    "== Example 1",
    /session sess_\w+/,
    /assistant: .*Explain the GIL in Python\./,
    /session total: \d+ tokens over 2 turns/
  ],
  "02_long_running_agent.ts": [
    "== Example 2",
    /turn 60 +[\d,]+ █+/,
    /compaction triggered \(soft\) at [\d,]+ tokens/,
    /compaction done: [\d,]+ → [\d,]+ tokens, level [123], \d+ summar/,
    "manual session.compact():",
    /→ compacted: [\d,]+ → [\d,]+ tokens/,
    /→ compacted=false \([\d,]+ → [\d,]+ tokens\)/,
    /history keeps all 124 messages/
  ],
  "03_tool_use.ts": [
    "== Example 3",
    "→ calculator({\"a\":1234,\"op\":\"*\",\"b\":5678})",
    "← calculator: 7 chars, \"7006652\"",
    /← read_file: [\d,]+ chars/,
    "· step 3",
    "(3 provider calls, finish: stop)",
    /✂ pruned \d+ old tool output\(s\), [\d,]+ tokens freed/,
    /\d+ file reads tombstoned/,
    /\[output of tool "read_file" pruned to save context \([\d,]+ chars\); expand\("msg_\w+"\)/,
    /session\.messages\(\) still has it: read_file\(.*\) → [\d,]+ chars \(compactedAt set: true\)/
  ],
  "04_memory_tools.ts": [
    "== Example 4",
    /after 40 turns the context holds [\d,]+ tokens, [\d,]+ of them in summaries/,
    /grep "KEY-4471": \d+ hit\(s\)/,
    /msg_\w+ \(user, covered by (sum_\w+)\): Note for later[\s\S]*describe \1:[\s\S]*leaf summary[\s\S]*expand \1: \d+ of \d+ item/,
    /the original message msg_\w+:\n.*\n.*current key id is KEY-4471\./,
    "nothing was lost: 80 messages stored"
  ],
  "05_resume.ts": [
    "== Example 5",
    // The session loaded in the second program is the one created in the first.
    /session id: (sess_\w+)[\s\S]*loaded \1/,
    "system prompt: \"You are a helpful assistant with a good memory.\"",
    /usage so far: \d+ tokens; turns: 1/,
    "user: Remember: the secret code is 42.",
    /assistant: .*I can see 3 messages/,
    /turns now: 2/
  ],
  "06_byo_llm.ts": [
    "== Example 6",
    /\(6 messages in; your first: "My name is Alice and I work on compilers\."\)/,
    /usage: \d+ tokens \(\d+ in, \d+ out\)/,
    "history: 3 turns, 6 stored messages"
  ],
  "07_streaming.ts": [
    "== Example 7",
    /assistant: .*lighthouse keeper/,
    /turn_complete: \d+ deltas .*finish stop/,
    /onPart saw: text_delta(, text_delta)*/,
    /send returned: /
  ],
  "08_promise_api.ts": [
    "== Example 8",
    /assistant: .*What is a write-ahead log\?/,
    /streamed \d+ deltas; turn_complete after 1 step\(s\)/,
    /refused: ContextOverflow — the newest turn needs \d+ tokens/,
    /MessageCreated events: user, assistant/,
    /grep "write-ahead": [1-9]\d* hit\(s\); 4 messages stored/
  ],
  "14_large_files.ts": [
    "== Example 14",
    "notes.md: inline=true, 8 tokens, type markdown",
    /Duration\.ts: inline=false, 7,908 tokens, type typescript, id file_[0-9a-f]{12}…/,
    "TypeScript module, 1,149 lines",
    /sent: the context was [\d,]+ tokens \(the file alone is 7,908\)/,
    "describe: file_…: file node_modules/effect/src/Duration.ts (typescript), 1,149 lines, 26,333 bytes",
    "expand symbol=sum: expand file_…: node_modules/effect/src/Duration.ts (typescript, 1,149 lines), const sum (lines 779–797)",
    /grep "toMillis": \d+ message hit\(s\), [1-9]\d* line\(s\) in files/,
    "Duration.ts:301: export const [toMillis] = (self: DurationInput): number =>",
    "the same content at another path: same id true, reused true",
    "changed: new id true; the old id still expands (1 page, file deleted from disk)",
    "attachFile of a missing file: FileError — file no-such-file.ts does not exist"
  ],
  "12_parallel_operators.ts": [
    "== Example 12",
    "[██████████]  60/60",
    /LLM-Map run_\w+: 60 classified, 0 failed, 60 calls/,
    /sub-agent sess_\w+ on Acme Robotics: /,
    /note in the lead session: \[llm_map run_\w+ completed: 60 items, 60 done, 0 failed/,
    /note in the lead session: \[agentic_map run_\w+ completed: 3 items, 3 done, 0 failed/,
    /expand run_\w+: \d+ of 60 results on the first page/,
    /resumed run_\w+: 30\/30 results, 30 calls in all/
  ]
}

/** Effect's logger lines at warning level or above, e.g. `[10:00:00.000] WARN (#12): …`. */
const LOGGED_PROBLEM = /\] (WARN|ERROR|FATAL) \(#\d+\)/

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

const examples = NodeFs.readdirSync(EXAMPLES).filter((name) => /^\d\d_.*\.ts$/.test(name)).sort()

let dir = ""
const runs = new Map<string, Promise<Run>>()

const runExample = (name: string): Promise<Run> =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, ["--import", "tsx", NodePath.join("examples", name)], {
      cwd: ROOT,
      env: {
        ...process.env,
        MNESIS_MOCK_LLM: "1",
        MNESIS_DB_PATH: NodePath.join(dir, `${name.replace(/\.ts$/, "")}.db`),
        NO_COLOR: "1"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS)
    child.on("error", (error) => (stderr += `\n${String(error)}`))
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
  })

beforeAll(() => {
  dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "mnesis-examples-"))
  // A promise per example now; CONCURRENCY workers take the examples in order and settle them.
  const queue = [...examples]
  const settle = new Map<string, (run: Run) => void>()
  for (const name of examples) runs.set(name, new Promise((resolve) => settle.set(name, resolve)))
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      settle.get(name)!(await runExample(name))
    }
  }
  for (let i = 0; i < CONCURRENCY; i++) void worker()
})

afterAll(async () => {
  await Promise.allSettled(runs.values())
  NodeFs.rmSync(dir, { recursive: true, force: true })
})

describe("examples", () => {
  it("finds the examples", () => {
    expect(examples).toContain("01_basic_session.ts")
  })

  for (const name of examples) {
    it(name, async () => {
      const run = await runs.get(name)!
      const output = `${run.stdout}${run.stderr === "" ? "" : `\n--- stderr ---\n${run.stderr}`}`
      expect(run.code, `${name} exited with ${run.code} after ${run.ms} ms:\n${output}`).toBe(0)
      expect(run.stdout.trim().length, `${name} printed nothing`).toBeGreaterThan(0)
      expect(output, `${name} logged a warning or an error`).not.toMatch(LOGGED_PROBLEM)
      for (const want of expected[name] ?? []) {
        if (typeof want === "string") expect(run.stdout, `${name} should print ${want}`).toContain(want)
        else expect(run.stdout, `${name} should print ${want}`).toMatch(want)
      }
    }, CHILD_TIMEOUT_MS + 60_000)
  }
})
