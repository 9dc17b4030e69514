/**
 * `MnesisConfig`: every tunable with its default and validation rule (SPEC §2), as a Schema.
 * A partial user config is merged over the defaults by decoding it; unknown fields and broken
 * rules fail with a `ConfigError` naming the field path and the rule.
 *
 * Environment variables are read separately through Effect `Config` (see {@link MnesisEnv}).
 *
 * @since 0.1.0
 */
import {
  Config,
  ConfigError as EffectConfigError,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  ParseResult,
  Schema
} from "effect"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { ConfigError } from "./Errors.js"

// ---------------------------------------------------------------------------------------------
// Field schemas with readable rules
// ---------------------------------------------------------------------------------------------

const intBetween = (min: number, max: number) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isInteger(n) && n >= min && n <= max, {
      message: () => `must be an integer from ${min.toLocaleString("en")} to ${max.toLocaleString("en")}`
    })
  )

const intAtLeast = (min: number) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isInteger(n) && n >= min, {
      message: () => `must be an integer of at least ${min.toLocaleString("en")}`
    })
  )

const numberBetween = (min: number, max: number) =>
  Schema.Number.pipe(
    Schema.filter((n) => Number.isFinite(n) && n >= min && n <= max, {
      message: () => `must be a number from ${min} to ${max}`
    })
  )

/**
 * A duration given as milliseconds or as an Effect duration string ("30 seconds", "2 minutes").
 * Decodes to a `Duration`; encodes to milliseconds.
 */
export const DurationInput = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input === "number" && !(input >= 0)) {
        return ParseResult.fail(new ParseResult.Type(ast, input, "must be a finite, non-negative duration"))
      }
      const decoded = typeof input === "number"
        ? Option.some(Duration.millis(input))
        : Duration.decodeUnknown(input)
      return Option.match(decoded, {
        onNone: () =>
          ParseResult.fail(
            new ParseResult.Type(ast, input, "must be milliseconds or a duration such as \"30 seconds\"")
          ),
        onSome: (duration) =>
          Duration.isFinite(duration) && Duration.toMillis(duration) >= 0
            ? ParseResult.succeed(duration)
            : ParseResult.fail(new ParseResult.Type(ast, input, "must be a finite, non-negative duration"))
      })
    },
    encode: (duration) => ParseResult.succeed(Duration.toMillis(duration))
  }
)

const withDefault = <S extends Schema.Schema.Any>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { default: value, exact: true })

