/**
 * The model registry: context window, output limit, tokenizer encoding and list prices of the
 * models mnesis knows, looked up from a `provider/model` string.
 *
 * Prices come, in this order, from the user (a {@link ModelRegistry} layer, or `pricing` in the
 * overrides), from the maintained table `@pydantic/genai-prices` (current list prices with cache
 * reads and writes, long-context tiers and dated changes, updated with the package), and from
 * mnesis's own table below for what the maintained one lacks. Limits and encodings come from the
 * user, then mnesis's table, then the maintained table's context window.
 *
 * mnesis's table matches the model's last path segment (`openrouter/anthropic/claude-sonnet-4-5`
 * is matched as `claude-sonnet-4-5`) with patterns anchored at the start of the name, so a family
 * like `o1` matches `o1` and `o1-mini` but never `gpt-4o1` or `foo-o1x` (the Python reference
 * tested substrings anywhere). Unknown models get a conservative fallback and say so in a log.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Option, ParseResult, Schema } from "effect"
import type { TokenUsageFields } from "./Domain.js"
import { ConfigError } from "./Errors.js"
import * as Prices from "./llm/shared/Prices.js"

// ---------------------------------------------------------------------------------------------
// Data shapes
// ---------------------------------------------------------------------------------------------

/**
 * How text is counted: one of two real BPE encodings, or `heuristic` (characters ÷ 4) when no
 * encoding applies.
 */
export const Encoding = Schema.Literal("o200k_base", "cl100k_base", "heuristic")
export type Encoding = typeof Encoding.Type

/** List prices in USD per million tokens (0 when local, open-weight or unknown). */
export const Pricing = Schema.Struct({
  input: Schema.NonNegative,
  output: Schema.NonNegative,
  cacheRead: Schema.NonNegative,
  cacheWrite: Schema.NonNegative
})
export type Pricing = typeof Pricing.Type

/** Prices for calls whose whole input (cached or not) is above `above` tokens (long-context rates). */
export const PriceTier = Schema.Struct({
  above: Schema.NonNegativeInt,
  pricing: Pricing
})
export type PriceTier = typeof PriceTier.Type

/**
 * Where a model's prices came from: the user (`override`), the maintained table (`genai-prices`),
 * mnesis's own table (`mnesis`), or nowhere (`none`: priced at zero — local, open-weight or unknown).
 */
export const PriceSource = Schema.Literal("override", "genai-prices", "mnesis", "none")
export type PriceSource = typeof PriceSource.Type

/**
 * What mnesis knows about a model.
 *
 * @since 0.1.0
 */
export class ModelInfo extends Schema.Class<ModelInfo>("ModelInfo")({
  /** The model string exactly as given. */
  model: Schema.String,
  /** The `provider/` prefix (lower-cased), or the vendor inferred from a bare name ("" if none). */
  provider: Schema.String,
  /** Everything after the provider prefix, as given: what the provider's API is called with. */
  name: Schema.String,
  contextLimit: Schema.Int.pipe(Schema.positive()),
  maxOutputTokens: Schema.Int.pipe(Schema.positive()),
  encoding: Encoding,
  /** True when `encoding` only approximates the model's own tokenizer (Claude, Gemini, open models). */
  approximate: Schema.Boolean,
  /** Prices of calls up to the first tier (all calls when there are no tiers). */
  pricing: Pricing,
  /** Higher prices for long prompts, lowest threshold first; empty for flat prices. */
  pricingTiers: Schema.Array(PriceTier),
  priceSource: PriceSource,
  /** False when neither table knows the model's limits and the fallback was used. */
  known: Schema.Boolean
}) {}

/**
 * Corrections of a registry entry. Structurally compatible with the config's `modelOverrides`;
 * `pricing` is for callers with negotiated prices (it replaces any long-context tiers: a price
 * the user gives is the price of every call).
 */
export interface RegistryOverrides {
  readonly contextLimit?: number | undefined
  readonly maxOutputTokens?: number | undefined
  readonly pricing?: PartialPricing | undefined
}

