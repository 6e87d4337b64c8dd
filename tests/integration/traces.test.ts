/**
 * Issue 18, part 3: with OTEL_EXPORTER_OTLP_ENDPOINT set, one `ingest_email` call over a real MCP client
 * (Streamable HTTP) produces one trace, exported by OTLP/HTTP to a receiver on loopback: the tool's span,
 * the client's StartWorkflow, the workflow's RunWorkflow (workflow interceptors bundled by the worker), its
 * activities and its analysis child. Without the variable, no provider is registered and the OpenTelemetry
 * SDK is never loaded.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import * as otel from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import { type Stack, startStack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { connectHttp, ingestToEnd } from '../support/mcp-clients.js';

/** A span as OTLP/HTTP JSON carries it (ids in hex), with its resource's service name. */
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  attributes: Record<string, unknown>;
}

/** An OTLP/HTTP traces receiver: POST /v1/traces, JSON (what exporter-trace-otlp-http sends). */
async function startReceiver(): Promise<{
  url: string;
  spans: ReceivedSpan[];
  bodies: string[];
  server: Server;
}> {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      expect(req.headers['content-type']).toMatch(/^application\/json/);
      const body = Buffer.concat(chunks).toString('utf8');
      bodies.push(body);
      for (const rs of JSON.parse(body).resourceSpans ?? []) {
        const service = attributesOf(rs.resource?.attributes)['service.name'] as string;
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              service,
              attributes: attributesOf(s.attributes),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, bodies, server };
}

function attributesOf(list: { key: string; value: Record<string, unknown> }[] = []) {
  return Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0]]));
}

const sdkLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((file) =>
    file.includes('/@opentelemetry/sdk-trace-base/'),
  );

describe('without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('loads no tracing and registers no provider', async () => {
    const stack = await startTestStack(testEnv(), false);
    try {
      expect(stack.tracing).toBeUndefined();
      // The global API answers with its no-op tracer: no provider was registered.
      const span = otel.trace.getTracer('probe').startSpan('probe');
      expect(otel.isSpanContextValid(span.spanContext())).toBe(false);
      span.end();
      expect(sdkLoaded()).toBe(false);
    } finally {
      await stack.shutdown();
    }
  });
});

describe('with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;

  beforeAll(async () => {
    receiver = await startReceiver();
    const env = testEnv({
      MCP_HTTP_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
      OTEL_SERVICE_NAME: 'durable-inbox-test',
    });
    // No prebuilt bundle: the worker bundles the workflows with the tracing interceptor module, as deployed.
    stack = await startStack(loadConfig(env), { log: createLogger('warn'), runWorker: true });
    http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, uniqueName('key'), key, 'member');
    mcp = await connectHttp(http.url, key);
  }, 300_000);
  afterAll(async () => {
    await mcp?.close();
    await http?.close();
    await stack?.shutdown();
    receiver?.server.close();
  });

  it('exports one trace from the tool call through the workflow to its activities and child', async () => {
    expect(sdkLoaded()).toBe(true);
    const out = await ingestToEnd<{ status: string; workflowId: string; analysisWorkflowId: string }>(mcp, {
      raw: fixture('quarterly-report.eml'),
    });
    expect(out.status).toBe('completed');
    await stack.client.workflow.getHandle(out.analysisWorkflowId).result();

    const tool = () => receiver.spans.find((s) => s.name === 'tools/call ingest_email');
    const inTrace = () => receiver.spans.filter((s) => s.traceId === tool()?.traceId);
    const names = () => inTrace().map((s) => s.name);
    const expected = [
      'tools/call ingest_email',
      'StartWorkflow:ingestEmailWorkflow',
      'RunWorkflow:ingestEmailWorkflow',
      'StartChildWorkflow:analyzeEmailWorkflow',
      'RunWorkflow:analyzeEmailWorkflow',
    ];
    // The batch processor exports every few seconds.
    for (let i = 0; i < 120; i++) {
      const seen = names();
      if (expected.every((n) => seen.includes(n)) && seen.some((n) => n.startsWith('RunActivity:'))) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(names()).toEqual(expect.arrayContaining(expected));

    const spans = inTrace();
    const one = (name: string) => spans.find((s) => s.name === name)!;
    const root = one('tools/call ingest_email');
    expect(root.parentSpanId).toBeUndefined();
    expect(root.service).toBe('durable-inbox-test');
    expect(root.attributes['gen_ai.tool.name']).toBe('ingest_email');
    // Parent to child, hop by hop: tool → start → workflow → activity.
    const start = one('StartWorkflow:ingestEmailWorkflow');
    expect(start.parentSpanId).toBe(root.spanId);
    expect(start.attributes.temporalWorkflowId).toBe(out.workflowId);
    const run = one('RunWorkflow:ingestEmailWorkflow');
    expect(run.parentSpanId).toBe(start.spanId);
    const scheduled = spans.filter((s) => s.name.startsWith('StartActivity:'));
    expect(scheduled.length).toBeGreaterThan(0);
    // The ingest run's own activities, and the analysis child's under its own RunWorkflow.
    expect(scheduled.some((s) => s.parentSpanId === run.spanId)).toBe(true);
    const child = one('RunWorkflow:analyzeEmailWorkflow');
    const startChild = one('StartChildWorkflow:analyzeEmailWorkflow');
    expect(startChild.parentSpanId).toBe(run.spanId);
    expect(child.parentSpanId).toBe(startChild.spanId);
    expect(scheduled.every((s) => s.parentSpanId === run.spanId || s.parentSpanId === child.spanId)).toBe(
      true,
    );
    const executed = spans.filter((s) => s.name.startsWith('RunActivity:'));
    expect(executed.length).toBeGreaterThan(0);
    const scheduledIds = new Set(scheduled.map((s) => s.spanId));
    expect(executed.every((s) => s.parentSpanId && scheduledIds.has(s.parentSpanId))).toBe(true);
    expect(executed.map((s) => s.name)).toContain('RunActivity:ingestStagedEmail');

    // Ids and names only: no subject, sender or body of the message in what was exported.
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain('Quarterly report');
    expect(exported).not.toContain('alice@example.com');
  });
});
