/**
 * The `mnesis` command on a database written by real sessions (`npm run example` and the
 * tool-use example), each command run as a child process and checked against the store.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { atTurn } from "../../src/cli/inspect/context.js"
import { allSnapshots } from "../../src/cli/inspect/read.js"
import { modelView } from "../../src/cli/inspect/settings.js"
import { defaultConfig } from "../../src/Config.js"
import { MessageId, type SessionInfo } from "../../src/Domain.js"
import * as Ids from "../../src/internal/ids.js"
import * as SqliteStore from "../../src/storage/sqlite/SqliteStore.js"
import {
  buildCli,
  EXAMPLE_CONFIG,
  exampleDatabase,
  readStore,
  removeBuild,
  ROOT,
  run,
  runJson,
  tempDir
} from "./support.js"

/** Each command starts a Node process; on a busy machine that takes seconds. */
const TIMEOUT = 120_000

let db = ""
beforeAll(async () => {
  ;[db] = await Promise.all([exampleDatabase({ tools: true }), buildCli()])
}, 240_000)
afterAll(removeBuild)

const Row = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  agent: Schema.String,
  messages: Schema.Number,
  summaries: Schema.Number,
  contextTokens: Schema.Number
})
const SessionsJson = Schema.Struct({ sessions: Schema.Array(Row), total: Schema.Number })

const ShowJson = Schema.Struct({
  session: Schema.Struct({ id: Schema.String, messageCount: Schema.Number }),
  thresholds: Schema.optional(Schema.Struct({ soft: Schema.Number, hard: Schema.Number })),
  turns: Schema.Array(Schema.Struct({ turn: Schema.Number, total: Schema.Number, summaries: Schema.Number })),
  compactions: Schema.Array(Schema.Struct({ summaryId: Schema.String, afterTurn: Schema.Number })),
  summaries: Schema.Struct({ total: Schema.Number, inContext: Schema.Number }),
  tokensSaved: Schema.Number
})

const ContextJson = Schema.Struct({
  exact: Schema.Boolean,
  entries: Schema.Array(Schema.Struct({ id: Schema.String, kind: Schema.String, tokenCount: Schema.Number })),
  composition: Schema.Struct({ total: Schema.Number, system: Schema.Number }),
  messages: Schema.Array(Schema.Struct({ role: Schema.String }))
})

const messageIds = Schema.decodeUnknownSync(Schema.Array(MessageId))

/** The two sessions: the long-running agent (example 02) and the tool-use one (example 03). */
const sessions = () =>
  readStore(db, (store) =>
    Effect.map(store.listSessions(), (all) => ({
      agent: all.find((s) => s.model === "anthropic/claude-opus-4-6")!,
      tools: all.find((s) => s.model === "mock/scripted")!,
      all
    })))

