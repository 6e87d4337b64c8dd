/**
 * The full path on the real dev server: a real MCP client (stdio) ingests an email with analysis on;
 * ingestion starts the analysis child, which calls the LLM stand-in through the real openai SDK on the
 * rate-limited provider queue; the stored `ai_analysis` validates against the shared schema. Then
 * `analyze_email` over MCP, and a provider outage that must not hold up ingestion or the heuristic.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { AnalysisSchema } from '../../core/analysis.js';
import { FIXTURES } from '../support/fixtures.js';
import { fixture, replayOptions, testEnv } from '../support/harness.js';
import { type LlmStandIn, reply, standInEnv, startLlmStandIn } from '../support/llm-stand-in.js';
import { callError, callOk, ingestToEnd } from '../support/mcp-clients.js';
import { useStdioStack } from '../support/stdio-stack.js';

interface IngestOut {
  status: string;
  emailId: string;
  analysisWorkflowId: string | null;
}
interface AnalyzeOut {
  workflowId: string;
  status: string;
  provider: string;
  model: string;
  promptVersion: number;
  analysis?: unknown;
}

describe('ingest_email with analysis on, then analyze_email', () => {
  let llm: LlmStandIn;

  const t = useStdioStack(async () => {
    llm = await startLlmStandIn();
    return testEnv(standInEnv(llm));
  });

  afterAll(() => llm?.close());

  it('stores a schema-valid ai_analysis for an ingested email', async () => {
    const out = await ingestToEnd<IngestOut>(t.mcp, { raw: fixture('quarterly-report.eml') });
    expect(out.status).toBe('completed');
    expect(out.analysisWorkflowId).toBe(`analysis/${t.tenantId}/${out.emailId}/openai-compatible-v1`);
    await t.stack.client.workflow.getHandle(out.analysisWorkflowId!).result();

    const [email] =
      await t.sql`select ai_analysis, analyzed_at, status from public.emails where id = ${out.emailId}`;
    expect(AnalysisSchema.safeParse(email!.ai_analysis).success).toBe(true);
    expect(email!.status).toBe('analyzed');
    const history = await t.sql`
      select a.provider, a.model, p.version, p.is_active from public.ai_analyses a
      join public.system_prompts p on p.id = a.prompt_version_id where a.email_id = ${out.emailId}`;
    expect(history).toEqual([
      { provider: 'openai-compatible', model: 'stand-in-1', version: 1, is_active: true },
    ]);
    const [metrics] = await t.sql`
      select count(*)::int as n from public.performance_metrics
      where call_key like ${`${out.analysisWorkflowId}/%`} and success`;
    expect(metrics!.n).toBe(1);
    expect(llm.calls).toHaveLength(1);

    // analyze_email for the same email and prompt version: the same run, no new provider call.
    const again = await callOk<AnalyzeOut>(t.mcp, 'analyze_email', { emailId: out.emailId });
    expect(again).toMatchObject({
      workflowId: out.analysisWorkflowId,
      status: 'completed',
      provider: 'openai-compatible',
      model: 'stand-in-1',
      promptVersion: 1,
    });
    expect(AnalysisSchema.parse(again.analysis)).toEqual(email!.ai_analysis);
    expect(llm.calls).toHaveLength(1);

    // The heuristic is always there, under its own prompt version and run; progress is reported.
    const progress: number[] = [];
    const result = (await t.mcp.callTool(
      { name: 'analyze_email', arguments: { emailId: out.emailId, provider: 'heuristic' } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress) },
    )) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const heuristic = result.structuredContent as unknown as AnalyzeOut;
    expect(progress.length).toBeGreaterThan(0);
    expect(Math.max(...progress)).toBeLessThanOrEqual(2);
    expect(heuristic.workflowId).toBe(`analysis/${t.tenantId}/${out.emailId}/heuristic-v1`);
    expect(AnalysisSchema.parse(heuristic.analysis).category).toBe('work');
  });

  it('refuses unknown emails and unconfigured providers with actionable errors', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await callError(t.mcp, 'analyze_email', { emailId: missing })).toBe(
      `NotFound: no email ${missing} in this tenant`,
    );
    const out = await ingestToEnd<IngestOut>(t.mcp, { raw: fixture('no-message-id.eml') });
    expect(await callError(t.mcp, 'analyze_email', { emailId: out.emailId, provider: 'sambanova' })).toMatch(
      /^ProviderNotConfigured: provider "sambanova" is not configured here/,
    );
    expect(await callError(t.mcp, 'analyze_email', { emailId: 'not-a-uuid' })).toMatch(/emailId/);
  });

  it('a provider outage holds up neither ingestion nor the heuristic analyser', async () => {
    llm.reset();
    llm.script(...Array.from({ length: 20 }, () => reply.rateLimited(60)));
    const out = await ingestToEnd<IngestOut>(t.mcp, { raw: fixture('finance-invoice-en.eml') });
    expect(out.status).toBe('completed');
    const child = t.stack.client.workflow.getHandle(out.analysisWorkflowId!);
    try {
      expect((await child.describe()).status.name).toBe('RUNNING');
      const heuristic = await callOk<AnalyzeOut>(t.mcp, 'analyze_email', {
        emailId: out.emailId,
        provider: 'heuristic',
      });
      expect(heuristic.status).toBe('completed');
      expect(AnalysisSchema.parse(heuristic.analysis).category).toBe('finance');
      // Its database steps and the heuristic ran as local activities: one workflow task, no task
      // through the queue; the history replays on this code.
      const history = await t.stack.client.workflow.getHandle(heuristic.workflowId).fetchHistory();
      expect(stepsOf(history)).toEqual({ activities: 0, localActivities: 2, workflowTasks: 1 });
      await Worker.runReplayHistory(replayOptions(), history);
    } finally {
      await child.terminate('test cleanup');
    }
  });

  it('a history from before the local steps (task-queue activities) still replays', async () => {
    // Recorded by the code before ANALYSIS_LOCAL_STEPS_PATCH: a heuristic analysis of an ingested email.
    const history = temporal.api.history.v1.History.decode(
      readFileSync(path.join(FIXTURES, 'histories', 'analysis-remote-steps.binpb')),
    );
    expect(stepsOf(history)).toEqual({ activities: 2, localActivities: 0, workflowTasks: 3 });
    await Worker.runReplayHistory(replayOptions(), history);
  });
});

function stepsOf(history: temporal.api.history.v1.IHistory) {
  const events = history.events ?? [];
  return {
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    localActivities: events.filter(
      (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    ).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
  };
}