/** Some of a model's prices (the rest come from the tables). */
export type PartialPricing = { readonly [K in keyof Pricing]?: number | undefined }

// ---------------------------------------------------------------------------------------------
// Fallback
// ---------------------------------------------------------------------------------------------

export const FALLBACK_CONTEXT_LIMIT = 128_000
export const FALLBACK_MAX_OUTPUT_TOKENS = 4_096

const FREE: Pricing = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }

/** MockLlm counts with o200k_base exactly, so its counts are not approximations. */
const MOCK = {
  pattern: /^/,
  contextLimit: 200_000,
  maxOutputTokens: 8_192,
  encoding: "o200k_base",
  approximate: false,
  pricing: FREE
} as const

// ---------------------------------------------------------------------------------------------
// Registry table
// ---------------------------------------------------------------------------------------------

interface Entry {
  /** Only for this `provider/` prefix (a host's own price for an open model); any when absent. */
  readonly provider?: string
  readonly pattern: RegExp
  readonly contextLimit: number
  readonly maxOutputTokens: number
  readonly encoding: Encoding
  readonly approximate: boolean
  readonly pricing: Pricing
}

/**
 * A family: the name starts with `prefix` and the next character does not continue the name
 * (no letter, digit or `.digit`), so `gpt-4` matches `gpt-4-0613` but not `gpt-4o` or `gpt-4.1`.
 * `prefix` is a regular-expression source.
 */
const family = (prefix: string): RegExp => new RegExp(`^(?:${prefix})(?![a-z0-9]|\\.[0-9])`)

const price = (input: number, output: number, cacheRead: number, cacheWrite: number): Pricing => ({
  input,
  output,
  cacheRead,
  cacheWrite
})

// Claude counts are approximated with o200k_base (no offline tokenizer is exact for Claude 3+).
const claude = (prefix: string, maxOutputTokens: number, pricing: Pricing): Entry => ({
  pattern: family(prefix),
  contextLimit: 200_000,
  maxOutputTokens,
  encoding: "o200k_base",
  approximate: true,
  pricing
})

const openai = (
  prefix: string,
  contextLimit: number,
  maxOutputTokens: number,
  pricing: Pricing,
  encoding: Encoding = "o200k_base"
): Entry => ({
  pattern: family(prefix),
  contextLimit,
  maxOutputTokens,
  encoding,
  approximate: false,
  pricing
})

const gemini = (prefix: string, maxOutputTokens: number, pricing: Pricing): Entry => ({
  pattern: family(prefix),
  contextLimit: 1_048_576,
  maxOutputTokens,
  encoding: "o200k_base",
  approximate: true,
  pricing
})

/** xAI's Grok models (no published output limit: the reservation is mnesis's). */
const grok = (prefix: string, contextLimit: number, maxOutputTokens: number, pricing: Pricing): Entry => ({
  pattern: family(prefix),
  contextLimit,
  maxOutputTokens,
  encoding: "o200k_base",
  approximate: true,
  pricing
})

/** A model as one host serves it, at that host's price. */
const hosted = (
  provider: string,
  prefix: string,
  contextLimit: number,
  maxOutputTokens: number,
  pricing: Pricing
): Entry => ({
  provider,
  pattern: family(prefix),
  contextLimit,
  maxOutputTokens,
  encoding: "o200k_base",
  approximate: true,
  pricing
})

/** Open-weight models: prices depend on the host, so none are assumed. */
const openWeights = (prefix: string, contextLimit: number, maxOutputTokens: number): Entry => ({
  pattern: family(prefix),
  contextLimit,
  maxOutputTokens,
  encoding: "o200k_base",
  approximate: true,
  pricing: FREE
})

/**
 * Ordered: the first matching entry wins, so specific names precede their family.
 *
 * Prices are list prices in USD per million tokens as of 2026 (standard tier, short prompts;
 * cache writes at the 5-minute rate for Anthropic, at the input rate where a provider does not
 * bill them separately). They change; pass `overrides.pricing` to correct them.
 */
