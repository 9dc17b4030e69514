/**
 * The configuration a session ran with, as far as the inspector needs it: the store keeps the
 * session's model but not its configuration, so thresholds come from the model registry and the
 * defaults, or from `--config` (the same overrides the program passed to `makeConfig`).
 *
 * @internal
 */
import { Effect, Either, Option, ParseResult, Schema } from "effect"
import * as NodeFs from "node:fs"
import type { Budget, MnesisConfig } from "../../Config.js"
import { defaultConfig, makeBudget, MnesisConfig as MnesisConfigSchema } from "../../Config.js"
import type { Count } from "../../context/Render.js"
import { ConfigError } from "../../Errors.js"
import type { ModelInfo } from "../../ModelRegistry.js"
import * as ModelRegistry from "../../ModelRegistry.js"
import { tokenizer } from "../../Tokenizer.js"
import { BadOption } from "../errors.js"

const decode = Schema.decodeUnknownEither(MnesisConfigSchema, { onExcessProperty: "error", errors: "first" })

/** `--config`: inline JSON (starting with `{`) or the path of a JSON file. */
export const loadConfig = (
  option: Option.Option<string>
): Effect.Effect<MnesisConfig, BadOption | ConfigError> =>
  Effect.gen(function*() {
    if (Option.isNone(option)) return defaultConfig
    const raw = option.value.trim()
    const text = raw.startsWith("{") ? raw : yield* Effect.try({
      try: () => NodeFs.readFileSync(raw, "utf8"),
      catch: (cause) =>
        new BadOption({
          option: "--config",
          reason: `cannot read ${raw} (${cause instanceof Error ? cause.message : String(cause)}); ` +
            "give inline JSON or the path of a JSON file"
        })
    })
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: () => new BadOption({ option: "--config", reason: "is not valid JSON" })
    })
    return yield* Either.match(decode(json), {
      onRight: Effect.succeed,
      onLeft: (error) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
        return Effect.fail(
          new ConfigError({
            path: issue?.path.map(String).join(".") ?? "",
            rule: issue?._tag === "Unexpected"
              ? "is not a known setting (check its spelling)"
              : issue?.message ?? "invalid configuration"
          })
        )
      }
    })
  })

/** What the inspector knows of a session's model: its window, thresholds and token counter. */
export interface ModelView {
  readonly info: ModelInfo
  /** Undefined when the configuration leaves no room for a context (the reason is given). */
  readonly budget: Budget | undefined
  readonly budgetProblem?: string | undefined
  readonly count: Count
}

export const modelView = (model: string, config: MnesisConfig): Effect.Effect<ModelView> =>
  Effect.gen(function*() {
    const info = ModelRegistry.resolve(model, config.modelOverrides)
    const budget = yield* Effect.either(makeBudget(info, config))
    const count: Count = (text) => tokenizer.countFor(text, info)
    return Either.match(budget, {
      onRight: (budget) => ({ info, budget, count }),
      onLeft: (error) => ({ info, budget: undefined, budgetProblem: error.message, count })
    })
  })
