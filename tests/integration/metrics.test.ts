/**
 * Issue 18, part 2: with METRICS_PORT set, one Prometheus scrape carries the application's series and
 * the Temporal SDK's. After one ingest (which starts one heuristic analysis) and one refused message over
 * MCP, the series count exactly that.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { callError, connectHttp, ingestToEnd } from '../support/mcp-clients.js';

describe('GET /metrics', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;

  beforeAll(async () => {
    // The first stack of this process: the SDK runtime is installed with its Prometheus exporter.
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0', METRICS_PORT: '0' }));
    http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, uniqueName('key'), key, 'member');
    mcp = await connectHttp(http.url, key);
  });
  afterAll(async () => {
    await mcp?.close();
    await http?.close();
    await stack?.shutdown();
  });

  const scrape = async () => {
    const response = await fetch(stack.metricsUrl!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };

  it('counts an ingest, a refusal and an analysis, next to the SDK series', async () => {
    expect(stack.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const out = await ingestToEnd<{ status: string; analysisWorkflowId: string }>(mcp, {
      raw: fixture('quarterly-report.eml'),
    });
    expect(out.status).toBe('completed');
    await stack.client.workflow.getHandle(out.analysisWorkflowId).result();
    expect(await callError(mcp, 'ingest_email', { raw: 'Subject: no sender\r\n\r\nbody' })).toMatch(
      /^InvalidEmail: /,
    );

    const text = await scrape();
    const lines = text.split('\n');
    expect(lines).toContain('durable_inbox_emails_ingested_total{source="mcp",tenant="all"} 1');
    expect(lines).toContain(
      'durable_inbox_emails_refused_total{source="mcp",type="InvalidEmail",tenant="all"} 1',
    );
    expect(lines).toContain(
      'durable_inbox_analysis_calls_total{provider="heuristic",outcome="ok",tenant="all"} 1',
    );
    expect(lines).toContain(
      'durable_inbox_analysis_call_duration_seconds_count{provider="heuristic",outcome="ok"} 1',
    );
    expect(lines).toContain('durable_inbox_rollout_arm_calls_total{provider="heuristic",arm="baseline"} 1');
    // Declared even before anything happened, so dashboards find them.
    expect(text).toContain('# TYPE durable_inbox_upload_bytes_total counter');
    expect(text).toContain('# TYPE durable_inbox_retention_rows_purged_total counter');
    // The worker's own series from the SDK's exporter, on the same scrape.
    expect(text).toMatch(/^temporal_worker_task_slots_available\{/m);
    expect(text).toContain(`task_queue="${stack.config.temporal.taskQueue}"`);
  });

  it('answers only GET /metrics', async () => {
    const other = await fetch(stack.metricsUrl!.replace('/metrics', '/'));
    expect(other.status).toBe(404);
    expect(await other.text()).toBe('not found: GET /metrics\n');
  });
});