const ENTRIES: ReadonlyArray<Entry> = [
  // --- Hosts' own prices (checked against @pydantic/genai-prices, 2026). Output limits the host
  // does not publish, or that equal the window, are mnesis's reservations. ---
  // Groq (`groq/openai/gpt-oss-120b` is matched as `gpt-oss-120b`).
  hosted("groq", "llama-3\\.3-70b-versatile", 131_072, 32_768, price(0.59, 0.79, 0.59, 0.59)),
  hosted("groq", "llama-3\\.1-8b-instant", 131_072, 32_768, price(0.05, 0.08, 0.05, 0.05)),
  hosted("groq", "llama-4-maverick", 131_072, 8_192, price(0.2, 0.6, 0.2, 0.2)),
  hosted("groq", "llama-4-scout", 131_072, 8_192, price(0.11, 0.34, 0.11, 0.11)),
  hosted("groq", "gpt-oss-120b", 131_072, 32_768, price(0.15, 0.6, 0.075, 0.15)),
  hosted("groq", "gpt-oss-20b", 131_072, 32_768, price(0.075, 0.3, 0.0375, 0.075)),
  hosted("groq", "kimi-k2-instruct-0905", 262_144, 16_384, price(1, 3, 0.5, 1)),
  hosted("groq", "kimi-k2-instruct", 131_072, 16_384, price(1, 3, 0.5, 1)),
  hosted("groq", "qwen3-32b", 131_072, 32_768, price(0.29, 0.59, 0.29, 0.29)),
  // Mistral's API (`-latest` aliases priced as the release they point to in 2026).
  hosted("mistral", "mistral-large-(?:2407|2411)", 131_072, 16_384, price(2, 6, 2, 2)),
  hosted("mistral", "mistral-large", 262_144, 16_384, price(0.5, 1.5, 0.05, 0.5)),
  hosted("mistral", "mistral-medium", 131_072, 16_384, price(0.4, 2, 0.4, 0.4)),
  hosted("mistral", "mistral-small-2603", 131_072, 16_384, price(0.15, 0.6, 0.015, 0.15)),
  hosted("mistral", "mistral-small", 131_072, 16_384, price(0.1, 0.3, 0.1, 0.1)),
  hosted("mistral", "magistral-medium", 131_072, 32_768, price(2, 5, 2, 2)),
  hosted("mistral", "magistral-small", 131_072, 32_768, price(0.5, 1.5, 0.5, 0.5)),
  hosted("mistral", "codestral", 262_144, 16_384, price(0.3, 0.9, 0.03, 0.3)),
  hosted("mistral", "devstral-(?:medium|2512)", 262_144, 16_384, price(0.4, 2, 0.04, 0.4)),
  hosted("mistral", "ministral-8b", 131_072, 8_192, price(0.1, 0.1, 0.1, 0.1)),
  hosted("mistral", "ministral-3b", 131_072, 8_192, price(0.04, 0.04, 0.04, 0.04)),
  hosted("mistral", "(?:open-)?mistral-nemo", 131_072, 8_192, price(0.15, 0.15, 0.15, 0.15)),
  // Together AI (`together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo`).
  hosted(
    "together_ai",
    "(?:meta-)?llama-3\\.[13]-70b-instruct-turbo",
    131_072,
    8_192,
    price(0.88, 0.88, 0.88, 0.88)
  ),
  hosted("together_ai", "meta-llama-3\\.1-8b-instruct-turbo", 131_072, 8_192, price(0.18, 0.18, 0.18, 0.18)),
  hosted("together_ai", "meta-llama-3\\.1-405b-instruct-turbo", 131_072, 8_192, price(3.5, 3.5, 3.5, 3.5)),

  // --- Anthropic (200K; Sonnet 4.x has a 1M beta window that must be opted into). Opus 4.5+
  // may emit more than 32K tokens, but reserving more would shrink the usable context. ---
  claude("claude-opus-4-[5-9]", 32_000, price(5, 25, 0.5, 6.25)),
  claude("claude-opus-4", 32_000, price(15, 75, 1.5, 18.75)),
  claude("claude-sonnet-4", 64_000, price(3, 15, 0.3, 3.75)),
  claude("claude-haiku-4", 64_000, price(1, 5, 0.1, 1.25)),
  claude("claude-3-7-sonnet", 64_000, price(3, 15, 0.3, 3.75)),
  claude("claude-3-5-sonnet", 8_192, price(3, 15, 0.3, 3.75)),
  claude("claude-3-5-haiku", 8_192, price(0.8, 4, 0.08, 1)),
  claude("claude-3-opus", 4_096, price(15, 75, 1.5, 18.75)),
  claude("claude-3-sonnet", 4_096, price(3, 15, 0.3, 3.75)),
  claude("claude-3-haiku", 4_096, price(0.25, 1.25, 0.03, 0.3)),

  // --- OpenAI: GPT-5 family (400K / 128K; the chat-latest aliases are 128K / 16,384) ---
  openai("gpt-5(?:\\.[0-9]+)?-chat", 128_000, 16_384, price(1.25, 10, 0.125, 1.25)),
  openai("gpt-5(?:\\.[0-9]+)?-pro", 400_000, 128_000, price(15, 120, 15, 15)),
  openai("gpt-5(?:\\.[0-9]+)?-(?:codex-)?mini", 400_000, 128_000, price(0.25, 2, 0.025, 0.25)),
  openai("gpt-5(?:\\.[0-9]+)?-nano", 400_000, 128_000, price(0.05, 0.4, 0.005, 0.05)),
  openai("gpt-5\\.(?:[2-9]|[1-9][0-9])", 400_000, 128_000, price(1.75, 14, 0.175, 1.75)),
  openai("gpt-5(?:\\.[01])?", 400_000, 128_000, price(1.25, 10, 0.125, 1.25)),
  // --- OpenAI: GPT-4.1, GPT-4o ---
  openai("gpt-4\\.1-mini", 1_047_576, 32_768, price(0.4, 1.6, 0.1, 0.4)),
  openai("gpt-4\\.1-nano", 1_047_576, 32_768, price(0.1, 0.4, 0.025, 0.1)),
  openai("gpt-4\\.1", 1_047_576, 32_768, price(2, 8, 0.5, 2)),
  openai("gpt-4o-mini", 128_000, 16_384, price(0.15, 0.6, 0.075, 0.15)),
  openai("gpt-4o", 128_000, 16_384, price(2.5, 10, 1.25, 2.5)),
  openai("chatgpt-4o", 128_000, 16_384, price(5, 15, 5, 5)),
  // --- OpenAI: o-series, matched as whole families (never as a substring) ---
  openai("o1-mini", 128_000, 65_536, price(1.1, 4.4, 0.55, 1.1)),
  openai("o1-preview", 128_000, 32_768, price(15, 60, 7.5, 15)),
  openai("o1-pro", 200_000, 100_000, price(150, 600, 150, 150)),
  openai("o1", 200_000, 100_000, price(15, 60, 7.5, 15)),
  openai("o3-pro", 200_000, 100_000, price(20, 80, 20, 20)),
  openai("o3-mini", 200_000, 100_000, price(1.1, 4.4, 0.55, 1.1)),
  openai("o3", 200_000, 100_000, price(2, 8, 0.5, 2)),
  openai("o4-mini", 200_000, 100_000, price(1.1, 4.4, 0.275, 1.1)),
  // --- OpenAI: legacy cl100k models ---
  openai(
    "gpt-4-(?:turbo|0125-preview|1106-preview|1106-vision-preview)",
    128_000,
    4_096,
    price(10, 30, 10, 10),
    "cl100k_base"
  ),
  openai("gpt-4-32k", 32_768, 4_096, price(60, 120, 60, 60), "cl100k_base"),
  openai("gpt-4", 8_192, 4_096, price(30, 60, 30, 30), "cl100k_base"),
  openai("gpt-3\\.5-turbo", 16_385, 4_096, price(0.5, 1.5, 0.5, 0.5), "cl100k_base"),
  // gpt-oss uses o200k_harmony, whose ordinary-text BPE is o200k_base: counts are exact.
  { ...openWeights("gpt-oss", 131_072, 32_768), approximate: false },

  // --- Google Gemini (prices for prompts up to 200K tokens) ---
  gemini("gemini-3(?:\\.[0-9]+)?-pro", 65_536, price(2, 12, 0.2, 2)),
  gemini("gemini-3\\.5-flash-lite", 65_536, price(0.3, 2.5, 0.03, 0.3)),
  gemini("gemini-3(?:\\.[0-9]+)?-flash-lite", 65_536, price(0.25, 1.5, 0.025, 0.25)),
  gemini("gemini-3\\.5-flash", 65_536, price(1.5, 9, 0.15, 1.5)),
  gemini("gemini-3\\.[6-9]-flash", 65_536, price(1.5, 7.5, 0.15, 1.5)),
  gemini("gemini-3(?:\\.[0-9]+)?-flash", 65_536, price(0.5, 3, 0.05, 0.5)),
  gemini("gemini-2\\.5-pro", 65_536, price(1.25, 10, 0.125, 1.25)),
  gemini("gemini-2\\.5-flash-lite", 65_536, price(0.1, 0.4, 0.01, 0.1)),
  gemini("gemini-2\\.5-flash", 65_536, price(0.3, 2.5, 0.03, 0.3)),
  gemini("gemini-2\\.0-flash-lite", 8_192, price(0.075, 0.3, 0.01875, 0.075)),
  gemini("gemini-2\\.0-flash", 8_192, price(0.1, 0.4, 0.025, 0.1)),

  // --- xAI Grok (the same names through any router) ---
  grok("grok-4\\.5", 500_000, 32_768, price(2, 6, 0.5, 2)),
  grok("grok-4\\.3", 1_000_000, 32_768, price(1.25, 2.5, 0.2, 1.25)),
  grok("grok-4-1-fast", 2_000_000, 32_768, price(0.2, 0.5, 0.05, 0.2)),
  grok("grok-4-fast", 2_000_000, 32_768, price(0.2, 0.5, 0.05, 0.2)),
  grok("grok-code-fast", 256_000, 32_768, price(0.2, 1.5, 0.02, 0.2)),
  grok("grok-4", 256_000, 32_768, price(3, 15, 0.75, 3)),
  grok("grok-3-mini-fast", 131_072, 16_384, price(0.6, 4, 0.15, 0.6)),
  grok("grok-3-mini", 131_072, 16_384, price(0.3, 0.5, 0.075, 0.3)),
  grok("grok-3-fast", 131_072, 16_384, price(5, 25, 1.25, 5)),
  grok("grok-3", 131_072, 16_384, price(3, 15, 0.75, 3)),

  // --- DeepSeek's own API (priced) and its open weights (host-priced) ---
  {
    ...openWeights("deepseek-v4-pro", 1_000_000, 32_768),
    pricing: price(0.435, 0.87, 0.003625, 0.435)
  },
  {
    ...openWeights("deepseek-v4-flash", 1_000_000, 32_768),
    pricing: price(0.14, 0.28, 0.0028, 0.14)
  },
  {
    ...openWeights("deepseek-chat", 131_072, 8_192),
    pricing: price(0.28, 0.42, 0.028, 0.28)
  },
  {
    ...openWeights("deepseek-reasoner", 131_072, 32_768),
    pricing: price(0.28, 0.42, 0.028, 0.28)
  },
  openWeights("deepseek-v3(?:\\.[0-9]+)?", 131_072, 8_192),
  openWeights("deepseek-r1", 131_072, 32_768),

  // --- Other open-weight models: native windows (hosts that extend them: use overrides) ---
  openWeights("(?:meta-)?llama-?3[.-][1-3]", 131_072, 8_192),
  openWeights("(?:meta-)?llama-?3", 8_192, 4_096),
  openWeights("qwen-?2\\.5", 32_768, 8_192),
  openWeights("qwen-?3-(?:coder|next)", 262_144, 32_768),
  openWeights("qwen-?3", 40_960, 8_192),
  openWeights("mixtral-8x22b", 65_536, 8_192),
  openWeights("mixtral", 32_768, 8_192),
  openWeights("(?:open-)?mistral-(?:large|medium|nemo)", 131_072, 8_192),
  openWeights("(?:open-)?mistral", 32_768, 8_192)
]

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** Vendors inferred from a bare model name (no `provider/` prefix). */
const VENDORS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^claude-/, "anthropic"],
  [/^(?:gpt-|chatgpt-|o[1-9](?![0-9a-z]))/, "openai"],
  // Bare Gemini names go to Google's own API (the Python original's litellm sends them to Vertex).
  [/^gemini-/, "gemini"],
  [/^grok-/, "xai"],
  [/^deepseek-/, "deepseek"],
  [/^(?:meta-)?llama/, "meta"],
  [/^qwen/, "qwen"],
  [/^(?:open-)?(?:mistral|mixtral|codestral)/, "mistral"]
]

