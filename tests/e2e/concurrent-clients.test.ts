/**
 * Load (issue 14, item 6): 20 MCP clients over HTTP, each with its own API key, send 25 distinct messages
 * each at the same time, 500 in all. Every call succeeds, and exactly 500 emails are stored, each once,
 * each with its raw message archived. Timings belong to the benchmarks (`npm run bench`), not here.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { connectHttp, ingestToEnd } from '../support/mcp-clients.js';

const CLIENTS = 20;
const PER_CLIENT = 25;

function message(client: number, n: number): string {
  return (
    `From: sender${client}@example.com\r\nTo: inbox@example.com\r\nSubject: load ${client}/${n}\r\n` +
    `Message-ID: <load-${client}-${n}@load.test>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\n` +
    `Message ${n} of client ${client}.\r\n`
  );
}

describe('20 concurrent MCP clients, 500 distinct messages', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  const clients: McpClient[] = [];

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0', AI_ANALYSIS_ON_INGEST: 'false' }));
    http = await startMcpHttp(stack, createLogger('error'));
    for (let i = 0; i < CLIENTS; i++) {
      const key = generateApiKey();
      await registerApiKey(stack.sql, stack.defaultTenant.id, uniqueName(`load-${i}`), key, 'member');
      clients.push(await connectHttp(http.url, key));
    }
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await http?.close();
    await stack?.shutdown();
  });

  it('stores exactly 500 rows with no errors', { timeout: 600_000 }, async () => {
    const errors: string[] = [];
    const outcomes = await Promise.all(
      clients.map(async (mcp, c) => {
        const mine: { workflowId: string; status: string }[] = [];
        for (let n = 0; n < PER_CLIENT; n++) {
          try {
            mine.push(await ingestToEnd(mcp, { raw: message(c, n) }));
          } catch (err) {
            errors.push(String(err));
          }
        }
        return mine;
      }),
    );
    expect(errors).toEqual([]);
    const runs = outcomes.flat();
    expect(runs).toHaveLength(CLIENTS * PER_CLIENT);
    expect(new Set(runs.map((r) => r.workflowId)).size).toBe(CLIENTS * PER_CLIENT);

    // A call that outlived its wait answered `running`: every run must still complete.
    for (const run of runs.filter((r) => r.status !== 'completed')) {
      await stack.client.workflow.getHandle(run.workflowId).result();
    }
    const tenant = stack.defaultTenant.id;
    const [rows] = await stack.sql`
      select count(*)::int as emails, count(distinct message_id)::int as distinct_ids,
             count(*) filter (where raw_file_id is not null)::int as raw_linked,
             (select count(*) from public.ingest_failures where tenant_id = ${tenant})::int as failures
      from public.emails where tenant_id = ${tenant}`;
    expect(rows).toEqual({ emails: 500, distinct_ids: 500, raw_linked: 500, failures: 0 });
  });
});
