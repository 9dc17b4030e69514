/**
 * The Chat Completions provider: OpenAI, Azure OpenAI, Gemini, Groq, Mistral, DeepSeek, xAI,
 * Together AI, OpenRouter, Ollama and any OpenAI-compatible server. Its parts live in
 * `llm/openai/`, laid out like every provider folder: `Provider` (client and streaming), `Config`
 * (environment), `Request` (request body), `Wire` (wire schemas), `Events` (chunks →
 * provider-neutral events) and `Failures` (error bodies → tagged errors, through
 * `llm/shared/ProviderErrors`); plus `Hosts` (the prefix table and each host's wire dialect),
 * `Sse` and `Signatures` (Gemini's thought signatures).
 *
 * @example
 * ```ts
 * const provider = OpenAiCompat.layerConfig("gemini").pipe(Layer.provide(NodeHttpClient.layerUndici))
 * ```
 *
 * @since 0.1.0
 */
export type { EndpointSettings, EnvOverrides } from "./openai/Config.js"
export {
  /** @since 0.1.0 */
  fromEnv,
  /** @since 0.1.0 */
  layerConfig,
  /** @since 0.1.0 */
  readEndpoint
} from "./openai/Config.js"
export type { HostSpec, MaxTokensParam, OpenAiCompatPrefix, WireDialect } from "./openai/Hosts.js"
export {
  /** @since 0.1.0 */
  AZURE_DEFAULT_API_VERSION,
  /** @since 0.1.0 */
  hosts,
  /** @since 0.1.0 */
  hosts as endpoints,
  /** @since 0.1.0 */
  isOpenAiCompatPrefix
} from "./openai/Hosts.js"
export type { Options } from "./openai/Provider.js"
export {
  /** @since 0.1.0 */
  layer,
  /** @since 0.1.0 */
  make
} from "./openai/Provider.js"
