import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  ConfigError as EffectConfigError,
  ConfigProvider,
  Duration,
  Effect,
  Either,
  HashSet,
  Layer,
  Option,
  Redacted
} from "effect"
import * as PathPatch from "effect/ConfigProviderPathPatch"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { inspect } from "node:util"
import {
  defaultConfig,
  makeBudget,
  makeConfig,
  mergeConfig,
  type MnesisConfigOverrides,
  MnesisEnv,
  ProviderKeys,
  readEnv,
  resolveDbPath,
  Settings
} from "../src/Config.js"

/** Reads a dotted path out of a decoded config, turning durations into milliseconds. */
const at = (config: unknown, path: string): unknown => {
  const value = path.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config)
  return Duration.isDuration(value) ? Duration.toMillis(value) : value
}

/** Builds `{ a: { b: value } }` from "a.b". */
const nested = (path: string, value: unknown): MnesisConfigOverrides =>
  path.split(".").reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as MnesisConfigOverrides

describe("MnesisConfig", () => {
  const defaults: ReadonlyArray<readonly [string, unknown]> = [
    ["compaction.auto", true],
    ["compaction.compactionOutputBudget", 20_000],
    ["compaction.softThresholdFraction", 0.6],
    ["compaction.prune", true],
    ["compaction.pruneProtectTokens", 40_000],
    ["compaction.pruneMinimumTokens", 20_000],
    ["compaction.protectedTools", ["skill"]],
    ["compaction.compactionModel", undefined],
    ["compaction.level2Enabled", true],
    ["compaction.condensationEnabled", true],
    ["compaction.compactionPrompt", undefined],
    ["compaction.maxCompactionRounds", 10],
    ["compaction.freshTailTurns", 2],
    ["compaction.roundTimeout", 120_000],
    ["compaction.condenseFanout", 4],
    ["file.inlineThreshold", 10_000],
    ["file.summaryTokens", 1_000],
    ["file.maxFileBytes", 67_108_864],
    ["store.dbPath", "~/.mnesis/sessions.db"],
    ["store.walMode", true],
    ["store.busyTimeout", 30_000],
    ["operators.llmMapConcurrency", 16],
    ["operators.agenticMapConcurrency", 4],
    ["operators.maxRetries", 3],
    ["session.doomLoopThreshold", 3],
    ["session.doomLoopAction", "warn"],
    ["session.maxSteps", 20],
    ["session.toolConcurrency", 4],
    ["session.closeTimeout", 30_000],
    ["session.retry.maxRetries", 0],
    ["session.retry.baseDelay", 1_000],
    ["session.retry.maxDelay", 60_000],
    ["session.retry.jitter", true],
    ["modelOverrides", undefined]
  ]

  it.effect.each(defaults)("default %s = %j", ([path, value]) =>
    Effect.gen(function*() {
      const config = yield* makeConfig({})
      expect(at(config, path)).toEqual(value)
      expect(at(defaultConfig, path)).toEqual(value)
    }))

  /** [path, rejected values, accepted boundary values, words of the rule] */
  const rules: ReadonlyArray<readonly [string, ReadonlyArray<unknown>, ReadonlyArray<unknown>, string]> = [
    ["compaction.compactionOutputBudget", [999, 200_001, 1500.5], [1_000, 200_000], "from 1,000 to 200,000"],
    ["compaction.softThresholdFraction", [0.09, 0.96, Number.NaN], [0.1, 0.95], "from 0.1 to 0.95"],
    ["compaction.pruneProtectTokens", [-1, 1.5], [20_001], "at least 0"],
    ["compaction.pruneMinimumTokens", [-1], [0, 39_999], "at least 0"],
    ["compaction.maxCompactionRounds", [0, 51], [1, 50], "from 1 to 50"],
    ["compaction.freshTailTurns", [0, 101], [1, 100], "from 1 to 100"],
    ["compaction.condenseFanout", [1, 33], [2, 32], "from 2 to 32"],
    ["compaction.roundTimeout", ["soon", -5, Number.POSITIVE_INFINITY], [0, "2 minutes"], "duration"],
    ["compaction.protectedTools", ["skill"], [[], ["a", "b"]], "Expected"],
    ["compaction.auto", ["yes", 1], [false], "Expected boolean"],
    ["file.inlineThreshold", [99], [100], "at least 100"],
    ["file.summaryTokens", [49, 20_001], [50, 20_000], "from 50 to 20,000"],
    ["file.maxFileBytes", [1_023, 1_073_741_825], [1_024, 1_073_741_824], "from 1,024 to 1,073,741,824"],
    ["store.dbPath", [""], ["/tmp/x.db"], "must not be empty"],
    ["store.busyTimeout", ["later"], [0, "5 seconds"], "duration"],
    ["operators.llmMapConcurrency", [0, 129], [1, 128], "from 1 to 128"],
    ["operators.agenticMapConcurrency", [0, 33], [1, 32], "from 1 to 32"],
    ["operators.maxRetries", [-1, 11], [0, 10], "from 0 to 10"],
    ["session.doomLoopThreshold", [1, 11], [2, 10], "from 2 to 10"],
    ["session.doomLoopAction", ["panic"], ["warn", "stop"], "Expected \"warn\""],
    ["session.maxSteps", [0, 201], [1, 200], "from 1 to 200"],
    ["session.toolConcurrency", [0, 65], [1, 64], "from 1 to 64"],
    ["session.retry.maxRetries", [-1, 21], [0, 20], "from 0 to 20"],
    ["session.retry.baseDelay", ["never"], [0, 250], "duration"],
    ["modelOverrides.contextLimit", [0, 1.5], [1, 1_000_000], "at least 1"],
    ["modelOverrides.maxOutputTokens", [0], [1], "at least 1"]
  ]

  describe.each(rules)("rule for %s", (path, rejected, accepted, rule) => {
    it.effect.each(rejected.map((v) => [v]))(
      "rejects %j with a ConfigError naming the field",
      ([value]) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(makeConfig(nested(path, value)))
          expect(error._tag).toBe("ConfigError")
          expect(error.path).toBe(path)
          expect(error.rule).toContain(rule)
          expect(error.message).toContain(path)
        })
    )
    it.effect.each(accepted.map((v) => [v]))("accepts %j", ([value]) =>
      Effect.gen(function*() {
        const config = yield* makeConfig(nested(path, value))
        const expected = typeof value === "string" && path.endsWith("Timeout") || path.endsWith("Delay")
          ? Duration.toMillis(Duration.decode(value as Duration.DurationInput))
          : value
        expect(at(config, path)).toEqual(expected)
      }))
  })

  it.effect("a value of the wrong type is refused with the expected type and the element path", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        makeConfig({ compaction: { compactionOutputBudget: "big" } } as unknown as MnesisConfigOverrides)
      )
      expect(error).toMatchObject({
        path: "compaction.compactionOutputBudget",
        rule: "Expected number, actual \"big\""
      })
      const element = yield* Effect.flip(
        makeConfig({ compaction: { protectedTools: [1] } } as unknown as MnesisConfigOverrides)
      )
      expect(element.path).toBe("compaction.protectedTools.0")
    }))

  it.effect("pruneMinimumTokens must be strictly less than pruneProtectTokens", () =>
    Effect.gen(function*() {
      const equal = yield* Effect.flip(
        makeConfig({ compaction: { pruneProtectTokens: 30_000, pruneMinimumTokens: 30_000 } })
      )
      expect(equal).toMatchObject({
        path: "compaction.pruneMinimumTokens",
        rule: "must be less than pruneProtectTokens"
      })
      const ok = yield* makeConfig({ compaction: { pruneProtectTokens: 30_000, pruneMinimumTokens: 29_999 } })
      expect(ok.compaction.pruneMinimumTokens).toBe(29_999)
    }))

  it.effect("unknown fields are refused so typos do not pass silently", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(makeConfig({ compaction: { buffer: 5 } } as MnesisConfigOverrides))
      expect(error).toMatchObject({ path: "compaction.buffer" })
      expect(error.rule).toContain("not a known setting")
      const top = yield* Effect.flip(makeConfig({ doomLoopThreshold: 3 } as MnesisConfigOverrides))
      expect(top.path).toBe("doomLoopThreshold")
    }))

  it.effect("a partial config keeps every other default", () =>
    Effect.gen(function*() {
      const config = yield* makeConfig({ compaction: { auto: false }, session: { retry: { maxRetries: 2 } } })
      expect(config.compaction.auto).toBe(false)
      expect(config.compaction.softThresholdFraction).toBe(0.6)
      expect(config.session.retry).toMatchObject({ maxRetries: 2, jitter: true })
      expect(config.session.doomLoopThreshold).toBe(3)
    }))

  it.effect("mergeConfig layers an override over a decoded config, durations included", () =>
    Effect.gen(function*() {
      const base = yield* makeConfig({ compaction: { roundTimeout: "10 seconds", condenseFanout: 3 } })
      const merged = yield* mergeConfig(base, { compaction: { condenseFanout: 5 } })
      expect(Duration.toMillis(merged.compaction.roundTimeout)).toBe(10_000)
      expect(merged.compaction.condenseFanout).toBe(5)
      const invalid = yield* Effect.flip(mergeConfig(base, { compaction: { condenseFanout: 1 } }))
      expect(invalid.path).toBe("compaction.condenseFanout")
    }))
})

