/**
 * The Streamable HTTP entry: a valid API key or Supabase access token ingests; anything else gets 401.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { addMember, ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { callError, connectHttp, ingestToEnd } from '../support/mcp-clients.js';

const JWT_SECRET = 'test-jwt-secret-that-is-at-least-32-bytes-long';

function supabaseToken(sub: string, secret = JWT_SECRET) {
  return new SignJWT({ role: 'authenticated', email: 'user@example.com' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
}

async function post(url: string, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  const json = res.headers.get('content-type')?.startsWith('application/json');
  const body = (json ? await res.json() : { text: await res.text() }) as Record<string, unknown>;
  return { status: res.status, body, auth: res.headers.get('www-authenticate') };
}

describe('MCP over Streamable HTTP', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let apiKey: string;

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0', SUPABASE_JWT_SECRET: JWT_SECRET }));
    apiKey = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'http-test', apiKey);
    http = await startMcpHttp(stack, createLogger('warn'));
  });
  afterAll(async () => {
    await http?.close();
    await stack?.shutdown();
  });

  it('ingests with a valid API key', async () => {
    const mcp = await connectHttp(http.url, apiKey);
    try {
      const out = await ingestToEnd<{ emailId: string; status: string }>(mcp, {
        raw: fixture('quarterly-report.eml'),
      });
      expect(out.status).toBe('completed');
      const [row] = await stack.sql`select tenant_id, subject from public.emails where id = ${out.emailId}`;
      expect(row).toEqual({ tenant_id: stack.defaultTenant.id, subject: 'Quarterly report for Q3' });
    } finally {
      await mcp.close();
    }
  });

  it('answers 401 with a JSON error without a key, with a wrong one, or with a revoked one', async () => {
    const missing = await post(http.url, {});
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({
      error: 'unauthorized',
      message: expect.stringContaining('missing bearer token'),
    });
    expect(missing.auth).toContain('Bearer');

    const wrong = await post(http.url, { authorization: `Bearer ${generateApiKey()}` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('invalid or revoked API key');

    expect((await post(http.url, { authorization: 'Basic dXNlcjpwYXNz' })).status).toBe(401);
    expect((await post(http.url, { authorization: 'Bearer not-a-token' })).status).toBe(401);

    const revoked = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'to-revoke', revoked);
    await stack.sql`update public.api_keys set revoked_at = now() where name = 'to-revoke'`;
    expect((await post(http.url, { authorization: `Bearer ${revoked}` })).status).toBe(401);

    expect((await post(http.url, { authorization: `Bearer ${apiKey}` })).status).toBe(200);
    await expect(connectHttp(http.url, 'di_wrong')).rejects.toThrow(/invalid or revoked API key/);
  });

  it('accepts a Supabase access token for members, scoped to their organizations', async () => {
    const member = randomUUID();
    await addMember(stack.sql, stack.defaultTenant.id, member, 'member');
    const elsewhere = await ensureOrganization(stack.sql, uniqueName('other'));

    const forged = await post(http.url, {
      authorization: `Bearer ${await supabaseToken(member, 'x'.repeat(40))}`,
    });
    expect(forged.status).toBe(401);
    expect(forged.body.message).toBe('invalid access token');

    const mcp = await connectHttp(http.url, await supabaseToken(member));
    try {
      const out = await ingestToEnd<{ emailId: string }>(mcp, {
        raw: fixture('no-message-id.eml'),
        tenant: stack.defaultTenant.slug,
      });
      const [row] = await stack.sql`select tenant_id from public.emails where id = ${out.emailId}`;
      expect(row!.tenant_id).toBe(stack.defaultTenant.id);
      expect(
        await callError(mcp, 'ingest_email', { raw: fixture('no-message-id.eml'), tenant: elsewhere.slug }),
      ).toBe(`Forbidden: tenant "${elsewhere.slug}" is not one this identity can act for`);
    } finally {
      await mcp.close();
    }
  });
});