/** Expands a leading `~` and makes the path absolute (`:memory:` is kept as it is). */
export const resolveDbPath = (path: string): string => {
  if (path === ":memory:") return path
  const expanded = path === "~" || path.startsWith("~/")
    ? NodePath.join(NodeOs.homedir(), path.slice(1))
    : path
  return NodePath.resolve(expanded)
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

/** Compaction thresholds, pruning and the summary DAG. */
export const CompactionConfig = Schema.Struct({
  auto: withDefault(Schema.Boolean, () => true),
  compactionOutputBudget: withDefault(intBetween(1_000, 200_000), () => 20_000),
  softThresholdFraction: withDefault(numberBetween(0.1, 0.95), () => 0.6),
  prune: withDefault(Schema.Boolean, () => true),
  pruneProtectTokens: withDefault(intAtLeast(0), () => 40_000),
  pruneMinimumTokens: withDefault(intAtLeast(0), () => 20_000),
  /** Tools whose outputs are never pruned. */
  protectedTools: withDefault(Schema.Array(Schema.String), () => ["skill"]),
  /** Model used for summaries; the session's model when absent. */
  compactionModel: Schema.optionalWith(Schema.String, { exact: true }),
  level2Enabled: withDefault(Schema.Boolean, () => true),
  condensationEnabled: withDefault(Schema.Boolean, () => true),
  /** Replaces the built-in level 1 and level 2 instructions. */
  compactionPrompt: Schema.optionalWith(Schema.String, { exact: true }),
  maxCompactionRounds: withDefault(intBetween(1, 50), () => 10),
  /** The newest user turns (and everything after them) that are never summarised or pruned. */
  freshTailTurns: withDefault(intBetween(1, 100), () => 2),
  /** Deadline of one summarisation attempt; past it the round falls to the next level. */
  roundTimeout: withDefault(DurationInput, () => Duration.seconds(120)),
  /** Number of same-depth summaries in the context that triggers condensation. */
  condenseFanout: withDefault(intBetween(2, 32), () => 4)
}).pipe(
  Schema.filter((c) =>
    c.pruneMinimumTokens < c.pruneProtectTokens ? undefined : {
      path: ["pruneMinimumTokens"],
      message: "must be less than pruneProtectTokens"
    }
  )
)
export type CompactionConfig = typeof CompactionConfig.Type

/** Large-file handling (see docs/files.md). */
export const FileConfig = Schema.Struct({
  /** Files of at least this many tokens become references instead of inline text. */
  inlineThreshold: withDefault(intAtLeast(100), () => 10_000),
  /** Budget of a reference's exploration summary, in tokens. */
  summaryTokens: withDefault(intBetween(50, 20_000), () => 1_000),
  /** Larger files are refused with a `FileError` before they are read. */
  maxFileBytes: withDefault(intBetween(1_024, 1_073_741_824), () => 64 * 1024 * 1024)
})
export type FileConfig = typeof FileConfig.Type

/** The embedded store (the default): one database file on this machine. */
export const FileStoreConfig = Schema.Struct({
  backend: withDefault(Schema.Literal("sqlite"), () => "sqlite" as const),
  dbPath: withDefault(
    Schema.String.pipe(Schema.minLength(1, { message: () => "must not be empty" })),
    () => "~/.mnesis/sessions.db"
  ),
  walMode: withDefault(Schema.Boolean, () => true),
  busyTimeout: withDefault(DurationInput, () => Duration.seconds(30))
})
export type FileStoreConfig = typeof FileStoreConfig.Type

/** Which store `MnesisLive` opens, and how: one member per backend, told apart by `backend`. */
export const StoreConfig = Schema.Union(FileStoreConfig)
export type StoreConfig = typeof StoreConfig.Type

/** Parallel operators (LLM-Map, Agentic-Map). */
export const OperatorConfig = Schema.Struct({
  /** LLM-Map: model calls in flight at once. */
  llmMapConcurrency: withDefault(intBetween(1, 128), () => 16),
  /** Agentic-Map: sub-agents at work at once. */
  agenticMapConcurrency: withDefault(intBetween(1, 32), () => 4),
  /** Retries of an item: replies that do not decode, and transient provider errors. */
  maxRetries: withDefault(intBetween(0, 10), () => 3),
  /** LLM-Map: how long one model call of an item may take before it counts as timed out. */
  itemTimeout: withDefault(DurationInput, () => Duration.seconds(120)),
  /**
   * How deep operators nest: a session this many levels below its root may not start one (a
   * root session is at 0, the sub-agents of its Agentic-Map at 1, theirs at 2).
   */
  maxDepth: withDefault(intBetween(1, 8), () => 2)
})
export type OperatorConfig = typeof OperatorConfig.Type

/** Retry of transient provider errors (rate limited, overloaded, server, timeout, connection). */
export const RetryConfig = Schema.Struct({
  maxRetries: withDefault(intBetween(0, 20), () => 0),
  baseDelay: withDefault(DurationInput, () => Duration.seconds(1)),
  maxDelay: withDefault(DurationInput, () => Duration.seconds(60)),
  jitter: withDefault(Schema.Boolean, () => true)
})
export type RetryConfig = typeof RetryConfig.Type

/** Per-session behaviour of turns and the tool loop. */
export const SessionConfig = Schema.Struct({
  doomLoopThreshold: withDefault(intBetween(2, 10), () => 3),
  /** `warn` reports a doom loop and goes on; `stop` ends the tool loop. */
  doomLoopAction: withDefault(Schema.Literal("warn", "stop"), () => "warn" as const),
  /** Provider calls allowed in one `send` before it ends with `max_steps`. */
  maxSteps: withDefault(intBetween(1, 200), () => 20),
  /** Tool handlers of one step that may run at once. */
  toolConcurrency: withDefault(intBetween(1, 64), () => 4),
  /** How long closing a session waits for background compaction before interrupting it. */
  closeTimeout: withDefault(DurationInput, () => Duration.seconds(30)),
  retry: withDefault(RetryConfig, () => Schema.decodeSync(RetryConfig)({}))
})
export type SessionConfig = typeof SessionConfig.Type

/** Overrides of the session model's registry entry. */
export const ModelOverrides = Schema.Struct({
  contextLimit: Schema.optionalWith(intAtLeast(1), { exact: true }),
  maxOutputTokens: Schema.optionalWith(intAtLeast(1), { exact: true })
})
export type ModelOverrides = typeof ModelOverrides.Type

/**
 * The whole configuration. Decode a partial object with {@link makeConfig} to get every default.
 *
 * @since 0.1.0
 */
export const MnesisConfig = Schema.Struct({
  compaction: withDefault(CompactionConfig, () => Schema.decodeSync(CompactionConfig)({})),
  file: withDefault(FileConfig, () => Schema.decodeSync(FileConfig)({})),
  store: withDefault(StoreConfig, () => Schema.decodeSync(StoreConfig)({})),
  operators: withDefault(OperatorConfig, () => Schema.decodeSync(OperatorConfig)({})),
  session: withDefault(SessionConfig, () => Schema.decodeSync(SessionConfig)({})),
  modelOverrides: Schema.optionalWith(ModelOverrides, { exact: true })
})
export type MnesisConfig = typeof MnesisConfig.Type

/** A partial configuration as a user writes it (durations as ms or strings). */
export type MnesisConfigInput = typeof MnesisConfig.Encoded

type DeepPartial<T> = T extends ReadonlyArray<unknown> ? T
  : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
  : T

/** Anything {@link makeConfig} accepts: a deep-partial input or an already decoded config section. */
export type MnesisConfigOverrides = DeepPartial<MnesisConfigInput>

const decodeConfig = Schema.decodeUnknownEither(MnesisConfig, { onExcessProperty: "error", errors: "first" })

/** Turns the first schema issue into a `ConfigError` naming the field path and the rule. */
const toConfigError = (error: ParseResult.ParseError): ConfigError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return new ConfigError({ path: "", rule: "invalid configuration" })
  const path = issue.path.map(String).join(".")
  const rule = issue._tag === "Unexpected" ? "is not a known setting (check its spelling)" : issue.message
  return new ConfigError({ path, rule })
}

