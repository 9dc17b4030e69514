/**
 * The hosts mnesis reaches over the Chat Completions wire format, by model prefix: where each one
 * lives, which variables configure it, and the wire details in which it departs from OpenAI.
 *
 * @since 0.1.0
 */

/** Which request field carries the output limit. */
export type MaxTokensParam = "max_tokens" | "max_completion_tokens"

/**
 * How one host speaks the wire format.
 *
 * @since 0.1.0
 */
export interface WireDialect {
  readonly maxTokensParam: MaxTokensParam
  /**
   * Send `stream_options: { include_usage: true }`. Without it many servers report no usage; a few
   * (Mistral) reject the field and report usage anyway.
   */
  readonly streamUsage: boolean
  /** `bearer`: `Authorization: Bearer <key>`; `api-key`: Azure's `api-key: <key>` header. */
  readonly auth: "bearer" | "api-key"
  /**
   * `chat-completions`: `POST {base}/chat/completions`. `azure-deployments`:
   * `POST {base}/openai/deployments/{model}/chat/completions?api-version=…` (the model part of
   * the model string is the deployment name).
   */
  readonly route: "chat-completions" | "azure-deployments"
  /**
   * Gemini: a function call carries a thought signature (`extra_content.google.thought_signature`)
   * that Gemini 3 requires back when the call is replayed.
   */
  readonly thoughtSignatures: boolean
}

/**
 * How one prefix finds its base URL and key.
 *
 * @since 0.1.0
 */
export interface HostSpec extends WireDialect {
  /** Used when `baseUrlEnv` is unset; without it the variable is required. */
  readonly defaultBaseURL?: string
  readonly baseUrlEnv?: string
  /** Variables that may hold the key, in the order they are read; errors name the first. */
  readonly apiKeyEnv?: ReadonlyArray<string>
  readonly apiKeyRequired: boolean
  /** Azure's `api-version`: this variable, else `defaultApiVersion`. */
  readonly apiVersionEnv?: string
  readonly defaultApiVersion?: string
  /** Ends the "is not set" rule: what the user should do. */
  readonly hint: string
}

const openAiLike: WireDialect = {
  maxTokensParam: "max_tokens",
  streamUsage: true,
  auth: "bearer",
  route: "chat-completions",
  thoughtSignatures: false
}

/** The `api-version` sent to Azure when `AZURE_API_VERSION` is unset (GA, with stream usage). */
export const AZURE_DEFAULT_API_VERSION = "2024-10-21"

/**
 * The prefix table. Keys are the `provider` part of `provider/model` (`groq/llama-3.3-70b-versatile`
 * → `groq`).
 *
 * @since 0.1.0
 */
