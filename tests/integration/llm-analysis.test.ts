/**
 * LLM analysis against the chat-completions stand-in, through the real `openai` SDK, on the real
 * Temporal dev server and Postgres. Each scenario asserts how many calls the stand-in saw, what the
 * workflow ended with, and the metric rows: exactly one per call, failures included.
 */
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnalysisSchema } from '../../core/analysis.js';
import type { Stack } from '../../workers/stack.js';
import {
  decodedHistoryText,
  metricRows,
  runAnalysis,
  seedEmail,
  startAnalysis,
} from '../support/analysis.js';
import { replayOptions, startTestStack, testEnv } from '../support/harness.js';
import {
  type LlmStandIn,
  reply,
  standInEnv,
  startLlmStandIn,
  VALID_ANALYSIS,
} from '../support/llm-stand-in.js';

const API_KEY = 'sk-stand-in-secret-0123456789';

describe('LLM analysis through the OpenAI SDK', () => {
  let llm: LlmStandIn;
  let stack: Stack;
  let tenantId: string;

  beforeAll(async () => {
    llm = await startLlmStandIn();
    stack = await startTestStack(
      testEnv(
        standInEnv(llm, {
          AI_API_KEY: API_KEY,
          AI_TIMEOUT_SECONDS: '2',
          AI_RATE_LIMIT_PER_SECOND: '50',
          AI_ANALYSIS_ON_INGEST: 'false',
        }),
      ),
    );
    tenantId = stack.defaultTenant.id;
  });
  afterAll(async () => {
    await stack?.shutdown();
    await llm?.close();
  });
  beforeEach(() => llm.reset());

  async function expectMetrics(workflowId: string, expected: { success: boolean; error: string | null }[]) {
    const { metrics, prompts } = await metricRows(stack.sql, workflowId);
    expect(metrics.map((m) => ({ success: m.success, error: m.error_type }))).toEqual(expected);
    expect(prompts.map((p) => ({ success: p.success, error: p.error_type }))).toEqual(expected);
    for (const m of metrics) {
      expect(m).toMatchObject({
        tool_name: 'analyze_email',
        provider: 'openai-compatible',
        model_name: 'stand-in-1',
        tenant_id: tenantId,
      });
      expect(m.param_hash).toMatch(/^[0-9a-f]{16}$/);
    }
  }

  it('stores a valid answer: one call, the key sent as a bearer token, the prompt from the database', async () => {
    const emailId = await seedEmail(stack.sql, tenantId);
    const run = await runAnalysis(stack, emailId);
    expect(run.ok).toBe(true);
    expect(llm.calls).toHaveLength(1);
    const [call] = llm.calls;
    expect(call!.authorization).toBe(`Bearer ${API_KEY}`);
    expect(call!.body.model).toBe('stand-in-1');
    expect(call!.body.response_format).toEqual({ type: 'json_object' });
    expect(call!.body.messages[0]!.content).toContain('email triage assistant');
    expect(call!.body.messages[1]!.content).toContain('Revenue grew 12% over Q2.');

    const [row] = await stack.sql`select ai_analysis, status from public.emails where id = ${emailId}`;
    expect(AnalysisSchema.parse(row!.ai_analysis)).toEqual(VALID_ANALYSIS);
    expect(row!.status).toBe('analyzed');
    const [history] = await stack.sql`
      select provider, model, tokens, input_tokens, output_tokens, cost from public.ai_analyses where email_id = ${emailId}`;
    expect(history).toMatchObject({ provider: 'openai-compatible', model: 'stand-in-1', tokens: 600 });
    await expectMetrics(run.handle.workflowId, [{ success: true, error: null }]);

    // The UI summary names subject and provider/model; the key is nowhere in the history.
    const description = await run.handle.describe();
    expect(await description.staticSummary()).toBe(
      'Analyse: Quarterly report for Q3 with openai-compatible/stand-in-1',
    );
    const fetched = await run.handle.fetchHistory();
    const historyText = decodedHistoryText(fetched);
    // The workflow code replays its own history: deterministic.
    await Worker.runReplayHistory(replayOptions(), fetched);
    expect(historyText).not.toContain(API_KEY);
    expect(historyText).not.toContain('Revenue grew');
    expect(historyText).toContain('Call openai-compatible/stand-in-1');

    // Again without force: the stored result, no new call. With force: a new call.
    // (the completed run is the answer).
    const again = await runAnalysis(stack, emailId);
    expect(again.ok && run.ok && again.result.analysisId === run.result.analysisId).toBe(true);
    expect((await again.handle.describe()).runId).toBe((await run.handle.describe()).runId);
    expect(llm.calls).toHaveLength(1);
    llm.script(reply.valid({ ...VALID_ANALYSIS, category: 'finance', priority: 2 }));
    const forced = await runAnalysis(stack, emailId, { force: true });
    expect(forced.ok && forced.result.reused).toBe(false);
    expect(llm.calls).toHaveLength(2);
    const [replaced] = await stack.sql`select ai_analysis from public.emails where id = ${emailId}`;
    expect(replaced!.ai_analysis).toMatchObject({ category: 'finance', priority: 2 });
    const [count] =
      await stack.sql`select count(*)::int as n from public.ai_analyses where email_id = ${emailId}`;
    expect(count!.n).toBe(1);
  });

  it('repairs malformed JSON with one more call, and gives up after a second bad answer', async () => {
    llm.script(reply.malformed());
    const repaired = await runAnalysis(stack, await seedEmail(stack.sql, tenantId));
    expect(repaired.ok).toBe(true);
    expect(llm.calls).toHaveLength(2);
    // The repair call shows the model its answer and what was wrong with it.
    const repairMessages = llm.calls[1]!.body.messages;
    expect(repairMessages.at(-2)!.role).toBe('assistant');
    expect(repairMessages.at(-1)!.content).toMatch(/not valid: not valid JSON/);
    await expectMetrics(repaired.handle.workflowId, [
      { success: false, error: 'InvalidModelOutput' },
      { success: true, error: null },
    ]);

    llm.reset();
    llm.script(reply.malformed(), reply.invalidSchema());
    const failed = await runAnalysis(stack, await seedEmail(stack.sql, tenantId));
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.failure.type).toBe('InvalidModelOutput');
    expect(!failed.ok && failed.failure.message).toMatch(/invalid analysis twice: category: /);
    expect(llm.calls).toHaveLength(2);
  });

  it('waits out a 429 for the Retry-After the provider sent', async () => {
    llm.script(reply.rateLimited(3));
    const emailId = await seedEmail(stack.sql, tenantId);
    const handle = await startAnalysis(stack, emailId);
    // While it waits, Temporal shows the failure and the provider's delay as the next retry delay.
    let pending:
      | {
          attempt?: number | null;
          lastFailure?: {
            applicationFailureInfo?: {
              type?: string | null;
              nextRetryDelay?: { seconds?: unknown } | null;
            } | null;
          } | null;
        }
      | undefined;
    for (let i = 0; i < 40 && !pending?.lastFailure; i++) {
      pending = (await handle.describe()).raw.pendingActivities?.[0] ?? undefined;
      if (!pending?.lastFailure) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pending?.lastFailure?.applicationFailureInfo?.type).toBe('ProviderRateLimited');
    expect(Number(pending?.lastFailure?.applicationFailureInfo?.nextRetryDelay?.seconds)).toBe(3);
    await handle.result();
    expect(llm.calls).toHaveLength(2);
    await expectMetrics(handle.workflowId, [
      { success: false, error: 'ProviderRateLimited' },
      { success: true, error: null },
    ]);
  });

  it('retries three 500s and succeeds on the fourth call', async () => {
    llm.script(reply.serverError(), reply.serverError(), reply.serverError());
    const run = await runAnalysis(stack, await seedEmail(stack.sql, tenantId));
    expect(run.ok).toBe(true);
    expect(llm.calls).toHaveLength(4);
    await expectMetrics(run.handle.workflowId, [
      { success: false, error: 'ProviderUnavailable' },
      { success: false, error: 'ProviderUnavailable' },
      { success: false, error: 'ProviderUnavailable' },
      { success: true, error: null },
    ]);
  });

  it('fails once and stops on 401, with a type and message a user can act on', async () => {
    llm.script(reply.unauthorized(), reply.unauthorized());
    const emailId = await seedEmail(stack.sql, tenantId);
    const run = await runAnalysis(stack, emailId);
    expect(run.ok).toBe(false);
    expect(!run.ok && run.failure).toEqual({
      type: 'ProviderAuth',
      message: 'openai-compatible refused the API key (401): Incorrect API key provided. Check AI_API_KEY.',
    });
    expect(llm.calls).toHaveLength(1);
    await expectMetrics(run.handle.workflowId, [{ success: false, error: 'ProviderAuth' }]);
    const [row] = await stack.sql`select ai_analysis, status from public.emails where id = ${emailId}`;
    expect(row).toEqual({ ai_analysis: null, status: 'stored' });

    llm.reset();
    llm.script(reply.modelMissing());
    const missing = await runAnalysis(stack, await seedEmail(stack.sql, tenantId));
    expect(!missing.ok && missing.failure.type).toBe('ProviderBadRequest');
    expect(!missing.ok && missing.failure.message).toContain('has no model "stand-in-1"');
    expect(llm.calls).toHaveLength(1);
  });

  it('cuts a long email to the token budget, and retries a context-length error once with half of it', async () => {
    llm.script(reply.contextLength());
    const long = '\nRevenue grew 12% over Q2, Umsatz +12 %, 売上は12%増加しました。'.repeat(3000);
    const run = await runAnalysis(stack, await seedEmail(stack.sql, tenantId, 'quarterly-report.eml', long));
    expect(run.ok).toBe(true);
    expect(llm.calls).toHaveLength(2);
    await expectMetrics(run.handle.workflowId, [
      { success: false, error: 'ProviderContextLength' },
      { success: true, error: null },
    ]);
    // Both prompts were cut (never inside a character), the retry to half the budget: a different
    // performance-affecting parameter.
    const [first, second] = llm.calls.map((c) => c.body.messages[1]!.content);
    expect(first!.length).toBeLessThan(long.length / 2);
    expect(first).toMatch(/truncated to fit the model context\]$/);
    expect(second!.length).toBeLessThan(first!.length * 0.7);
    expect(Buffer.from(second!, 'utf8').toString('utf8')).toBe(second);
    const { metrics } = await metricRows(stack.sql, run.handle.workflowId);
    expect(metrics[0]!.param_hash).not.toBe(metrics[1]!.param_hash);

    llm.reset();
    llm.script(reply.contextLength(), reply.contextLength());
    const failed = await runAnalysis(stack, await seedEmail(stack.sql, tenantId));
    expect(!failed.ok && failed.failure.type).toBe('ProviderContextLength');
    expect(llm.calls).toHaveLength(2);
  });

  it('gives up on a slow answer at the activity timeout and retries', async () => {
    llm.script(reply.slow(6000));
    const run = await runAnalysis(stack, await seedEmail(stack.sql, tenantId));
    expect(run.ok).toBe(true);
    expect(llm.calls).toHaveLength(2);
    await expectMetrics(run.handle.workflowId, [
      { success: false, error: 'ProviderTimeout' },
      { success: true, error: null },
    ]);
  });
});