/** Durations already decoded are written back as milliseconds so the input can be re-decoded. */
const normalise = (value: unknown): unknown => {
  if (Duration.isDuration(value)) return Duration.toMillis(value)
  if (Array.isArray(value)) return value
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]))
  }
  return value
}

/**
 * Decodes a partial configuration over the defaults.
 *
 * @since 0.1.0
 */
export const makeConfig = (input: MnesisConfigOverrides = {}): Effect.Effect<MnesisConfig, ConfigError> =>
  decodeInput(normalise(input))

const decodeInput = (input: unknown): Effect.Effect<MnesisConfig, ConfigError> =>
  Either.match(decodeConfig(input), {
    onLeft: (error) => Effect.fail(toConfigError(error)),
    onRight: Effect.succeed
  })

/** The defaults, decoded once. */
export const defaultConfig: MnesisConfig = Schema.decodeSync(MnesisConfig)({})

/**
 * Merges an override over an existing config (section by section, field by field).
 */
export const mergeConfig = (
  base: MnesisConfig,
  override: MnesisConfigOverrides
): Effect.Effect<MnesisConfig, ConfigError> => decodeInput(deepMerge(normalise(base), normalise(override)))

const deepMerge = (a: unknown, b: unknown): unknown => {
  if (b === undefined) return a
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Record<string, unknown> = { ...a }
    for (const [key, value] of Object.entries(b)) out[key] = deepMerge(a[key], value)
    return out
  }
  return b
}

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  u !== null && typeof u === "object" && !Array.isArray(u)

// ---------------------------------------------------------------------------------------------
// Budget
// ---------------------------------------------------------------------------------------------

/**
 * The token budget of a session: what the active context may hold and where compaction starts.
 * Both thresholds are compared with the size of the assembled active context.
 */
export interface Budget {
  readonly contextLimit: number
  readonly maxOutputTokens: number
  /** `contextLimit − maxOutputTokens − compactionOutputBudget`. */
  readonly usable: number
  /** `floor(usable × softThresholdFraction)`: a background round starts at or above it. */
  readonly softThreshold: number
  /** `usable`: a turn waits for compaction at or above it. */
  readonly hardThreshold: number
}

export const makeBudget = (
  model: { readonly contextLimit: number; readonly maxOutputTokens: number },
  config: MnesisConfig
): Effect.Effect<Budget, ConfigError> => {
  const usable = model.contextLimit - model.maxOutputTokens - config.compaction.compactionOutputBudget
  if (usable <= 0) {
    return Effect.fail(
      new ConfigError({
        path: "compaction.compactionOutputBudget",
        rule: `leaves no room for the context: the model's window is ${model.contextLimit} tokens with ` +
          `${model.maxOutputTokens} reserved for output; lower compactionOutputBudget or set ` +
          `modelOverrides.maxOutputTokens`
      })
    )
  }
  return Effect.succeed({
    contextLimit: model.contextLimit,
    maxOutputTokens: model.maxOutputTokens,
    usable,
    softThreshold: Math.floor(usable * config.compaction.softThresholdFraction),
    hardThreshold: usable
  })
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

const FLAG_ON = ["1", "true", "yes", "on"]
const FLAG_OFF = ["", "0", "false", "no", "off"]

/** A yes/no variable; unset is no, and a value that is neither is an error, never a silent no. */
const flag = (name: string) =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.mapOrFail((raw) => {
      const value = raw.trim().toLowerCase()
      if (FLAG_ON.includes(value)) return Either.right(true)
      if (FLAG_OFF.includes(value)) return Either.right(false)
      return Either.left(
        EffectConfigError.InvalidData(
          [name],
          `must be one of ${[...FLAG_ON, ...FLAG_OFF.slice(1)].join(", ")} (got "${raw}")`
        )
      )
    })
  )

