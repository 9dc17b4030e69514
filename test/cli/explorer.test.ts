/**
 * `mnesis serve` as a person uses it: the built command serving a database from `npm run
 * example` (62 turns, several compaction rounds), the page loaded in a real headless browser
 * (Debian's chromium driven by puppeteer-core) and checked against the store; the server's
 * read-only and local-only rules checked over HTTP.
 *
 * Needs /usr/bin/chromium: `apt-get update && apt-get install -y chromium`. The test fails (it is
 * never skipped) when it is missing. A screenshot goes to $MNESIS_TEST_OUTPUT (default: a
 * mnesis-test-output folder in the system's temp directory); with MNESIS_UPDATE_SCREENSHOT=1
 * it also replaces docs/explorer.png.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import puppeteer, { type Browser, type Page } from "puppeteer-core"
import { allSnapshots } from "../../src/cli/inspect/read.js"
import { MessageId } from "../../src/Domain.js"
import {
  buildCli,
  cleanEnv,
  EXAMPLE_CONFIG,
  exampleDatabase,
  readStore,
  removeBuild,
  ROOT,
  tempDir
} from "./support.js"

const CHROMIUM = "/usr/bin/chromium"
const TIMEOUT = 120_000
const OUTPUT = process.env["MNESIS_TEST_OUTPUT"] ?? NodePath.join(NodeOs.tmpdir(), "mnesis-test-output")

let db = ""
let server: ChildProcess | undefined
let base = ""
let browser: Browser | undefined
let profile = ""
const pageErrors: Array<string> = []

/** Starts `mnesis serve --port 0` and waits for the address it prints. */
const startServer = (main: string) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [
      main,
      "serve",
      "--db",
      db,
      "--port",
      "0",
      "--config",
      EXAMPLE_CONFIG
    ], {
      cwd: ROOT,
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    server = child
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const address = /mnesis explorer on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)
      if (address !== null) resolve(address[1]!)
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    child.on(
      "exit",
      (code) => reject(new Error(`mnesis serve exited (${code}) before listening:\n${output}`))
    )
  })