/**
 * The lower-cased name a registry entry is matched against: the last path segment, without a
 * Bedrock-style `anthropic.` prefix, with Claude versions written with dashes (`claude-3.5-…`,
 * as OpenRouter spells them, becomes `claude-3-5-…`).
 */
const matchKey = (model: string): string => {
  const lower = model.trim().toLowerCase()
  const last = lower.slice(lower.lastIndexOf("/") + 1).replace(/^(?:[a-z]+\.)?anthropic\./, "")
  return last.startsWith("claude-") ? last.replace(/([0-9])\.([0-9])/g, "$1-$2") : last
}

const inferVendor = (key: string): string => VENDORS.find(([pattern]) => pattern.test(key))?.[1] ?? ""

/**
 * Splits `provider/name`. The provider is the text before the first `/` (lower-cased); a bare
 * name gets the vendor its name implies (`gpt-4o` → `openai`), or "" when nothing fits.
 *
 * @since 0.1.0
 */
export const parseModel = (model: string): { readonly provider: string; readonly name: string } => {
  const trimmed = model.trim()
  const slash = trimmed.indexOf("/")
  if (slash === -1) return { provider: inferVendor(matchKey(trimmed)), name: trimmed }
  return { provider: trimmed.slice(0, slash).toLowerCase(), name: trimmed.slice(slash + 1) }
}