describe("budget", () => {
  it.effect("usable = window − max output − compaction output budget; soft = floor(usable × fraction)", () =>
    Effect.gen(function*() {
      const config = yield* makeConfig({})
      const budget = yield* makeBudget({ contextLimit: 100_000, maxOutputTokens: 4_000 }, config)
      expect(budget).toMatchObject({ usable: 76_000, softThreshold: 45_600, hardThreshold: 76_000 })
      const eighty = yield* makeBudget(
        { contextLimit: 100_000, maxOutputTokens: 4_000 },
        yield* makeConfig({ compaction: { softThresholdFraction: 0.8 } })
      )
      expect(eighty.softThreshold).toBe(60_800)
    }))

  it.effect("a window too small for the reserved output is a ConfigError that says what to change", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        makeBudget({ contextLimit: 20_000, maxOutputTokens: 4_000 }, defaultConfig)
      )
      expect(error.path).toBe("compaction.compactionOutputBudget")
      expect(error.rule).toContain("lower compactionOutputBudget")
    }))
})

describe("environment", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.effect("MNESIS_DB_PATH and MNESIS_MOCK_LLM", () =>
    Effect.gen(function*() {
      const empty = yield* MnesisEnv.pipe(withEnv({}))
      expect(Option.isNone(empty.dbPath)).toBe(true)
      expect(empty.mockLlm).toBe(false)
      const set = yield* MnesisEnv.pipe(withEnv({ MNESIS_DB_PATH: "/tmp/a.db", MNESIS_MOCK_LLM: "1" }))
      expect(Option.getOrNull(set.dbPath)).toBe("/tmp/a.db")
      expect(set.mockLlm).toBe(true)
      for (const off of ["", "0", "false", "no"]) {
        expect((yield* MnesisEnv.pipe(withEnv({ MNESIS_MOCK_LLM: off }))).mockLlm).toBe(false)
      }
    }))

  /** A config source that cannot be reached (a secrets service that is down, say). */
  const unreachable = Effect.withConfigProvider(
    ConfigProvider.fromFlat(ConfigProvider.makeFlat({
      load: (path) =>
        Effect.fail(EffectConfigError.SourceUnavailable([...path], "vault unreachable", Cause.empty)),
      enumerateChildren: () => Effect.succeed(HashSet.empty()),
      patch: PathPatch.empty
    }))
  )

  it.effect("Settings.layerFromEnv fails with a ConfigError naming the variable when the environment cannot be read", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.either(
        Layer.build(Settings.layerFromEnv({ store: { dbPath: "/tmp/x.db" } }))
      )
        .pipe(Effect.scoped, unreachable)
      expect(Either.isLeft(outcome) && outcome.left._tag).toBe("ConfigError")
      const error = Either.isLeft(outcome) ? outcome.left : undefined
      expect(error?.path).toContain("MNESIS_DB_PATH")
      expect(error?.rule).toContain("vault unreachable")
    }))

  it.effect("a MNESIS_MOCK_LLM that is neither yes nor no is a ConfigError naming it, not a silent no", () =>
    Effect.gen(function*() {
      const raw = yield* Effect.either(MnesisEnv.pipe(withEnv({ MNESIS_MOCK_LLM: "maybe" })))
      expect(Either.isLeft(raw)).toBe(true)
      const outcome = yield* Effect.either(readEnv.pipe(withEnv({ MNESIS_MOCK_LLM: "maybe" })))
      expect(Either.isLeft(outcome) && outcome.left.path).toBe("MNESIS_MOCK_LLM")
      expect(Either.isLeft(outcome) && outcome.left.rule).toContain("\"maybe\"")
      for (
        const [value, expected] of [["ON", true], [" yes ", true], ["off", false], ["0", false]] as const
      ) {
        expect((yield* readEnv.pipe(withEnv({ MNESIS_MOCK_LLM: value }))).mockLlm).toBe(expected)
      }
    }))

  it.effect("provider keys are Redacted and never print", () =>
    Effect.gen(function*() {
      const keys = yield* ProviderKeys.pipe(withEnv({ ANTHROPIC_API_KEY: "sk-ant-secret" }))
      const key = Option.getOrThrow(keys.anthropic)
      expect(Redacted.value(key)).toBe("sk-ant-secret")
      expect(inspect(key)).not.toContain("secret")
      expect(JSON.stringify(keys)).not.toContain("secret")
      expect(Option.isNone(keys.openai)).toBe(true)
    }))

  it("store paths expand ~ and become absolute; :memory: is kept", () => {
    expect(resolveDbPath("~/.mnesis/sessions.db")).toBe(
      NodePath.join(NodeOs.homedir(), ".mnesis/sessions.db")
    )
    expect(resolveDbPath("rel/x.db")).toBe(NodePath.resolve("rel/x.db"))
    expect(resolveDbPath(":memory:")).toBe(":memory:")
  })
})
