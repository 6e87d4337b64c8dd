/**
 * Tokens on the HTTP entry: a Supabase access token must expire, and `api-key create` never replaces a
 * live key unless asked to (--rotate), and then says so. Checked with the real CLI and real requests.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { addMember } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { runCli, startTestStack, testEnv } from '../support/harness.js';

const JWT_SECRET = 'test-jwt-secret-that-is-at-least-32-bytes-long';

/** tools/list with this Authorization header: status, JSON body (when JSON) and headers. */
function send(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: unknown; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      const req = http.request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = res.headers['content-type']?.startsWith('application/json');
          resolve({ status: res.statusCode!, body: json ? JSON.parse(text) : text, headers: res.headers });
        });
      });
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    },
  );
}

describe('MCP over HTTP: tokens', () => {
  let stack: Stack;
  let server: RunningHttpServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    env = testEnv({ MCP_HTTP_PORT: '0', SUPABASE_JWT_SECRET: JWT_SECRET });
    stack = await startTestStack(env, false);
    server = await startMcpHttp(stack, createLogger('warn'));
  });
  afterAll(async () => {
    await server?.close();
    await stack?.shutdown();
  });

  it('refuses a Supabase access token without exp with 401', async () => {
    const member = randomUUID();
    await addMember(stack.sql, stack.defaultTenant.id, member, 'member');
    const forever = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(member)
      .setAudience('authenticated')
      .setIssuedAt()
      .sign(new TextEncoder().encode(JWT_SECRET));
    const res = await send(server.url, { authorization: `Bearer ${forever}` });
    expect(res).toMatchObject({
      status: 401,
      body: {
        error: 'unauthorized',
        message: 'access token has no expiry (exp): only expiring access tokens are accepted',
      },
    });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="durable-inbox"');
  });

  it('api-key create never replaces a live key unless --rotate, and then says so', async () => {
    const statusWith = async (key: string) =>
      (await send(server.url, { authorization: `Bearer ${key}` })).status;
    const first = await runCli(['api-key', 'create', 'deploy-bot'], env);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const firstKey = first.stdout.trim();
    expect(await statusWith(firstKey)).toBe(200);

    const again = await runCli(['api-key', 'create', 'deploy-bot'], env);
    expect(again).toEqual({
      code: 2,
      stdout: '',
      stderr: `durable-inbox: an API key named "deploy-bot" already exists for ${stack.defaultTenant.slug}: pass --rotate to replace it (the old key stops working), or choose another name\n`,
    });
    expect(await statusWith(firstKey)).toBe(200);

    const rotated = await runCli(['api-key', 'create', 'deploy-bot', '--rotate'], env);
    expect(rotated.code).toBe(0);
    expect(rotated.stderr).toMatch(
      new RegExp(
        `^revoked the previous key "deploy-bot" of ${stack.defaultTenant.slug} \\(created \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\): it no longer works\\n$`,
      ),
    );
    const secondKey = rotated.stdout.trim();
    expect(secondKey).toMatch(/^di_[\w-]{43}$/);
    expect(await statusWith(firstKey)).toBe(401);
    expect(await statusWith(secondKey)).toBe(200);
  });
});
