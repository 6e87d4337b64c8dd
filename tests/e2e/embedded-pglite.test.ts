/**
 * The zero-install path: no DATABASE_URL, so the stack runs PGlite under the data dir with migrations
 * applied. One email goes through the real workflow into it; the data survives a restart; and the stdio
 * entry bridges to the running stack instead of opening the single-connection database itself.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { ensureLocalApiKey, removeStackState, writeStackState } from '../../workers/local-identity.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv } from '../support/harness.js';
import { callOk, connectHttp, connectStdio } from '../support/mcp-clients.js';
import { recordNotifications } from '../support/subscriptions.js';

describe('embedded PGlite', () => {
  const { DATABASE_URL: _external, ...env } = testEnv({ MCP_HTTP_PORT: '0' });
  let stack: Stack | undefined;
  afterAll(() => stack?.shutdown());

  // Two starts of the embedded stack and a stdio server: over a minute on a loaded machine.
  it('ingests one email, keeps it across a restart, and serves stdio through the running stack', {
    timeout: 180_000,
  }, async () => {
    stack = await startTestStack(env);
    expect(stack.embeddedDatabase).toBe(true);
    const [migrations] =
      await stack.sql`select count(*)::int as n from supabase_migrations.schema_migrations`;
    expect(migrations!.n).toBeGreaterThanOrEqual(3);

    const log = createLogger('warn');
    const http = await startMcpHttp(stack, log);
    const key = await ensureLocalApiKey(stack.sql, stack.config.dataDir, stack.defaultTenant);
    const mcp = await connectHttp(http.url, key);
    // PGlite serves one connection, so no LISTEN: the outbox is polled, and subscribers still hear.
    const heard = recordNotifications(mcp);
    await mcp.subscribeResource({ uri: 'inbox://recent' });
    const out = await callOk<{ emailId: string }>(mcp, 'ingest_email', {
      raw: fixture('quarterly-report.eml'),
    });
    await heard.waitForUpdate('inbox://recent');
    await mcp.close();
    const [row] = await stack.sql`select subject, from_address from public.emails where id = ${out.emailId}`;
    expect(row).toEqual({ subject: 'Quarterly report for Q3', from_address: 'alice@example.com' });

    // stdio while the stack runs: bridged over HTTP with the local API key.
    await writeStackState(stack.config.dataDir, {
      pid: process.pid,
      mcpUrl: http.url,
      temporalUiUrl: stack.temporal.uiUrl,
      temporalAddress: stack.temporal.address,
    });
    const stdio = await connectStdio(env);
    const heardOverBridge = recordNotifications(stdio);
    await stdio.subscribeResource({ uri: 'inbox://recent' });
    const viaStdio = await callOk<{ emailId: string }>(stdio, 'ingest_email', {
      raw: fixture('no-message-id.eml'),
    });
    await heardOverBridge.waitForUpdate('inbox://recent');
    await stdio.close();
    await removeStackState(stack.config.dataDir);
    await http.close();
    await stack.shutdown();

    stack = await startTestStack(env);
    const rows = await stack.sql`select id from public.emails order by created_at`;
    expect(rows.map((r) => r.id)).toEqual([out.emailId, viaStdio.emailId]);
  });
});
