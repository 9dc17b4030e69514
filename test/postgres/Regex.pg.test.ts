/**
 * grep's regex mode on PostgreSQL: a scan with a pattern leaves out, with PostgreSQL's `~*`, only
 * texts RE2 cannot match (a property over random patterns and texts), reads everything when the
 * pattern is outside the subset it translates or when PostgreSQL refuses it, and grep finds the same
 * hits as without the filter.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { RE2JS } from "re2js"
import * as Storage from "../../src/Storage.js"
import { toPostgresRegex } from "../../src/storage/postgres/regex.js"
import { adminQuery, postgresUrl, sharedDatabase } from "../support/backend.js"
import { append, createSession } from "../support/storage.js"

describe("toPostgresRegex", () => {
  it("translates the subset whose meaning PostgreSQL keeps or widens, and nothing else", () => {
    expect(toPostgresRegex("zeb.a|okapi")).toBe("zeb.a|okapi")
    expect(toPostgresRegex("item-\\d+ in src/m[0-9]*\\.ts")).toBe("item-\\d+ in src/m[0-9]*\\.ts")
    for (
      const refused of [
        "^*",
        "(+a)",
        "\\bword\\b",
        "end$",
        "(?i)x",
        "caf\u00e9",
        "[\\d]",
        "\\S+",
        "[[:alpha:]]",
        "\\p{L}",
        ""
      ]
    ) {
      expect(toPostgresRegex(refused), refused).toBeUndefined()
    }
  })
})

describe.runIf(postgresUrl !== undefined)("regex scans on PostgreSQL", () => {
  it.scoped("the filter never leaves out a text RE2 matches (random patterns and texts)", () =>
    Effect.gen(function*() {
      const database = yield* sharedDatabase
      const texts = [
        "Alpha beta",
        "alpha\nBETA",
        "a1_b2 c3",
        "((a)) [b] {c}",
        "aaa bbb",
        "zebra-crossing 42",
        "x.y*z+?"
      ]
      const alphabet = [..."abxyz019 ._-*+?|()[]{}^\\", "\\d", "\\s", "\\w", "\\.", "a{2}", "b{1,3}"]
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(
            FastCheck.array(FastCheck.constantFrom(...alphabet), { minLength: 1, maxLength: 8 }).map((
              parts
            ) => parts.join("")),
            async (pattern) => {
              let re: RE2JS
              try {
                re = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE)
              } catch {
                return true // not a pattern grep accepts
              }
              const translated = toPostgresRegex(pattern)
              if (translated === undefined) return true
              const rows = await Effect.runPromise(
                adminQuery(
                  database.location,
                  "SELECT t FROM unnest($1::text[]) t WHERE t ~* $2",
                  [texts, translated]
                ).pipe(Effect.catchAll(() => Effect.succeed(undefined)))
              )
              // PostgreSQL refusing the pattern is fine: the scan then reads every text
              if (rows === undefined) return true
              const kept = new Set(rows.map((row) => row["t"]))
              return texts.every((text) => !re.test(text) || kept.has(text))
            }
          ),
          { numRuns: 400 }
        )
      )
    }))

  it.scoped("a scan with a pattern reads only matching texts; an untranslatable or refused one reads all", () =>
    Effect.gen(function*() {
      const database = yield* sharedDatabase
      yield* Effect.gen(function*() {
        const store = yield* Storage.Storage
        const session = yield* createSession()
        for (const text of ["the zebra crossing", "a pelican", "zebras and okapis", "nothing here"]) {
          yield* append(session.id, "user", text)
        }
        const scan = (pattern?: string) =>
          Effect.map(
            store.scan({ sessionIds: [session.id], limit: 10, pattern }),
            (page) => page.map((row) => row.text)
          )
        expect(yield* scan("zebra")).toEqual(["the zebra crossing", "zebras and okapis"])
        expect(yield* scan("ZEB.A")).toEqual(["the zebra crossing", "zebras and okapis"])
        expect((yield* scan("\\bzebra\\b")).length).toBe(4)
        // PostgreSQL refuses repeat counts above 255: the page is read unfiltered
        expect((yield* scan("z{300}")).length).toBe(4)
        expect((yield* scan()).length).toBe(4)
      }).pipe(Effect.provide(database.layer()))
    }))
})