// ---------------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------------

const findEntry = (model: string, provider: string): Entry | undefined => {
  const key = matchKey(model)
  return ENTRIES.find((entry) =>
    (entry.provider === undefined || entry.provider === provider) && entry.pattern.test(key)
  )
}

/** Options of {@link resolve}. */
export interface ResolveOptions {
  /**
   * The time whose list prices apply (epoch ms; the maintained table records dated price
   * changes). {@link lookup} passes the `Clock`'s time; without it, the current time.
   */
  readonly at?: number | undefined
}

/**
 * The registry entry for `model` with `overrides` applied. Models neither table knows fall back
 * to a 128K window, 4,096 output tokens, an approximate o200k count and zero prices
 * (`known: false`). Override limits must be positive integers (the config schema and
 * {@link layer} guarantee it); anything else fails `ModelInfo`'s validation and throws.
 *
 * @since 0.1.0
 */
export const resolve = (
  model: string,
  overrides?: RegistryOverrides,
  options: ResolveOptions = {}
): ModelInfo => {
  const { name, provider } = parseModel(model)
  // `mock/<name>` is MockLlm: sized like the model it names (or a generous default), and free.
  const mock = provider === "mock"
  const entry = mock ? (findEntry(model, provider) ?? MOCK) : findEntry(model, provider)
  const table = mock || !Prices.coversProvider(provider)
    ? undefined
    : Prices.lookup(provider, name, new Date(options.at ?? Date.now()), (key) => inferVendor(matchKey(key)))
  const base = mock ? FREE : table?.pricing ?? entry?.pricing ?? FREE
  const source: PriceSource = overrides?.pricing !== undefined
    ? "override"
    : mock
    ? "none"
    : table !== undefined
    ? "genai-prices"
    : entry !== undefined && entry.pricing !== FREE
    ? "mnesis"
    : "none"
  const window = entry?.contextLimit ?? table?.contextWindow
  return new ModelInfo({
    model,
    provider,
    name,
    contextLimit: overrides?.contextLimit ?? window ?? FALLBACK_CONTEXT_LIMIT,
    maxOutputTokens: overrides?.maxOutputTokens ??
      entry?.maxOutputTokens ??
      Math.min(FALLBACK_MAX_OUTPUT_TOKENS, window ?? FALLBACK_MAX_OUTPUT_TOKENS),
    encoding: entry?.encoding ?? "o200k_base",
    approximate: entry?.approximate ?? true,
    pricing: withPricing(base, overrides?.pricing),
    pricingTiers: overrides?.pricing === undefined && !mock ? table?.tiers ?? [] : [],
    priceSource: source,
    known: window !== undefined
  })
}