describe("mnesis on a database from npm run example", () => {
  it.effect("sessions lists every session with its size", () =>
    Effect.gen(function*() {
      const { all } = yield* sessions()
      const listed = yield* runJson(SessionsJson, ["sessions", "--db", db])
      expect(listed.total).toBe(2)
      expect(listed.sessions.map((s) => s.id).sort()).toEqual(all.map((s) => s.id).sort())
      for (const row of listed.sessions) {
        const stored = all.find((s) => s.id === row.id)!
        expect(row.messages).toBe(stored.messageCount)
        const [items, nodes] = yield* readStore(db, (store) =>
          Effect.all([store.contextItems(stored.id), store.sessionSummaries(stored.id)]))
        expect(row.summaries).toBe(nodes.length)
        expect(row.contextTokens).toBeGreaterThan(items.reduce((sum, item) =>
          sum + item.tokenCount, 0))
      }
      const text = yield* run(["sessions", "--db", db])
      expect(text.code).toBe(0)
      expect(text.stdout).toMatch(
        /^SESSION +MODEL +AGENT +UPDATED +MESSAGES +SUMMARIES +CONTEXT +USAGE +COST$/m
      )
      for (const session of all) expect(text.stdout).toContain(session.id)
      expect(text.stdout).toContain("2 sessions")
    }), TIMEOUT)

  it.effect("sessions filters by model, agent and age", () =>
    Effect.gen(function*() {
      const { tools } = yield* sessions()
      const byModel = yield* runJson(SessionsJson, ["sessions", "--db", db, "--model", "MOCK/"])
      expect(byModel.sessions.map((s) => s.id)).toEqual([tools.id])
      expect((yield* runJson(SessionsJson, ["sessions", "--db", db, "--agent", "default"])).total).toBe(2)
      expect((yield* runJson(SessionsJson, ["sessions", "--db", db, "--agent", "nobody"])).total).toBe(0)
      expect((yield* runJson(SessionsJson, ["sessions", "--db", db, "--since", "1h"])).total).toBe(2)
      expect((yield* runJson(SessionsJson, ["sessions", "--db", db, "--older-than", "1d"])).total).toBe(0)
      expect((yield* runJson(SessionsJson, ["sessions", "--db", db, "--limit", "1"])).sessions).toHaveLength(
        1
      )
      const none = yield* run(["sessions", "--db", db, "--older-than", "2 weeks"])
      expect(none.stdout.trim()).toBe("no sessions match")
      const bad = yield* run(["sessions", "--db", db, "--since", "soon"])
      expect(bad.code).not.toBe(0)
      expect(bad.stdout + bad.stderr).toContain("is not an age")
    }), TIMEOUT)

  it.effect(
    "show reports the turns, compaction points and thresholds the store holds",
    () =>
      Effect.gen(function*() {
        const { agent } = yield* sessions()
        const shown = yield* runJson(ShowJson, ["show", agent.id, "--db", db, "--config", EXAMPLE_CONFIG])
        const [snapshots, nodes] = yield* readStore(
          db,
          (store) => Effect.all([allSnapshots(store, agent.id), store.sessionSummaries(agent.id)])
        )
        expect(shown.turns.map((t) => [t.turn, t.total])).toEqual(
          snapshots.map((s) => [s.turn, s.context.total])
        )
        expect(shown.turns).toHaveLength(62)
        // Rounds happened: summaries were written between turns, and later turns carry them.
        expect(nodes.length).toBeGreaterThan(1)
        expect(shown.compactions.map((c) => c.summaryId).sort()).toEqual(nodes.map((n) => n.id).sort())
        for (const c of shown.compactions) {
          expect(c.afterTurn).toBeGreaterThan(0)
          // A round started after turn k commits while turn k+1 runs: turn k+2 sends its summary.
          const later = shown.turns[c.afterTurn + 1]
          if (later !== undefined) expect(later.summaries).toBeGreaterThan(0)
        }
        // Example 02's window: 8,000 − 1,000 output − 1,000 compaction output; soft at 60%.
        expect(shown.thresholds).toEqual({ soft: 3_600, hard: 6_000 })
        expect(shown.tokensSaved).toBeGreaterThan(0)

        const text = yield* run(["show", agent.id.slice(0, 20), "--db", db])
        expect(text.code).toBe(0)
        expect(text.stdout).toContain(`session    ${agent.id}`)
        expect(text.stdout).toMatch(/messages +124 \(\+\d+ summary messages\) in 62 turns/)
        expect(text.stdout).toMatch(/^[▁▂▃▄▅▆▇█]{62}$/m)
        expect(text.stdout).toMatch(/^ *\^[ ^]*$/m)
      }),
    TIMEOUT
  )

  it.effect(
    "context shows the active context item by item, as the store holds it",
    () =>
      Effect.gen(function*() {
        const { agent } = yield* sessions()
        const view = yield* runJson(ContextJson, ["context", agent.id, "--db", db])
        const items = yield* readStore(db, (store) => store.contextItems(agent.id))
        expect(view.exact).toBe(true)
        expect(view.entries.map((e) => [e.kind, e.id, e.tokenCount])).toEqual(
          items.map((item) => [item.kind, item.id, item.tokenCount])
        )
        expect(view.composition.total).toBe(
          view.composition.system + items.reduce((sum, item) => sum + item.tokenCount, 0)
        )
        expect(view.messages[0]?.role).toBe("user")
        const text = yield* run(["context", agent.id, "--db", db, "--turn", "40"])
        expect(text.code).toBe(0)
        expect(text.stdout).toMatch(
          /turn 40 of \d+, rebuilt from the history \(its size matches what the turn recorded\)/
        )
        expect(text.stdout).toContain("━━ system prompt")
      }),
    TIMEOUT
  )

  it.effect(
    "a past turn's context, rebuilt from the history, matches what every turn recorded",
    () =>
      Effect.gen(function*() {
        const { all } = yield* sessions()
        yield* readStore(db, (store) =>
          Effect.forEach(all, (session: SessionInfo) =>
            Effect.gen(function*() {
              const view = yield* modelView(session.model, defaultConfig)
              const snapshots = yield* allSnapshots(store, session.id)
              for (const snapshot of snapshots) {
                const rebuilt = yield* atTurn(store, session, view.count, snapshot.turn, snapshots.length)
                expect({
                  turn: snapshot.turn,
                  total: rebuilt.composition.total,
                  tools: rebuilt.composition.toolOutputs
                })
                  .toEqual({
                    turn: snapshot.turn,
                    total: snapshot.context.total,
                    tools: snapshot.context.toolOutputs
                  })
                expect(rebuilt.composition.summaries).toBe(snapshot.context.summaries)
              }
            })))
        const beyond = yield* run(["context", all[0]!.id, "--db", db, "--turn", "0"])
        expect(beyond.code).toBe(1)
        expect(beyond.stderr).toMatch(/has turns 1 to \d+; there is no turn 0/)
      }),
    TIMEOUT
  )

  it.effect(
    "grep searches the whole history and says where each hit lives now",
    () =>
      Effect.gen(function*() {
        const { agent } = yield* sessions()
        const Hits = Schema.Struct({
          hits: Schema.Array(Schema.Struct({
            messageId: Schema.String,
            seq: Schema.Number,
            location: Schema.Struct({ kind: Schema.String })
          }))
        })
        const found = yield* runJson(Hits, ["grep", agent.id, "Step 3:", "--db", db])
        expect(found.hits.length).toBeGreaterThan(0)
        // step 3 was summarised long ago: its messages are covered by a summary now
        expect(found.hits.some((h) => h.seq <= 6 && h.location.kind === "covered")).toBe(true)
        const messages = yield* readStore(
          db,
          (store) => store.messages(messageIds(found.hits.map((h) => h.messageId)))
        )
        expect(messages.length).toBe(found.hits.length)
        const regex = yield* run(["grep", agent.id, "step (3|4):", "--regex", "--db", db])
        expect(regex.code).toBe(0)
        expect(regex.stdout).toMatch(/^grep "step \(3\|4\):" \(regex\): \d+ hits/)
      }),
    TIMEOUT
  )

  it.effect("describe and expand reach every original a summary stands for", () =>
    Effect.gen(function*() {
      const { agent } = yield* sessions()
      const nodes = yield* readStore(db, (store) => store.sessionSummaries(agent.id))
      const leaf = nodes.find((n) => n.kind === "leaf")!
      const described = yield* run(["describe", leaf.id, "--db", db])
      expect(described.stdout).toMatch(new RegExp(`^${leaf.id}: leaf summary, depth 0`))
      expect(described.stdout).toContain(`covers ${leaf.messageCount} messages`)
      const Expanded = Schema.Struct({
        items: Schema.Array(Schema.Struct({ id: Schema.String, text: Schema.String }))
      })
      const expanded = yield* runJson(Expanded, [
        "expand",
        leaf.id,
        "--all",
        "--max-tokens",
        "400",
        "--db",
        db
      ])
      const sources = yield* readStore(db, (store) => store.summarySources(leaf.id))
      expect([...new Set(expanded.items.map((i) => i.id))]).toEqual(sources.map((s) => s.id))
      const first = yield* readStore(db, (store) => store.messages(messageIds([sources[0]!.id])))
      expect(expanded.items[0]!.text).toContain(first[0]!.text.slice(0, 60))
      const message = yield* run(["describe", sources[0]!.id, "--db", db])
      expect(message.stdout).toMatch(/user message #\d+, \d+ tokens, covered by sum_/)
    }), TIMEOUT)

  it.effect("stats counts sessions, messages, summaries and tokens saved", () =>
    Effect.gen(function*() {
      const { all } = yield* sessions()
      const Stats = Schema.Struct({
        bytes: Schema.Number,
        sessions: Schema.Number,
        messages: Schema.Number,
        summaries: Schema.Number,
        tokensSaved: Schema.Number
      })
      const stats = yield* runJson(Stats, ["stats", "--db", db])
      const summaries = yield* readStore(db, (store) =>
        Effect.map(
          Effect.forEach(all, (s) => store.sessionSummaries(s.id)),
          (lists) => lists.flat().length
        ))
      expect(stats.sessions).toBe(2)
      expect(stats.summaries).toBe(summaries)
      expect(stats.messages).toBe(all.reduce((sum, s) => sum + s.messageCount, 0) - summaries)
      expect(stats.bytes).toBeGreaterThan(0)
      expect(stats.tokensSaved).toBeGreaterThan(0)
      const text = yield* run(["stats"], { MNESIS_DB_PATH: db })
      expect(text.stdout).toMatch(
        new RegExp(`^database +${db.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(\\d`, "m")
      )
    }), TIMEOUT)
})

describe("mnesis itself", () => {
  it.effect("prints its commands without arguments, and the package's version", () =>
    Effect.gen(function*() {
      const overview = yield* run([])
      expect(overview.code).toBe(0)
      for (
        const command of [
          "sessions",
          "show",
          "context",
          "grep",
          "describe",
          "expand",
          "stats",
          "export",
          "import",
          "delete",
          "prune",
          "serve"
        ]
      ) {
        expect(overview.stdout).toMatch(new RegExp(`^  mnesis ${command}\\b`, "m"))
      }
      const manifest = JSON.parse(NodeFs.readFileSync(NodePath.join(ROOT, "package.json"), "utf8")) as {
        readonly version: string
      }
      expect((yield* run(["--version"])).stdout.trim()).toBe(manifest.version)
    }), TIMEOUT)
})

describe("mnesis errors", () => {
  it.effect("a missing database is an error naming it, and no file is created", () =>
    Effect.gen(function*() {
      const missing = NodePath.join(tempDir(), "nowhere", "sessions.db")
      for (
        const [args, env] of [
          [["sessions", "--db", missing], {}],
          [["stats"], { MNESIS_DB_PATH: missing }],
          [["show", "latest"], { MNESIS_DB_PATH: missing }]
        ] as const
      ) {
        const result = yield* run(args, env)
        expect(result.code).toBe(1)
        expect(result.stderr).toContain(`mnesis: no database at ${missing}`)
        expect(result.stderr).toContain("nothing was created")
        expect(result.stdout).toBe("")
      }
      expect(NodeFs.existsSync(missing)).toBe(false)
      expect(NodeFs.existsSync(NodePath.dirname(missing))).toBe(false)
    }), TIMEOUT)

  it.effect(
    "a database URL of a kind mnesis has no store for names what is supported",
    () =>
      Effect.gen(function*() {
        const result = yield* run(["sessions"], {
          MNESIS_DATABASE_URL: "mysql://me:secret@db.example/mnesis"
        })
        expect(result.code).toBe(1)
        expect(result.stderr).toContain("a SQLite file or a postgres:// URL")
        expect(result.stderr).not.toContain("secret")
      }),
    TIMEOUT
  )

  it.effect("an unknown session or id is an error naming it", () =>
    Effect.gen(function*() {
      const unknown = yield* run(["show", "sess_01ZZZZZZZZZZZZZZZZZZZZZZZZ", "--db", db])
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toContain(
        "session sess_01ZZZZZZZZZZZZZZZZZZZZZZZZ does not exist in this database"
      )
      const id = yield* run(["expand", "msg_01ZZZZZZZZZZZZZZZZZZZZZZZZ", "--db", db])
      expect(id.code).toBe(1)
      expect(id.stderr).toContain("nothing with id msg_01ZZZZZZZZZZZZZZZZZZZZZZZZ in this database")
    }), TIMEOUT)

  it.effect("serve refuses an address other machines can reach unless told to", () =>
    Effect.gen(function*() {
      const result = yield* run(["serve", "--db", db, "--host", "0.0.0.0"])
      expect(result.code).toBe(1)
      expect(result.stderr).toContain("refusing to listen on 0.0.0.0")
      expect(result.stderr).toContain("--allow-remote")
    }), TIMEOUT)
})

/** A copy of the example database to change (with its write-ahead log, if one is left). */
const copyOfDb = () => {
  const copy = NodePath.join(tempDir(), "copy.db")
  NodeFs.copyFileSync(db, copy)
  if (NodeFs.existsSync(`${db}-wal`)) NodeFs.copyFileSync(`${db}-wal`, `${copy}-wal`)
  return copy
}

const messageCountOf = (path: string) =>
  readStore(
    path,
    (store) => Effect.map(store.listSessions(), (all) => all.reduce((sum, s) => sum + s.messageCount, 0))
  )

describe("sessions as files, and sessions going as a whole", () => {
  it.effect(
    "export, then import into a fresh database: every summary, provenance row and original is there",
    () =>
      Effect.gen(function*() {
        const { agent } = yield* sessions()
        const dir = tempDir()
        const archive = NodePath.join(dir, "agent.jsonl")
        const fresh = NodePath.join(dir, "new", "sessions.db")
        const exported = yield* run(["export", agent.id, "--db", db, "--out", archive])
        expect(exported.code).toBe(0)
        expect(exported.stdout).toMatch(
          new RegExp(
            `^exported 1 session \\(${agent.messageCount} messages, \\d+ summaries, [\\d,]+ records\\) to `
          )
        )
        const imported = yield* run(["import", archive, "--db", fresh])
        expect(imported.code).toBe(0)
        expect(imported.stdout).toMatch(
          new RegExp(`^imported 1 session \\([\\d,]+ records\\): ${agent.id}$`, "m")
        )

        const dag = (path: string) =>
          readStore(path, (store) =>
            Effect.gen(function*() {
              const nodes = yield* store.sessionSummaries(agent.id)
              const sources = yield* Effect.forEach(nodes, (n) => store.summarySources(n.id))
              const leafSources = sources.flat().filter((s) => s.kind === "message").map((s) => s.id)
              const originals = yield* store.messages(messageIds(leafSources))
              return {
                nodes,
                sources,
                originals: originals.map((m) => [m.id, m.text]),
                snapshots: yield* allSnapshots(store, agent.id)
              }
            }))
        const before = yield* dag(db)
        const after = yield* dag(fresh)
        expect(after.nodes).toEqual(before.nodes)
        expect(after.sources).toEqual(before.sources)
        expect(after.originals).toEqual(before.originals)
        expect(after.originals.length).toBeGreaterThan(0)
        expect(after.snapshots).toEqual(before.snapshots)
        // and the command reads it like the original
        const condensed = before.nodes.find((n) => n.kind === "condensed")!
        const Expanded = Schema.Struct({ items: Schema.Array(Schema.Struct({ id: Schema.String })) })
        const expanded = yield* runJson(Expanded, ["expand", condensed.id, "--all", "--db", fresh])
        expect(expanded.items.map((i) => i.id)).toEqual(condensed.parents)

        const again = yield* run(["import", archive, "--db", fresh])
        expect(again.code).toBe(1)
        expect(again.stderr).toContain(`session ${agent.id} is already in this database`)
      }),
    TIMEOUT
  )

  it.effect(
    "a long export streams to stdout with progress on stderr, and imports back with progress",
    () =>
      Effect.gen(function*() {
        const dir = tempDir()
        const big = NodePath.join(dir, "big.db")
        // One session of 1,200 messages, written through the store (a page of 100 at a time).
        const sessionId = yield* Effect.scoped(Effect.gen(function*() {
          const store = yield* SqliteStore.make({ filename: big })
          const session = yield* store.createSession({
            id: yield* Ids.sessionId,
            model: "mock/test",
            agent: "default",
            systemPrompt: "You are a test.",
            createdAt: 1_000
          })
          for (let page = 0; page < 12; page++) {
            const messages = yield* Effect.forEach(
              Array.from({ length: 100 }, (_, i) => page * 100 + i),
              (i) =>
                Effect.gen(function*() {
                  return {
                    id: yield* Ids.messageId,
                    sessionId: session.id,
                    role: i % 2 === 0 ? "user" as const : "assistant" as const,
                    agent: "default",
                    model: "mock/test",
                    createdAt: 1_000 + i,
                    parts: [{
                      id: yield* Ids.partId,
                      type: "text" as const,
                      text: `message ${i}`,
                      tokenCount: 3
                    }]
                  }
                })
            )
            yield* store.appendMessages(messages)
          }
          return session.id
        }))
        const exported = yield* run(["export", sessionId, "--db", big])
        expect(exported.code).toBe(0)
        const lines = exported.stdout.trimEnd().split("\n")
        expect(lines.length).toBeGreaterThan(2_400)
        // (a line each time another 1,000 records are out, at the page that crosses the mark)
        expect(exported.stderr).toMatch(/^exported 1,0\d\d records \(1,0\d\d messages\)…$/m)
        expect(exported.stderr).toMatch(
          new RegExp(
            `exported 1 session \\(1,200 messages, 0 summaries, ${
              lines.length.toLocaleString("en")
            } records\\) to stdout`
          )
        )
        const archive = NodePath.join(dir, "big.jsonl")
        NodeFs.writeFileSync(archive, exported.stdout)
        const imported = yield* run(["import", archive, "--db", NodePath.join(dir, "copy.db")])
        expect(imported.code).toBe(0)
        expect(imported.stderr).toMatch(/^read 1,000 records…$/m)
        expect(yield* messageCountOf(NodePath.join(dir, "copy.db"))).toBe(1_200)
      }),
    TIMEOUT
  )

  it.effect(
    "delete shows what would go, and deletes the session only with --yes",
    () =>
      Effect.gen(function*() {
        const { agent, tools } = yield* sessions()
        const copy = copyOfDb()
        const dry = yield* run(["delete", agent.id, "--db", copy])
        expect(dry.code).toBe(1)
        expect(dry.stdout).toContain(
          `would delete:\n  ${agent.id} (anthropic/claude-opus-4-6, ${agent.messageCount} messages)`
        )
        expect(dry.stderr).toContain("nothing was deleted; pass --yes")
        expect(yield* messageCountOf(copy)).toBe(agent.messageCount + tools.messageCount)

        const done = yield* run(["delete", agent.id, "--db", copy, "--yes"])
        expect(done.code).toBe(0)
        expect(done.stdout.trim()).toBe(`deleted 1 session: ${agent.id}`)
        const left = yield* runJson(SessionsJson, ["sessions", "--db", copy])
        expect(left.sessions.map((s) => s.id)).toEqual([tools.id])
        const gone = yield* run(["show", agent.id, "--db", copy])
        expect(gone.stderr).toContain("does not exist in this database")
        expect(yield* messageCountOf(copy)).toBe(tools.messageCount)
      }),
    TIMEOUT
  )

  it.effect(
    "prune deletes the sessions untouched for the given age, only with --yes",
    () =>
      Effect.gen(function*() {
        const copy = copyOfDb()
        const none = yield* run(["prune", "--older-than", "1d", "--db", copy])
        expect(none.code).toBe(0)
        expect(none.stdout.trim()).toBe("no session is that old")
        const dry = yield* run(["prune", "--older-than", "1s", "--db", copy])
        expect(dry.code).toBe(1)
        expect(dry.stderr).toContain("pass --yes to delete these 2 sessions")
        const Pruned = Schema.Struct({ deleted: Schema.Array(Schema.String) })
        const pruned = yield* runJson(Pruned, ["prune", "--older-than", "1s", "--db", copy, "--yes"])
        const { all } = yield* sessions()
        expect([...pruned.deleted].sort()).toEqual(all.map((s) => s.id).sort())
        expect((yield* runJson(SessionsJson, ["sessions", "--db", copy])).total).toBe(0)
      }),
    TIMEOUT
  )
})