export const hosts = {
  openai: {
    ...openAiLike,
    defaultBaseURL: "https://api.openai.com/v1",
    baseUrlEnv: "OPENAI_BASE_URL",
    apiKeyEnv: ["OPENAI_API_KEY"],
    apiKeyRequired: true,
    // Newer OpenAI models (o-series, gpt-5) reject `max_tokens`; every current one accepts this.
    maxTokensParam: "max_completion_tokens",
    hint: "export your OpenAI API key (https://platform.openai.com/api-keys) to use openai/ models"
  },
  openrouter: {
    ...openAiLike,
    defaultBaseURL: "https://openrouter.ai/api/v1",
    baseUrlEnv: "OPENROUTER_BASE_URL",
    apiKeyEnv: ["OPENROUTER_API_KEY"],
    apiKeyRequired: true,
    hint: "export your OpenRouter API key (https://openrouter.ai/keys) to use openrouter/ models"
  },
  ollama: {
    ...openAiLike,
    defaultBaseURL: "http://127.0.0.1:11434/v1",
    baseUrlEnv: "OLLAMA_BASE_URL",
    apiKeyRequired: false,
    hint: "set it to the server's OpenAI-compatible URL, e.g. http://127.0.0.1:11434/v1"
  },
  "openai-compat": {
    ...openAiLike,
    baseUrlEnv: "OPENAI_COMPAT_BASE_URL",
    apiKeyEnv: ["OPENAI_COMPAT_API_KEY"],
    apiKeyRequired: false,
    hint: "set it to the base URL of your OpenAI-compatible server (the part before /chat/completions), " +
      "e.g. http://127.0.0.1:8000/v1, to use openai-compat/ models"
  },
  gemini: {
    ...openAiLike,
    defaultBaseURL: "https://generativelanguage.googleapis.com/v1beta/openai",
    baseUrlEnv: "GEMINI_BASE_URL",
    apiKeyEnv: ["GEMINI_API_KEY"],
    apiKeyRequired: true,
    thoughtSignatures: true,
    hint: "export your Gemini API key (https://aistudio.google.com/apikey) to use gemini/ models"
  },
  azure: {
    ...openAiLike,
    baseUrlEnv: "AZURE_API_BASE",
    apiKeyEnv: ["AZURE_API_KEY"],
    apiKeyRequired: true,
    apiVersionEnv: "AZURE_API_VERSION",
    defaultApiVersion: AZURE_DEFAULT_API_VERSION,
    auth: "api-key",
    route: "azure-deployments",
    // o-series and gpt-5 deployments reject `max_tokens`; API versions since 2024-09-01 take this.
    maxTokensParam: "max_completion_tokens",
    hint: "set AZURE_API_BASE to your resource's endpoint (https://<resource>.openai.azure.com) and " +
      "AZURE_API_KEY to one of its keys to use azure/<deployment> models"
  },
  groq: {
    ...openAiLike,
    defaultBaseURL: "https://api.groq.com/openai/v1",
    baseUrlEnv: "GROQ_BASE_URL",
    apiKeyEnv: ["GROQ_API_KEY"],
    apiKeyRequired: true,
    // Groq documents `max_tokens` as deprecated in favour of this.
    maxTokensParam: "max_completion_tokens",
    hint: "export your Groq API key (https://console.groq.com/keys) to use groq/ models"
  },
  mistral: {
    ...openAiLike,
    defaultBaseURL: "https://api.mistral.ai/v1",
    baseUrlEnv: "MISTRAL_BASE_URL",
    apiKeyEnv: ["MISTRAL_API_KEY"],
    apiKeyRequired: true,
    // Mistral refuses fields it does not know (422 extra_forbidden) and streams usage unasked.
    streamUsage: false,
    hint: "export your Mistral API key (https://console.mistral.ai/api-keys) to use mistral/ models"
  },
  deepseek: {
    ...openAiLike,
    defaultBaseURL: "https://api.deepseek.com",
    baseUrlEnv: "DEEPSEEK_BASE_URL",
    apiKeyEnv: ["DEEPSEEK_API_KEY"],
    apiKeyRequired: true,
    hint: "export your DeepSeek API key (https://platform.deepseek.com/api_keys) to use deepseek/ models"
  },
  xai: {
    ...openAiLike,
    defaultBaseURL: "https://api.x.ai/v1",
    baseUrlEnv: "XAI_BASE_URL",
    apiKeyEnv: ["XAI_API_KEY"],
    apiKeyRequired: true,
    hint: "export your xAI API key (https://console.x.ai) to use xai/ models"
  },
  together_ai: {
    ...openAiLike,
    defaultBaseURL: "https://api.together.xyz/v1",
    baseUrlEnv: "TOGETHER_BASE_URL",
    // Together's own SDKs read the first; litellm (and so the Python mnesis) the second.
    apiKeyEnv: ["TOGETHER_API_KEY", "TOGETHERAI_API_KEY"],
    apiKeyRequired: true,
    hint: "export your Together AI API key (https://api.together.ai/settings/api-keys) as TOGETHER_API_KEY " +
      "(or TOGETHERAI_API_KEY) to use together_ai/ models"
  }
} as const satisfies Record<string, HostSpec>

/**
 * A prefix served over the Chat Completions wire format.
 *
 * @since 0.1.0
 */
export type OpenAiCompatPrefix = keyof typeof hosts

/** The prefixes, in the order of the table. */
export const PREFIXES = Object.keys(hosts) as ReadonlyArray<OpenAiCompatPrefix>

/**
 * True for the prefixes this provider serves.
 *
 * @since 0.1.0
 */
export const isOpenAiCompatPrefix = (prefix: string): prefix is OpenAiCompatPrefix =>
  Object.prototype.hasOwnProperty.call(hosts, prefix)

/** The wire dialect of a provider name: its host's when it is a known prefix, else OpenAI's plain one. */
export const dialectOf = (provider: string): WireDialect => {
  if (!isOpenAiCompatPrefix(provider)) return openAiLike
  const spec: HostSpec = hosts[provider]
  return {
    maxTokensParam: spec.maxTokensParam,
    streamUsage: spec.streamUsage,
    auth: spec.auth,
    route: spec.route,
    thoughtSignatures: spec.thoughtSignatures
  }
}
