/**
 * The maintained price table: `@pydantic/genai-prices`, read for one model at a time.
 *
 * The table matches a model id within a provider by its own rules (exact ids, prefixes, dated
 * snapshots, a host's fallback to the vendor it resells) and carries cache-read and cache-write
 * prices, long-context tiers and dated price changes. This module turns one entry into mnesis's
 * shape: a flat {@link Pricing} for the base tier plus the tiers above it, chosen at a given time.
 *
 * What the table cannot say for one call, mnesis does not guess: prices that depend on the time of
 * day (off-peak discounts) are left to the local table (see `ModelRegistry`).
 *
 * @since 0.1.0
 */
import { calcPrice } from "@pydantic/genai-prices"
import type { ModelInfo as TableModel, ModelPrice } from "@pydantic/genai-prices"
import { Either } from "effect"

/** Prices in USD per million tokens. The same shape as `ModelRegistry.Pricing`. */
export interface Prices {
  readonly input: number
  readonly output: number
  readonly cacheRead: number
  readonly cacheWrite: number
}

/** The prices that apply to a call whose input (cached or not) is above `above` tokens. */
export interface PriceTier {
  readonly above: number
  readonly pricing: Prices
}

/** What the table says of one model. */
export interface TableEntry {
  /** The table's provider and model ids (for logs and docs). */
  readonly providerId: string
  readonly modelId: string
  readonly pricing: Prices
  /** Higher prices for long prompts, lowest threshold first (empty when flat). */
  readonly tiers: ReadonlyArray<PriceTier>
  readonly contextWindow: number | undefined
}

/**
 * mnesis's provider prefixes (and vendors inferred from bare names) → the table's provider ids.
 * Prefixes not listed (`ollama`, `openai-compat`, `mock`, open-weight families without a host)
 * have no list price: a local or self-hosted model costs what its host says, not a vendor's price.
 */
const PROVIDER_IDS: Readonly<Record<string, string>> = {
  anthropic: "anthropic",
  openai: "openai",
  azure: "azure",
  gemini: "google",
  groq: "groq",
  mistral: "mistral",
  deepseek: "deepseek",
  xai: "x-ai",
  together_ai: "together",
  openrouter: "openrouter",
  bedrock: "aws"
}

/** Whether the table prices models served behind this prefix. */
export const coversProvider = (provider: string): boolean => Object.hasOwn(PROVIDER_IDS, provider)

type PriceValue = ModelPrice[string]

/** The price of one key for a call with `inputTokens` of input, as the table applies its tiers. */
const priceAt = (value: PriceValue, inputTokens: number): number | undefined => {
  if (value === undefined) return undefined
  if (typeof value === "number") return value
  let price = value.base
  for (const tier of value.tiers) if (inputTokens > tier.start) price = tier.price
  return price
}

const thresholdsOf = (value: PriceValue): ReadonlyArray<number> =>
  value === undefined || typeof value === "number" ? [] : value.tiers.map((tier) => tier.start)

/**
 * Flat prices for calls of `inputTokens` input. A provider that bills no separate cache rate
 * charges cached tokens as input, as the table does.
 */
const pricesAt = (prices: ModelPrice, inputTokens: number): Prices => {
  const input = priceAt(prices["input_mtok"], inputTokens) ?? 0
  return {
    input,
    output: priceAt(prices["output_mtok"], inputTokens) ?? 0,
    cacheRead: priceAt(prices["cache_read_mtok"], inputTokens) ?? input,
    cacheWrite: priceAt(prices["cache_write_mtok"], inputTokens) ?? input
  }
}

const PRICE_KEYS = ["input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"] as const

/** The table's prices at `at`, or undefined when they depend on the time of day. */
const activePrices = (model: TableModel, at: Date): ModelPrice | undefined => {
  const prices = model.prices
  if (!Array.isArray(prices)) return prices
  if (prices.some((entry) => entry.constraint?.type === "time_of_date")) return undefined
  // The last entry whose start date has come; the first (unconstrained) one otherwise.
  for (let i = prices.length - 1; i >= 0; i--) {
    const entry = prices[i]!
    if (entry.constraint === undefined) return entry.prices
    if (entry.constraint.type === "start_date" && at.getTime() >= Date.parse(entry.constraint.start_date)) {
      return entry.prices
    }
  }
  return prices[0]?.prices
}

/** The table's entry for one id at one provider, if it has one. */
const find = (providerId: string, modelId: string, at: Date): TableEntry | undefined => {
  // The table's calculator finds the model (its own matching rules); prices are chosen here.
  const found = Either.try(() => calcPrice({}, modelId, { providerId, timestamp: at }))
  if (Either.isLeft(found) || found.right === null) return undefined
  const { model, provider } = found.right
  const prices = activePrices(model, at)
  if (prices === undefined) return undefined
  const thresholds = [...new Set(PRICE_KEYS.flatMap((key) => thresholdsOf(prices[key])))].sort((a, b) =>
    a - b
  )
  return {
    providerId: provider.id,
    modelId: model.id,
    pricing: pricesAt(prices, 0),
    // Within (start, next start] every key's price is the one its tiers give just above `start`.
    tiers: thresholds.map((above) => ({ above, pricing: pricesAt(prices, above + 1) })),
    contextWindow: model.context_window
  }
}

/** Claude versions as routers spell them (`claude-sonnet-4.5`) from the dashed form. */
const dottedClaude = (name: string): string =>
  /(^|\/)claude-/.test(name) ? name.replace(/(claude-[a-z]+-)([0-9])-([0-9])(?![0-9])/, "$1$2.$3") : name

/**
 * The table's entry for `name` served behind `provider` (a mnesis prefix or inferred vendor),
 * tried as given, then by its last path segment (`groq/moonshotai/kimi-…` → `kimi-…`), then, for
 * a routed name, at the vendor it names (`openrouter/anthropic/claude-…` → Anthropic's price).
 */
export const lookup = (
  provider: string,
  name: string,
  at: Date,
  vendorOf: (name: string) => string
): TableEntry | undefined => {
  const providerId = PROVIDER_IDS[provider]
  if (providerId === undefined) return undefined
  const lower = name.trim().toLowerCase()
  const last = lower.slice(lower.lastIndexOf("/") + 1)
  const vendorId = PROVIDER_IDS[vendorOf(last)]
  const candidates: ReadonlyArray<readonly [string, string]> = [
    [providerId, lower],
    [providerId, dottedClaude(lower)],
    [providerId, last],
    ...(lower.includes("/") && vendorId !== undefined ? [[vendorId, last] as const] : [])
  ]
  for (const [id, model] of candidates) {
    const entry = find(id, model, at)
    if (entry !== undefined) return entry
  }
  return undefined
}
