/**
 * One chat-completions call to an OpenAI-compatible provider through the real `openai` SDK, and the
 * classification of what went wrong. The SDK's own retries are off: Temporal owns retrying, so every
 * attempt is visible in the workflow history and gets its own metric row.
 */
import OpenAI from 'openai';
import type { LlmSettings } from '../core/ai-providers.js';
import { type Analysis, AnalysisSchema, analysisJsonSchema } from '../core/analysis.js';
import { ErrorType } from '../core/errors.js';
import { retryDelayFromHeaders } from '../core/retry-after.js';

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export interface ChatAnswer {
  content: string;
  inputTokens: number;
  outputTokens: number;
}

export function createLlmClient(settings: LlmSettings): OpenAI {
  return new OpenAI({
    baseURL: settings.baseURL,
    apiKey: settings.apiKey,
    maxRetries: 0,
    // A safety net only: the activity aborts the request itself before its own timeout.
    timeout: settings.timeoutMs + 5000,
  });
}

export async function chat(
  client: OpenAI,
  settings: LlmSettings,
  model: string,
  messages: ChatMessage[],
  signal: AbortSignal,
): Promise<ChatAnswer> {
  const response = await client.chat.completions.create(
    {
      model,
      messages,
      temperature: 0,
      response_format:
        settings.responseFormat === 'json_schema'
          ? {
              type: 'json_schema',
              json_schema: { name: 'email_analysis', strict: true, schema: analysisJsonSchema() },
            }
          : { type: 'json_object' },
    },
    { signal },
  );
  return {
    content: response.choices[0]?.message?.content ?? '',
    inputTokens: response.usage?.prompt_tokens ?? 0,
    outputTokens: response.usage?.completion_tokens ?? 0,
  };
}

/** Parse and validate a model's answer; the issues are what the repair prompt tells the model. */
export function parseAnalysis(
  content: string,
): { ok: true; value: Analysis } | { ok: false; issues: string } {
  let json: unknown;
  try {
    // Some JSON-mode models still wrap the object in a Markdown fence.
    json = JSON.parse(content.replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, ''));
  } catch (err) {
    return { ok: false, issues: `not valid JSON (${(err as Error).message})` };
  }
  const parsed = AnalysisSchema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues
    .slice(0, 10)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  return { ok: false, issues };
}

export interface ClassifiedError {
  type: ErrorType;
  message: string;
  retryable: boolean;
  /** The provider's requested wait, for `nextRetryDelay`. */
  retryAfterMs?: number;
  /** The prompt was too long: worth one more try with a smaller budget. */
  contextLength?: boolean;
}

const CONTEXT_LENGTH =
  /context[_ ]length|maximum context|context window|too many tokens|prompt is too long|reduce the length/i;

export function classifyProviderError(
  err: unknown,
  provider: string,
  model: string,
  timedOut: boolean,
): ClassifiedError {
  if (
    err instanceof OpenAI.APIUserAbortError ||
    (timedOut && err instanceof Error && err.name === 'AbortError')
  ) {
    return {
      type: ErrorType.ProviderTimeout,
      message: `${provider} did not answer in time`,
      retryable: true,
    };
  }
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return {
      type: ErrorType.ProviderTimeout,
      message: `${provider} did not answer in time`,
      retryable: true,
    };
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return {
      type: ErrorType.ProviderUnavailable,
      message: `cannot reach ${provider}: ${err.message}`,
      retryable: true,
    };
  }
  if (!(err instanceof OpenAI.APIError) || err.status === undefined) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      type: ErrorType.ProviderUnavailable,
      message: `${provider} call failed: ${message}`,
      retryable: true,
    };
  }
  const status = err.status;
  const detail = providerMessage(err);
  const retryAfterMs = retryDelayFromHeaders((name) => err.headers?.get(name), Date.now());
  if (status === 429) {
    return {
      type: ErrorType.ProviderRateLimited,
      message: `${provider} rate limit: ${detail}`,
      retryable: true,
      retryAfterMs,
    };
  }
  if (status >= 500 || status === 408 || status === 409) {
    return {
      type: ErrorType.ProviderUnavailable,
      message: `${provider} answered ${status}: ${detail}`,
      retryable: true,
      retryAfterMs,
    };
  }
  if (status === 401 || status === 403) {
    return {
      type: ErrorType.ProviderAuth,
      message: `${provider} refused the API key (${status}): ${detail}. Check AI_API_KEY.`,
      retryable: false,
    };
  }
  if (
    (status === 400 || status === 413 || status === 422) &&
    (CONTEXT_LENGTH.test(detail) || err.code === 'context_length_exceeded')
  ) {
    return {
      type: ErrorType.ProviderContextLength,
      message: `${provider}: ${detail}`,
      retryable: false,
      contextLength: true,
    };
  }
  if (status === 404) {
    return {
      type: ErrorType.ProviderBadRequest,
      message: `${provider} has no model "${model}" (404): ${detail}. Check AI_MODEL.`,
      retryable: false,
    };
  }
  return {
    type: ErrorType.ProviderBadRequest,
    message: `${provider} rejected the request (${status}): ${detail}`,
    retryable: false,
  };
}

function providerMessage(err: InstanceType<typeof OpenAI.APIError>): string {
  const body = err.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : err.message;
  return text.slice(0, 300);
}
