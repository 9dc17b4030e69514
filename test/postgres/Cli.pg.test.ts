/**
 * The `mnesis` command on a PostgreSQL database: a `postgres://` URL (from `--db` or
 * `MNESIS_DATABASE_URL`) opens the PostgreSQL store, so the commands that read a SQLite file read
 * the shared database the same way, and a session exported from it imports into a SQLite file whole.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as NodePath from "node:path"
import * as Layers from "../../src/Layers.js"
import * as Session from "../../src/Session.js"
import * as PostgresStore from "../../src/storage/postgres/PostgresStore.js"
import { buildCli, readStore, removeBuild, run, runJson, tempDir } from "../cli/support.js"
import { freshSchema, postgresUrl } from "../support/backend.js"

const TIMEOUT = 120_000

beforeAll(() => buildCli(), 240_000)
afterAll(removeBuild)

const SessionsJson = Schema.Struct({
  sessions: Schema.Array(Schema.Struct({ id: Schema.String, messages: Schema.Number })),
  total: Schema.Number
})

/** A session of three exchanges written through the library into a fresh schema; its URL and id. */
const writtenSession = (serverUrl: string) =>
  Effect.gen(function*() {
    const { url } = yield* freshSchema(serverUrl)
    const id = yield* Effect.scoped(Effect.gen(function*() {
      const session = yield* Session.open({ model: "mock/echo" })
      for (const question of ["Where is the config?", "Which port?", "Who owns the deploy?"]) {
        yield* session.send(question)
      }
      return session.id
    })).pipe(Effect.provide(Layers.makeTest({ storage: PostgresStore.layer({ url }) })))
    return { url, id }
  })

describe.runIf(postgresUrl !== undefined)("mnesis on a PostgreSQL database", () => {
  it.scoped(
    "sessions and grep read the shared database named by --db or MNESIS_DATABASE_URL",
    () =>
      Effect.gen(function*() {
        const { id, url } = yield* writtenSession(postgresUrl!)
        const byOption = yield* runJson(SessionsJson, ["sessions", "--db", url])
        expect(byOption.total).toBe(1)
        expect(byOption.sessions[0]).toMatchObject({ id, messages: 6 })
        const byVariable = yield* runJson(SessionsJson, ["sessions"], { MNESIS_DATABASE_URL: url })
        expect(byVariable.sessions.map((s) => s.id)).toEqual([id])
        const found = yield* run(["grep", "latest", "deploy", "--db", url])
        expect(found.code, found.stderr).toBe(0)
        expect(found.stdout).toContain("fulltext): 2 hits")
        expect(found.stdout).toContain("user [in context]: owns the [deploy]")
      }),
    TIMEOUT
  )

  it.scoped(
    "a session exported from PostgreSQL imports into a SQLite file with every message",
    () =>
      Effect.gen(function*() {
        const { id, url } = yield* writtenSession(postgresUrl!)
        const dir = tempDir()
        const archive = NodePath.join(dir, "session.jsonl")
        const file = NodePath.join(dir, "copy", "sessions.db")
        const exported = yield* run(["export", id, "--db", url, "--out", archive])
        expect(exported.code, exported.stderr).toBe(0)
        const imported = yield* run(["import", archive, "--db", file])
        expect(imported.code, imported.stderr).toBe(0)
        const copied = yield* readStore(file, (store) => store.history(id, { limit: 100 }))
        expect(copied.map((m) => m.role)).toEqual([
          "user",
          "assistant",
          "user",
          "assistant",
          "user",
          "assistant"
        ])
      }),
    TIMEOUT
  )

  it.effect(
    "another kind of URL is refused, naming what is supported and never the password",
    () =>
      Effect.gen(function*() {
        const refused = yield* run(["sessions", "--db", "mysql://me:secret@db.example/mnesis"])
        expect(refused.code).toBe(1)
        expect(refused.stderr).toContain("a SQLite file or a postgres:// URL")
        expect(refused.stderr).not.toContain("secret")
      }),
    TIMEOUT
  )
})
