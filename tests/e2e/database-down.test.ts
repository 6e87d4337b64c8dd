/**
 * The database goes down under a serving MCP server (issue 14, item 5), on a cluster of its own (the
 * shared test database must never go down under other files):
 *  - `GET /readyz` turns 503 and says the database check failed, and turns 200 again once it is back;
 *    `GET /healthz` stays 200 (the process is alive: restarting it would not bring the database back);
 *  - the auth step over HTTP answers 503 with Retry-After and `DatabaseUnavailable: …`, not 401 or 500;
 *  - a caller already authenticated (a stdio session) reads the tool's typed `DatabaseUnavailable: …`.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { createDatabase, type ProvisionedPostgres, provisionPostgres } from '../../dev-stack/postgres.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { createDb } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv } from '../support/harness.js';
import { callError, callOk, connectHttp, connectStdio } from '../support/mcp-clients.js';

interface Readiness {
  ready: boolean;
  checks: Record<'database' | 'temporal' | 'storage', { ok: boolean; ms: number; error?: string }>;
}

describe('the database down under a serving MCP server', () => {
  let pg: ProvisionedPostgres | undefined;
  let stack: Stack | undefined;
  let http: RunningHttpServer | undefined;
  let stdio: McpClient | undefined;
  afterAll(async () => {
    await stdio?.close().catch(() => {});
    await http?.close();
    await stack?.shutdown().catch(() => {});
    await pg?.stop();
  });

  it('readyz goes false and back, auth answers 503 with Retry-After, tools say DatabaseUnavailable', {
    timeout: 180_000,
  }, async () => {
    pg = await provisionPostgres({ own: true, log: () => {} });
    const url = await createDatabase(pg.url, 'db_down');
    const admin = createDb({ url, max: 1 });
    await migrate(admin);
    await admin.end();
    const env = testEnv({ DATABASE_URL: url, MCP_HTTP_PORT: '0' });
    stack = await startTestStack(env, false);
    http = await startMcpHttp(stack, createLogger('error'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'down', key);
    const base = new URL(http.url).origin;
    stdio = await connectStdio(env);
    await callOk(stdio, 'search_emails', { query: 'anything' });

    const up = await readyz(base);
    expect(up.status).toBe(200);
    expect(up.body).toEqual({
      ready: true,
      checks: {
        database: { ok: true, ms: expect.any(Number) },
        temporal: { ok: true, ms: expect.any(Number) },
        storage: { ok: true, ms: expect.any(Number) },
      },
    });

    await pg.crash?.();

    const down = await readyz(base);
    expect(down.status).toBe(503);
    expect(down.body.ready).toBe(false);
    expect(down.body.checks.database).toEqual({
      ok: false,
      ms: expect.any(Number),
      error: expect.stringMatching(/^DatabaseUnavailable: /),
    });
    expect(down.body.checks.temporal.ok).toBe(true);
    expect(JSON.stringify(down.body)).not.toContain(url);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    // The auth step cannot check the key: 503, Retry-After, and the type, not 401 or 500.
    const refused = await fetch(http.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    const refusal = (await refused.json()) as { error: string; message: string };
    expect(refusal).toEqual({
      error: 'database_unavailable',
      message: expect.stringMatching(/^DatabaseUnavailable: the database .*try again in a moment$/),
    });

    // Already authenticated (stdio): the tool's typed error.
    const text = await callError(stdio, 'search_emails', { query: 'anything' });
    expect(text).toMatch(/^DatabaseUnavailable: the database /);

    await pg.restart?.();
    let back = await readyz(base);
    for (let i = 0; i < 60 && back.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      back = await readyz(base);
    }
    expect(back.status).toBe(200);
    expect(back.body.ready).toBe(true);
    const mcp = await connectHttp(http.url, key);
    await callOk(mcp, 'search_emails', { query: 'anything' });
    await mcp.close();
    await callOk(stdio, 'search_emails', { query: 'anything' });
  });
});

async function readyz(base: string): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as Readiness };
}
