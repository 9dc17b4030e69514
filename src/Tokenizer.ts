/**
 * Token counting. Backed by gpt-tokenizer (pure JS, the fastest counter measured here, with a
 * real early-exit limit check). Claude, Gemini and open models are counted with o200k_base as an
 * approximation (see `ModelInfo.approximate`); exact counts for them need the provider's API.
 *
 * The methods are synchronous: counting is pure and hot, and wrapping every call in an `Effect`
 * would only add overhead. The service exists so tests and embedders can swap the counter.
 *
 * Two rules hold for every count:
 * - special-token text (`<|endoftext|>`, `<|im_start|>`, …) is counted as ordinary text, never
 *   rejected: it is user content, not a control token;
 * - lone UTF-16 surrogates count as U+FFFD, which is what any UTF-8 encoder sends to a provider,
 *   so a broken string counts like the text that is sent. `count` applies `toWellFormed()`
 *   before counting. `isWithinLimit` skips that whole-text pass (it would cost ~1 ms per MB,
 *   a third of an early exit): gpt-tokenizer's own UTF-8 step (`TextEncoder`) makes the same
 *   replacement, and its pre-tokenizer treats U+FFFD and a lone surrogate alike (neither is a
 *   letter, digit or space), so the counts are identical; the tests pin that.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type * as Cl100k from "gpt-tokenizer/encoding/cl100k_base"
import * as O200k from "gpt-tokenizer/encoding/o200k_base"
import { createRequire } from "node:module"
import type { Encoding, ModelInfo } from "./ModelRegistry.js"

export type { Encoding } from "./ModelRegistry.js"

/** The encoding used when none is given. */
export const DEFAULT_ENCODING: Encoding = "o200k_base"

// An empty disallow-list turns off gpt-tokenizer's special-token check, and with no
// allow-list every special-token string is encoded as plain text. One shared object: the
// library re-reads these options on every call, so reusing it keeps the call cheap.
const ORDINARY_TEXT = { disallowedSpecial: new Set<string>() }

// gpt-tokenizer memoises the BPE merges of every distinct chunk it sees, up to 100,000 entries by
// default: in an agent that runs for days that cache alone grew the heap by ~37 MiB (bench
// `memory`). 10,000 entries keep the common chunks with no measurable loss of speed (measured on
// this repository's sources and on agent-like turns). The setting belongs to gpt-tokenizer's
// encoding module, so a host that uses gpt-tokenizer directly in the same process shares the cap.
const MERGE_CACHE_ENTRIES = 10_000
O200k.setMergeCacheSize(MERGE_CACHE_ENTRIES)

// cl100k only serves legacy GPT-4 / GPT-3.5 models; loading its ranks costs ~200 ms, so it is
// required on first use instead of at import (the ESM entry cannot be loaded synchronously).
let cl100k: typeof Cl100k | undefined
const loadCl100k = (): typeof Cl100k => {
  if (cl100k === undefined) {
    // `require` returns `any`; the module is the CommonJS build of the entry typed above.
    cl100k = createRequire(import.meta.url)("gpt-tokenizer/encoding/cl100k_base") as typeof Cl100k
    cl100k.setMergeCacheSize(MERGE_CACHE_ENTRIES)
  }
  return cl100k
}

const wellFormed = (text: string): string => text.isWellFormed() ? text : text.toWellFormed()

/** Characters ÷ 4 (UTF-16 code units), rounded up: the estimate when no encoding applies. */
const heuristicCount = (text: string): number => Math.ceil(text.length / 4)

/**
 * Tokens in `text` under `encoding` (o200k_base by default). Plain function for code outside
 * Effect; inside Effect prefer the {@link Tokenizer} service.
 *
 * @since 0.1.0
 */
export const countTokens = (text: string, encoding: Encoding = DEFAULT_ENCODING): number => {
  if (text.length === 0) return 0
  switch (encoding) {
    case "o200k_base":
      return O200k.countTokens(wellFormed(text), ORDINARY_TEXT)
    case "cl100k_base":
      return loadCl100k().countTokens(wellFormed(text), ORDINARY_TEXT)
    case "heuristic":
      return heuristicCount(text)
  }
}

/**
 * `false` when `text` has more than `limit` tokens, otherwise its token count. Stops encoding
 * as soon as the limit is passed, so checking a large text against a small limit is cheap.
 *
 * @since 0.1.0
 */
export const isWithinTokenLimit = (
  text: string,
  limit: number,
  encoding: Encoding = DEFAULT_ENCODING
): false | number => {
  // gpt-tokenizer answers 0 for "" even when the limit is negative.
  if (text.length === 0) return limit >= 0 ? 0 : false
  // No `wellFormed` pass here: see the module comment.
  switch (encoding) {
    case "o200k_base":
      return O200k.isWithinTokenLimit(text, limit, ORDINARY_TEXT)
    case "cl100k_base":
      return loadCl100k().isWithinTokenLimit(text, limit, ORDINARY_TEXT)
    case "heuristic": {
      const count = heuristicCount(text)
      return count <= limit ? count : false
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export interface Service {
  /** Tokens in `text` under `encoding` (o200k_base by default). */
  readonly count: (text: string, encoding?: Encoding) => number
  /** Tokens in `text` as the model's encoding counts them (an estimate when `approximate`). */
  readonly countFor: (text: string, model: ModelInfo) => number
  /** `false` above `limit`, otherwise the count; exits early once the limit is passed. */
  readonly isWithinLimit: (text: string, limit: number, encoding?: Encoding) => false | number
  /** The encoding used to count text for `model`. */
  readonly encodingFor: (model: ModelInfo) => Encoding
}

/**
 * @since 0.1.0
 */
export class Tokenizer extends Context.Tag("mnesis/Tokenizer")<Tokenizer, Service>() {}

/** The gpt-tokenizer-backed counter. */
export const tokenizer: Service = {
  count: countTokens,
  countFor: (text, model) => countTokens(text, model.encoding),
  isWithinLimit: isWithinTokenLimit,
  encodingFor: (model) => model.encoding
}

/**
 * A counter that uses characters ÷ 4 for every text, whatever the encoding asked for: cheap and
 * easy to predict in tests of code that only needs some consistent count.
 */
export const heuristicTokenizer: Service = {
  count: (text) => heuristicCount(text),
  countFor: (text) => heuristicCount(text),
  isWithinLimit: (text, limit) => isWithinTokenLimit(text, limit, "heuristic"),
  encodingFor: () => "heuristic"
}

/**
 * @since 0.1.0
 */
export const make: Effect.Effect<Service> = Effect.succeed(tokenizer)

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<Tokenizer> = Layer.succeed(Tokenizer, tokenizer)

/**
 * {@link heuristicTokenizer} as a layer, for tests.
 *
 * @since 0.1.0
 */
export const layerHeuristic: Layer.Layer<Tokenizer> = Layer.succeed(Tokenizer, heuristicTokenizer)
