/**
 * The Anthropic provider (Messages API through `@anthropic-ai/sdk`). Its parts live in
 * `llm/anthropic/`, laid out like every provider folder: `Provider` (client and streaming),
 * `Config` (environment), `Request` (request mapping), `Wire` (stream schemas), `Events` (wire
 * events → provider-neutral events) and `Failures` (SDK errors → tagged errors, through
 * `llm/shared/ProviderErrors`).
 *
 * @since 0.1.0
 */
import { retryAfterAt } from "./shared/ProviderErrors.js"

export {
  /** @since 0.1.0 */
  layerConfig,
  /** @since 0.1.0 */
  makeConfig
} from "./anthropic/Config.js"
export {
  /** @since 0.1.0 */
  finishReasonOf
} from "./anthropic/Events.js"
export type { AnthropicOptions } from "./anthropic/Provider.js"
export {
  /** @since 0.1.0 */
  layer,
  /** @since 0.1.0 */
  make
} from "./anthropic/Provider.js"
export {
  /** @since 0.1.0 */
  toParams
} from "./anthropic/Request.js"

/**
 * The rate-limit hint in milliseconds: `retry-after-ms`, else `retry-after` (seconds or an HTTP
 * date, measured from `now`).
 *
 * @since 0.1.0
 */
export const retryAfterOf = (headers: Headers | undefined, now: number): number | undefined =>
  headers === undefined ? undefined : retryAfterAt((name) => headers.get(name), now)