/**
 * What mnesis reads from the environment: `MNESIS_DB_PATH` (overrides `store.dbPath`) and
 * `MNESIS_MOCK_LLM` (`1` routes every model to the mock). Provider keys are read by each
 * provider as `Redacted` values (see {@link ProviderKeys}).
 */
export const MnesisEnv = Config.all({
  dbPath: Config.option(Config.string("MNESIS_DB_PATH")),
  mockLlm: flag("MNESIS_MOCK_LLM")
})
export type MnesisEnv = Config.Config.Success<typeof MnesisEnv>

/** The variables an Effect `ConfigError` is about, in the order it names them. */
const variablesOf = (error: EffectConfigError.ConfigError): Array<string> =>
  EffectConfigError.reduceWithContext<undefined, Array<string>>(error, undefined, {
    andCase: (_, left, right) => [...left, ...right],
    orCase: (_, left, right) => [...left, ...right],
    invalidDataCase: (_, path) => [path.join(".")],
    missingDataCase: (_, path) => [path.join(".")],
    sourceUnavailableCase: (_, path) => [path.join(".")],
    unsupportedCase: (_, path) => [path.join(".")]
  })

/** An environment that could not be read, as a `ConfigError` naming the variables and the reason. */
export const envError = (error: EffectConfigError.ConfigError): ConfigError =>
  new ConfigError({
    path: [...new Set(variablesOf(error).filter((name) => name !== ""))].join(", "),
    rule: `could not be read from the environment: ${error.message}; fix or unset it`
  })

/**
 * Reads {@link MnesisEnv}. A variable that cannot be read (a failing config source, a flag that
 * is neither yes nor no) is a `ConfigError` naming it: never a silent default.
 */
export const readEnv: Effect.Effect<MnesisEnv, ConfigError> = Effect.mapError(MnesisEnv, envError)

/** Provider API keys, each optional; a provider that needs a missing key fails naming it. */
export const ProviderKeys = Config.all({
  anthropic: Config.option(Config.redacted("ANTHROPIC_API_KEY")),
  openai: Config.option(Config.redacted("OPENAI_API_KEY")),
  openrouter: Config.option(Config.redacted("OPENROUTER_API_KEY")),
  openaiCompat: Config.option(Config.redacted("OPENAI_COMPAT_API_KEY"))
})
export type ProviderKeys = Config.Config.Success<typeof ProviderKeys>

// ---------------------------------------------------------------------------------------------
// The configuration as a service
// ---------------------------------------------------------------------------------------------

/**
 * The base configuration sessions start from (a session's `config` option merges over it).
 *
 * @since 0.1.0
 */
export class Settings extends Context.Tag("mnesis/Settings")<Settings, MnesisConfig>() {
  /** The defaults merged with `overrides`. */
  static readonly layer = (overrides: MnesisConfigOverrides = {}): Layer.Layer<Settings, ConfigError> =>
    Layer.effect(Settings, makeConfig(overrides))

  /**
   * The defaults merged with `overrides`, then `MNESIS_DB_PATH` over `store.dbPath`. An
   * environment that cannot be read fails the layer with a `ConfigError` naming the variable.
   */
  static readonly layerFromEnv = (
    overrides: MnesisConfigOverrides = {}
  ): Layer.Layer<Settings, ConfigError> =>
    Layer.effect(
      Settings,
      Effect.gen(function*() {
        const env = yield* readEnv
        const config = yield* makeConfig(overrides)
        // An empty MNESIS_DB_PATH (e.g. `MNESIS_DB_PATH= npm start`) means "not set".
        return Option.match(Option.filter(env.dbPath, (path) => path.trim() !== ""), {
          onNone: () => config,
          onSome: (dbPath) => ({ ...config, store: { ...config.store, dbPath } })
        })
      })
    )
}
