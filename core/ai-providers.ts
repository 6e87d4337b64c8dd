/**
 * The analysis providers. `heuristic` needs nothing; the others speak the OpenAI chat-completions
 * protocol (through the `openai` SDK with a `baseURL`), and differ in where they live, which model is a
 * sensible default, and whether they honour `response_format: json_schema` or only JSON mode.
 *
 * Prices are list prices in USD per million tokens at the time of writing, used only for the cost
 * *estimate* stored with each analysis; check your provider's page for current numbers.
 */

export const PROVIDERS = [
  'heuristic',
  'openai',
  'sambanova',
  'moonshot',
  'zhipu',
  'openai-compatible',
] as const;
export type ProviderName = (typeof PROVIDERS)[number];
export type LlmProviderName = Exclude<ProviderName, 'heuristic'>;

export type ResponseFormatMode = 'json_schema' | 'json_object';

export interface ProviderPreset {
  baseURL?: string;
  defaultModel?: string;
  responseFormat: ResponseFormatMode;
  /** USD per 1M input / output tokens. */
  pricePerMillion: { input: number; output: number };
}

export const PRESETS: Record<LlmProviderName, ProviderPreset> = {
  openai: {
    baseURL: 'https://api.openai.com/v1',
    defaultModel: 'gpt-4o-mini',
    responseFormat: 'json_schema',
    pricePerMillion: { input: 0.15, output: 0.6 },
  },
  sambanova: {
    baseURL: 'https://api.sambanova.ai/v1',
    defaultModel: 'Meta-Llama-3.3-70B-Instruct',
    responseFormat: 'json_object',
    pricePerMillion: { input: 0.6, output: 1.2 },
  },
  moonshot: {
    baseURL: 'https://api.moonshot.ai/v1',
    defaultModel: 'kimi-k2-0905-preview',
    responseFormat: 'json_object',
    pricePerMillion: { input: 0.6, output: 2.5 },
  },
  zhipu: {
    baseURL: 'https://open.bigmodel.cn/api/paas/v4',
    defaultModel: 'glm-4-flash',
    responseFormat: 'json_object',
    pricePerMillion: { input: 0, output: 0 },
  },
  // Any other OpenAI-compatible endpoint (vLLM, Ollama, LiteLLM, …): AI_BASE_URL and AI_MODEL required.
  'openai-compatible': {
    responseFormat: 'json_object',
    pricePerMillion: { input: 0, output: 0 },
  },
};

/** Everything a worker needs to call one LLM provider. The key stays in worker memory. */
export interface LlmSettings {
  provider: LlmProviderName;
  baseURL: string;
  apiKey: string;
  model: string;
  responseFormat: ResponseFormatMode;
  pricePerMillion: { input: number; output: number };
  /** Task-queue rate limit (Temporal's maxTaskQueueActivitiesPerSecond). */
  ratePerSecond: number;
  maxConcurrency: number;
  /** startToCloseTimeout of one provider call. */
  timeoutMs: number;
  /** Token budget for the email text in the prompt. */
  maxInputTokens: number;
}

export interface AiConfig {
  /** The provider used when a request names none (ingestion, `analyze_email` without `provider`). */
  defaultProvider: ProviderName;
  /** The configured LLM provider, if any: at most one per process, one rate-limited queue each. */
  llm?: LlmSettings;
  analyseOnIngest: boolean;
  taskQueuePrefix: string;
}

export const HEURISTIC_MODEL = 'heuristic-v1';

/** The task queue that carries a provider's calls: one per provider, so one outage blocks no other. */
export function aiTaskQueue(ai: Pick<AiConfig, 'taskQueuePrefix'>, provider: ProviderName): string {
  return `${ai.taskQueuePrefix}${provider}`;
}

export function costEstimate(
  price: { input: number; output: number },
  tokens: { input: number; output: number },
): number {
  return Number(((tokens.input * price.input + tokens.output * price.output) / 1_000_000).toFixed(6));
}
