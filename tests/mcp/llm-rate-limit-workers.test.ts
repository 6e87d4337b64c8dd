/**
 * The provider's rate limit holds for the whole queue, whatever the number of workers: three worker
 * processes poll the same provider queue, each allowed AI_RATE_LIMIT_PER_SECOND by its own limit
 * (maxActivitiesPerSecond), and the server's queue-wide limit (maxTaskQueueActivitiesPerSecond) keeps
 * their sum at that rate. 30 analyze_email calls over MCP at 5 per second take at least 30/5 seconds
 * less the token bucket's first burst; with only per-worker limits, three workers would let them
 * through at 15 per second, in about 2 seconds.
 *
 * The assertion is a lower bound on the span of arrivals at the stand-in: a loaded machine can only
 * make it longer, so it cannot flake. It also checks that more than one worker did the calls.
 */
import type { ChildProcess } from 'node:child_process';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { seedEmail } from '../support/analysis.js';
import { spawnWorker, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { type LlmStandIn, standInEnv, startLlmStandIn } from '../support/llm-stand-in.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';

const RATE = 5;
const CALLS = 30;
const WORKERS = 3;

describe('the provider rate limit with three worker processes', () => {
  let llm: LlmStandIn;
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    llm = await startLlmStandIn();
    const env = testEnv(
      standInEnv(llm, {
        AI_RATE_LIMIT_PER_SECOND: String(RATE),
        // Concurrency is not what limits here: the queue's rate is.
        AI_MAX_CONCURRENCY: String(CALLS),
        AI_ANALYSIS_ON_INGEST: 'false',
        MCP_HTTP_PORT: '0',
      }),
    );
    // The MCP server runs no worker: every provider call is made by one of the worker processes.
    stack = await startTestStack(env, false);
    for (let i = 0; i < WORKERS; i++) workers.push(await spawnWorker(env));
    http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, uniqueName('key'), key, 'member');
    mcp = await connectHttp(http.url, key);
  }, 120_000);

  afterAll(async () => {
    await mcp?.close();
    await http?.close();
    for (const w of workers) w.kill('SIGTERM');
    await stack?.shutdown();
    await llm?.close();
  });

  it(`${CALLS} analyze_email calls reach the provider at no more than ${RATE} per second in all`, async () => {
    const emails = await Promise.all(
      Array.from({ length: CALLS }, () => seedEmail(stack.sql, stack.defaultTenant.id)),
    );
    const runs = await Promise.all(
      emails.map((emailId) =>
        callOk<{ workflowId: string; status: string }>(mcp, 'analyze_email', { emailId }),
      ),
    );
    // A call may return while its run is still waiting for its turn at the provider.
    await Promise.all(runs.map((r) => stack.client.workflow.getHandle(r.workflowId).result()));
    expect(llm.calls).toHaveLength(CALLS);

    const at = llm.calls.map((c) => c.at).sort((a, b) => a - b);
    const spanMs = at.at(-1)! - at[0]!;
    const perWindow = new Map<number, number>();
    for (const t of at)
      perWindow.set(
        Math.floor((t - at[0]!) / 1000),
        (perWindow.get(Math.floor((t - at[0]!) / 1000)) ?? 0) + 1,
      );
    process.stdout.write(
      `\n${WORKERS} workers: ${CALLS} provider calls over ${spanMs} ms; arrivals per 1 s window: ` +
        `${[...perWindow.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([, n]) => n)
          .join(', ')}\n`,
    );
    // 30 calls at 5/s: 5.8 s nominal; the server's bucket may admit up to one second's worth at once
    // at the start, so at least (30 - 2 × 5) / 5 = 4 s. Per-worker limits alone: about 2 s.
    expect(spanMs).toBeGreaterThanOrEqual(((CALLS - 2 * RATE) / RATE) * 1000);

    // More than one worker made the calls (else this would test one worker's own limit).
    const identities = new Set<string>();
    for (const r of runs) {
      const history = await stack.client.workflow.getHandle(r.workflowId).fetchHistory();
      for (const e of history.events ?? []) {
        const started = e.activityTaskStartedEventAttributes;
        if (started?.identity) identities.add(started.identity);
      }
    }
    expect(identities.size).toBeGreaterThan(1);
  });
});