const withPricing = (base: Pricing, override: PartialPricing | undefined): Pricing => ({
  input: override?.input ?? base.input,
  output: override?.output ?? base.output,
  cacheRead: override?.cacheRead ?? base.cacheRead,
  cacheWrite: override?.cacheWrite ?? base.cacheWrite
})

// ---------------------------------------------------------------------------------------------
// Local overrides as a layer
// ---------------------------------------------------------------------------------------------

/** One user-supplied entry: limits and prices (USD per million tokens), each optional. */
export const CustomEntry = Schema.Struct({
  contextLimit: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true }),
  maxOutputTokens: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true }),
  pricing: Schema.optionalWith(Schema.partial(Pricing), { exact: true })
})
export type CustomEntry = typeof CustomEntry.Type

/**
 * User-supplied limits and prices for models, by model string. A key with a `provider/` prefix
 * matches that exact model string; a bare key matches the name under any prefix
 * (`"my-finetune"` covers `openai/my-finetune` and `azure/my-finetune`). Keys are compared
 * case-insensitively. A session's own `modelOverrides` still win over these.
 *
 * @since 0.1.0
 */
export class ModelRegistry extends Context.Tag("mnesis/ModelRegistry")<ModelRegistry, {
  readonly models: ReadonlyMap<string, CustomEntry>
}>() {}