beforeAll(async () => {
  if (!NodeFs.existsSync(CHROMIUM)) {
    throw new Error(
      `the explorer's browser test needs Chromium at ${CHROMIUM}; install it with ` +
        "`apt-get update && apt-get install -y chromium` (Debian), then run the tests again"
    )
  }
  const [path, main] = await Promise.all([exampleDatabase(), buildCli()])
  db = path
  base = await startServer(main)
  profile = tempDir()
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`
    ]
  })
}, 240_000)

afterAll(async () => {
  await browser?.close()
  server?.kill()
  removeBuild()
  if (profile !== "") NodeFs.rmSync(profile, { recursive: true, force: true })
})

/** A page that records script errors and failed requests. */
const open = (path: string) =>
  Effect.promise(async (): Promise<Page> => {
    const page = await browser!.newPage()
    page.on("pageerror", (error) => pageErrors.push(String(error)))
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text())
    })
    await page.setViewport({ width: 1100, height: 1400 })
    await page.goto(base + path, { waitUntil: "networkidle0" })
    return page
  })

const Cells = Schema.Array(Schema.Array(Schema.String))

/**
 * For each element matching `selector`, the given attributes (`text` is the text content), read
 * in the page and decoded here (the test runs in Node, which has no DOM types).
 */
const read = (page: Page, selector: string, fields: ReadonlyArray<string>) =>
  Effect.flatMap(
    Effect.promise(() =>
      page.evaluate(
        `Array.from(document.querySelectorAll(${JSON.stringify(selector)})).map((e) => [${
          fields.map((f) =>
            f === "text" ? "e.textContent ?? ''" : `e.getAttribute(${JSON.stringify(f)}) ?? ''`
          )
            .join(", ")
        }])`
      )
    ),
    Schema.decodeUnknown(Cells)
  )

const messageIds = Schema.decodeUnknownSync(Schema.Array(MessageId))

const agentSession = () => readStore(db, (store) => Effect.map(store.listSessions(), (all) => all[0]!))

describe("the explorer in a headless browser", () => {
  it.effect(
    "shows every turn's size, the thresholds and the summary DAG as the store holds them",
    () =>
      Effect.gen(function*() {
        const session = yield* agentSession()
        const [snapshots, nodes] = yield* readStore(
          db,
          (store) => Effect.all([allSnapshots(store, session.id), store.sessionSummaries(session.id)])
        )
        const page = yield* open(`/session/${session.id}`)
        yield* Effect.promise(() => page.waitForSelector(".dag-node"))
        const chart = yield* read(page, ".turn-point", ["data-turn", "data-total"])
        expect(chart).toEqual(snapshots.map((s) => [String(s.turn), String(s.context.total)]))
        expect(snapshots.length).toBe(62)
        const thresholds = yield* read(page, ".threshold", ["class", "data-tokens"])
        expect(thresholds).toEqual([["threshold soft", "3600"], ["threshold hard", "6000"]])
        const compactions = yield* read(page, "line.compaction", ["data-summary"])
        expect(compactions.map(([id]) => id).sort()).toEqual(nodes.map((n) => n.id).sort())
        const bars = yield* read(page, "rect.comp", ["data-turn"])
        expect(bars).toHaveLength(4 * snapshots.length)
        // Several rounds: leaves and at least one condensation, drawn one node per summary.
        expect(nodes.length).toBeGreaterThan(2)
        expect(nodes.some((n) => n.kind === "condensed")).toBe(true)
        const drawn = yield* read(page, ".dag-node", ["data-id"])
        expect(drawn.map(([id]) => id).sort()).toEqual(nodes.map((n) => n.id).sort())
        yield* Effect.promise(() => page.close())
      }),
    TIMEOUT
  )

  it.effect(
    "clicking a summary shows its text and children, and expands it to the originals",
    () =>
      Effect.gen(function*() {
        const session = yield* agentSession()
        const nodes = yield* readStore(db, (store) => store.sessionSummaries(session.id))
        const leaf = nodes.find((n) => n.kind === "leaf")!
        const sources = yield* readStore(db, (store) => store.summarySources(leaf.id))
        const originals = yield* readStore(
          db,
          (store) => store.messages(messageIds(sources.map((s) => s.id)))
        )
        const page = yield* open(`/session/${session.id}`)
        yield* Effect.promise(() => page.click(`.dag-node[data-id="${leaf.id}"]`))
        yield* Effect.promise(() => page.waitForSelector("#node-id"))
        expect(yield* read(page, "#node-id", ["text"])).toEqual([[leaf.id]])
        expect(yield* read(page, "#node-text", ["text"])).toEqual([[leaf.content]])
        const children = yield* read(page, "#node-panel .child", ["data-id"])
        expect(children.map(([id]) => id)).toEqual(sources.map((s) => s.id))

        yield* Effect.promise(() => page.click("#expand-button"))
        yield* Effect.promise(() => page.waitForSelector(".original"))
        const shown = yield* read(page, ".original", ["data-id", "text"])
        expect(shown.length).toBeGreaterThan(0)
        shown.forEach(([id, text], i) => {
          expect(id).toBe(sources[i]!.id)
          expect(text).toContain(originals[i]!.text.slice(0, 80))
        })

        NodeFs.mkdirSync(OUTPUT, { recursive: true })
        yield* Effect.promise(() => page.evaluate("window.scrollTo(0, 0)"))
        const shot = NodePath.join(OUTPUT, "explorer.png")
        yield* Effect.promise(() => page.screenshot({ path: shot }))
        expect(NodeFs.statSync(shot).size).toBeGreaterThan(10_000)
        if (process.env["MNESIS_UPDATE_SCREENSHOT"] === "1") {
          NodeFs.copyFileSync(shot, NodePath.join(ROOT, "docs/explorer.png"))
        }
        yield* Effect.promise(() => page.close())
      }),
    TIMEOUT
  )

  it.effect("a turn's context, grep and the session list work from the page", () =>
    Effect.gen(function*() {
      const session = yield* agentSession()
      const page = yield* open(`/session/${session.id}`)
      yield* Effect.promise(() => page.click(".turn-point[data-turn=\"31\"]"))
      yield* Effect.promise(() =>
        page.waitForFunction(
          "document.getElementById('context-title')?.textContent?.startsWith('turn 31 of 62')"
        )
      )
      const entries = yield* read(page, "#context-view .ctx-entry", ["data-id"])
      expect(entries.length).toBeGreaterThan(1)

      yield* Effect.promise(() => page.type("#grep-input", "Step 3:"))
      yield* Effect.promise(() => page.click("#grep-form button[type=submit]"))
      yield* Effect.promise(() => page.waitForSelector(".grep-hit"))
      const hits = (yield* read(page, ".grep-hit", ["data-id"])).map(([id]) => id!)
      const messages = yield* readStore(db, (store) => store.messages(messageIds(hits)))
      expect(messages.map((m) => m.id)).toEqual(hits)
      // (full-text search: the words "step" and "3", anywhere in a message)
      expect(messages.every((m) => /\bstep\b/i.test(m.text) && /\b3\b/.test(m.text))).toBe(true)

      const list = yield* open("/")
      yield* Effect.promise(() => list.waitForSelector(".session-row"))
      expect(yield* read(list, ".session-row a", ["text"])).toEqual([[session.id]])
      yield* Effect.promise(() => Promise.all([page.close(), list.close()]))
      expect(pageErrors).toEqual([])
    }), TIMEOUT)
})

/** A raw HTTP request (fetch cannot set the Host header). */
const request = (method: string, path: string, host?: string) =>
  Effect.promise(() =>
    new Promise<{ status: number; body: string; headers: NodeHttp.IncomingHttpHeaders }>(
      (resolve, reject) => {
        const url = new URL(path, base)
        const req = NodeHttp.request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method,
            headers: host === undefined ? {} : { host }
          },
          (res) => {
            let body = ""
            res.on("data", (chunk: Buffer) => (body += chunk.toString()))
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
          }
        )
        req.on("error", reject)
        req.end()
      }
    )
  )

describe("the explorer's server", () => {
  it.effect("serves nothing writable: every method but GET is refused", () =>
    Effect.gen(function*() {
      const session = yield* agentSession()
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        const answer = yield* request(method, `/api/sessions/${session.id}`)
        expect(answer.status).toBe(405)
        expect(answer.headers["allow"]).toBe("GET")
      }
      const ok = yield* request("GET", `/api/sessions/${session.id}`)
      expect(ok.status).toBe(200)
      expect(ok.headers["content-security-policy"]).toContain("script-src 'self'")
      expect((yield* readStore(db, (store) => store.getSession(session.id))).updatedAt).toBe(
        session.updatedAt
      )
    }), TIMEOUT)

  it.effect("answers only requests addressed to this machine", () =>
    Effect.gen(function*() {
      expect((yield* request("GET", "/api/sessions", "attacker.example")).status).toBe(403)
      expect((yield* request("GET", "/api/sessions", "localhost:4280")).status).toBe(200)
      expect((yield* request("GET", "/api/sessions", "[::1]:4280")).status).toBe(200)
      expect((yield* request("GET", "/no/such/page")).status).toBe(404)
    }), TIMEOUT)
})
