/**
 * The provider client on its own: the real openai SDK against the chat-completions stand-in. What it
 * sends for each response-format mode, and how each failure is classified (type, retryable, delay).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  chat,
  classifyProviderError,
  createLlmClient,
  parseAnalysis,
} from '../../activities/llm-provider.js';
import { type LlmSettings, PRESETS } from '../../core/ai-providers.js';
import {
  type LlmStandIn,
  type Reply,
  reply,
  startLlmStandIn,
  VALID_ANALYSIS,
} from '../support/llm-stand-in.js';

describe('LLM provider client', () => {
  let llm: LlmStandIn;
  let settings: LlmSettings;

  beforeAll(async () => {
    llm = await startLlmStandIn();
    settings = {
      ...PRESETS.openai,
      provider: 'openai',
      baseURL: llm.url,
      apiKey: 'sk-unit',
      model: 'gpt-4o-mini',
      ratePerSecond: 100,
      maxConcurrency: 1,
      timeoutMs: 5000,
      maxInputTokens: 1000,
    };
  });
  afterAll(() => llm?.close());
  beforeEach(() => llm.reset());

  const messages = [{ role: 'user' as const, content: 'Subject: hi' }];
  const call = (s = settings) => chat(createLlmClient(s), s, s.model, messages, new AbortController().signal);

  async function failureFor(r: Reply) {
    llm.script(r);
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    return classifyProviderError(err, 'openai', 'gpt-4o-mini', false);
  }

  it('sends the shared schema as a strict json_schema where the provider supports it, JSON mode elsewhere', async () => {
    const answer = await call();
    expect(parseAnalysis(answer.content)).toEqual({ ok: true, value: VALID_ANALYSIS });
    expect(answer).toMatchObject({ inputTokens: 420, outputTokens: 180 });
    const format = llm.calls[0]!.body.response_format as {
      type: string;
      json_schema: {
        name: string;
        strict: boolean;
        schema: { required: string[]; additionalProperties: boolean };
      };
    };
    expect(format.type).toBe('json_schema');
    expect(format.json_schema.strict).toBe(true);
    expect(format.json_schema.schema.additionalProperties).toBe(false);
    expect(format.json_schema.schema.required.sort()).toEqual(Object.keys(VALID_ANALYSIS).sort());

    await call({ ...settings, provider: 'zhipu', responseFormat: PRESETS.zhipu.responseFormat });
    expect(llm.calls[1]!.body.response_format).toEqual({ type: 'json_object' });
  });

  it('classifies failures: what is retried, after how long, and what fails at once', async () => {
    expect(await failureFor(reply.rateLimited(7))).toMatchObject({
      type: 'ProviderRateLimited',
      retryable: true,
      retryAfterMs: 7000,
    });
    expect(await failureFor(reply.serverError())).toMatchObject({
      type: 'ProviderUnavailable',
      retryable: true,
    });
    expect(await failureFor(reply.connectionReset())).toMatchObject({
      type: 'ProviderUnavailable',
      retryable: true,
    });
    expect(await failureFor(reply.unauthorized())).toMatchObject({ type: 'ProviderAuth', retryable: false });
    expect(await failureFor(reply.forbidden())).toMatchObject({ type: 'ProviderAuth', retryable: false });
    expect(await failureFor(reply.badRequest())).toMatchObject({
      type: 'ProviderBadRequest',
      retryable: false,
    });
    expect(await failureFor(reply.modelMissing())).toMatchObject({
      type: 'ProviderBadRequest',
      retryable: false,
    });
    expect(await failureFor(reply.contextLength())).toMatchObject({
      type: 'ProviderContextLength',
      retryable: false,
      contextLength: true,
    });
    expect(classifyProviderError(new OpenAI.APIUserAbortError(), 'openai', 'm', true)).toMatchObject({
      type: 'ProviderTimeout',
      retryable: true,
    });
  });

  it('accepts a fenced JSON answer and names what is wrong with a bad one', () => {
    expect(parseAnalysis(`\`\`\`json\n${JSON.stringify(VALID_ANALYSIS)}\n\`\`\``).ok).toBe(true);
    const bad = parseAnalysis(
      JSON.stringify({ ...VALID_ANALYSIS, priority: 9, summary: 'One. Two. Three. Four.' }),
    );
    expect(bad).toEqual({
      ok: false,
      issues: expect.stringMatching(/priority: .*; summary: at most 3 sentences/),
    });
  });
});