const decodeCustom = Schema.decodeUnknownEither(
  Schema.Record({ key: Schema.String, value: CustomEntry }),
  { onExcessProperty: "error", errors: "first" }
)

/**
 * Local overrides for the registry: negotiated prices, fine-tunes and deployments the tables do
 * not know, a window a host extends. Fails with `ConfigError` naming the entry that is invalid.
 *
 * ```ts
 * ModelRegistry.layer({
 *   "azure/prod-chat-eu": { contextLimit: 128_000, maxOutputTokens: 16_384, pricing: { input: 2.5, output: 10 } },
 *   "anthropic/claude-sonnet-4-5": { pricing: { input: 2.4, output: 12, cacheRead: 0.24, cacheWrite: 3 } }
 * })
 * ```
 *
 * @since 0.1.0
 */
export const layer = (
  models: Readonly<Record<string, CustomEntry>>
): Layer.Layer<ModelRegistry, ConfigError> =>
  Layer.effect(
    ModelRegistry,
    decodeCustom(models).pipe(
      Effect.mapError((error) =>
        new ConfigError({
          path: "ModelRegistry.layer",
          rule: `${ParseResult.TreeFormatter.formatErrorSync(error)} (limits are whole numbers ≥ 1, ` +
            "prices are USD per million tokens ≥ 0)"
        })
      ),
      Effect.map((decoded) => ({
        models: new Map(Object.entries(decoded).map(([key, entry]) => [key.trim().toLowerCase(), entry]))
      }))
    )
  )

/** The user's entry for `model`: by the exact model string, else by its name without the prefix. */
const customFor = (models: ReadonlyMap<string, CustomEntry>, model: string): CustomEntry | undefined => {
  const lower = model.trim().toLowerCase()
  return models.get(lower) ?? models.get(parseModel(lower).name)
}

/** The user's entry under a session's overrides (the session's own limits win). */
const mergeOverrides = (
  custom: CustomEntry | undefined,
  overrides: RegistryOverrides | undefined
): RegistryOverrides | undefined =>
  custom === undefined ? overrides : {
    contextLimit: overrides?.contextLimit ?? custom.contextLimit,
    maxOutputTokens: overrides?.maxOutputTokens ?? custom.maxOutputTokens,
    pricing: mergePricing(custom.pricing, overrides?.pricing)
  }

/** Field-wise `over` on top of `base`; undefined when neither sets a price. */
const mergePricing = (
  base: PartialPricing | undefined,
  over: PartialPricing | undefined
): PartialPricing | undefined => {
  if (base === undefined && over === undefined) return undefined
  const merged: { -readonly [K in keyof Pricing]?: number } = {}
  for (const key of ["input", "output", "cacheRead", "cacheWrite"] as const) {
    const value = over?.[key] ?? base?.[key]
    if (value !== undefined) merged[key] = value
  }
  return merged
}

/** The user's corrections for `model`: the layer's entry under the session's overrides. */
const overridesFor = (model: string, overrides: RegistryOverrides | undefined) =>
  Effect.map(
    Effect.serviceOption(ModelRegistry),
    (registry) =>
      mergeOverrides(Option.isSome(registry) ? customFor(registry.value.models, model) : undefined, overrides)
  )

/**
 * {@link resolve} with the {@link ModelRegistry} layer's entries (when one is provided), at the
 * `Clock`'s time, without logging.
 *
 * @since 0.1.0
 */
export const lookupQuiet = (model: string, overrides?: RegistryOverrides): Effect.Effect<ModelInfo> =>
  Effect.gen(function*() {
    const merged = yield* overridesFor(model, overrides)
    return resolve(model, merged, { at: yield* Clock.currentTimeMillis })
  })

/**
 * {@link lookupQuiet}, logging a warning when the model is unknown and no window was given for
 * it, so the fallback is never silent.
 *
 * @since 0.1.0
 */
export const lookup = (model: string, overrides?: RegistryOverrides): Effect.Effect<ModelInfo> =>
  Effect.gen(function*() {
    const merged = yield* overridesFor(model, overrides)
    const info = resolve(model, merged, { at: yield* Clock.currentTimeMillis })
    if (info.known || merged?.contextLimit !== undefined) return info
    const cost = info.priceSource === "none" ? "zero cost" : `${info.priceSource} prices`
    yield* Effect.logWarning(
      `unknown model "${model}": assuming a ${info.contextLimit}-token context window, ` +
        `${info.maxOutputTokens} output tokens, approximate o200k_base token counts and ${cost}; ` +
        `set modelOverrides.contextLimit / maxOutputTokens if these are wrong`
    ).pipe(Effect.annotateLogs({ model }))
    return info
  })

/**
 * The prices of one call: the tier its whole input (uncached, cache reads and cache writes) falls
 * in, as providers bill long prompts.
 *
 * @since 0.1.0
 */
export const pricingFor = (usage: TokenUsageFields, info: ModelInfo): Pricing => {
  const input = usage.input + usage.cacheRead + usage.cacheWrite
  let pricing = info.pricing
  for (const tier of info.pricingTiers) if (input > tier.above) pricing = tier.pricing
  return pricing
}

/**
 * Cost in USD of one call's `usage` at the model's list prices (its long-context tier included).
 * The usage fields are disjoint (input excludes cached tokens), as every provider adapter reports
 * them. A turn's cost is the sum of its calls' costs, each on the usage the provider reported.
 *
 * @since 0.1.0
 */
export const costOf = (usage: TokenUsageFields, info: ModelInfo): number => {
  const { cacheRead, cacheWrite, input, output } = pricingFor(usage, info)
  return (usage.input * input + usage.output * output + usage.cacheRead * cacheRead +
    usage.cacheWrite * cacheWrite) / 1e6
}
