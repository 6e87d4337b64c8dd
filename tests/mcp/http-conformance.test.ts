/**
 * The MCP conformance suite (@modelcontextprotocol/conformance 0.1.16) against the real Streamable HTTP
 * entry, for the server scenarios that apply: initialize, ping, tools/list, a failing tool call, DNS
 * rebinding protection and the resources scenarios (those needing the suite's fixtures are expected failures). The suite's client cannot send a bearer token, so
 * the test puts a plain forwarding proxy in front that adds one, the way a configured MCP client would;
 * it passes every other header (Host, Origin) through untouched, so the server sees what the suite sent.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { type ConformanceTool, ensureConformance } from '../support/conformance.js';
import { startTestStack, testEnv } from '../support/harness.js';

const SCENARIOS = [
  'server-initialize',
  'ping',
  'tools-list',
  'tools-call-error',
  'dns-rebinding-protection',
  'resources-list',
  'resources-read-text',
  'resources-read-binary',
  'resources-templates-read',
  'resources-subscribe',
  'resources-unsubscribe',
];
const EXPECTED_FAILURES = path.resolve('tests/mcp/conformance-expected-failures.yml');

/** Forward every request to `target`, adding the Authorization header; nothing else changes. */
async function authProxy(target: string, authorization: string): Promise<{ url: string; close(): void }> {
  const upstream = new URL(target);
  const proxy = http.createServer((req, res) => {
    const forwarded = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    close: () => {
      proxy.close();
      proxy.closeAllConnections();
    },
  };
}

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO';
  errorMessage?: string;
}

describe('MCP conformance suite against the HTTP entry', () => {
  let stack: Stack;
  let server: RunningHttpServer;
  let proxy: { url: string; close(): void };
  let tool: ConformanceTool;

  beforeAll(async () => {
    tool = await ensureConformance();
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0' }), false);
    server = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'conformance', key);
    proxy = await authProxy(server.url, `Bearer ${key}`);
  });
  afterAll(async () => {
    proxy?.close();
    await server?.close();
    await stack?.shutdown();
  });

  const expected = (parse(readFileSync(EXPECTED_FAILURES, 'utf8')) as { server: string[] }).server;

  it.each(SCENARIOS)('%s', async (scenario) => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'conformance-'));
    const args = [tool.cli, 'server', '--url', proxy.url, '--scenario', scenario];
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        tool.node,
        [...args, '--expected-failures', EXPECTED_FAILURES, '--output-dir', out],
        {
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1' },
          timeout: 50_000,
        },
        (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
      );
    });
    const [dir] = readdirSync(out);
    const checks = JSON.parse(readFileSync(path.join(out, dir!, 'checks.json'), 'utf8')) as Check[];
    const failed = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
    if (expected.includes(scenario)) {
      expect(failed.length, `${scenario} passes now: remove it from ${EXPECTED_FAILURES}`).toBeGreaterThan(0);
    } else {
      expect(failed, `${scenario}:\n${result.stdout}\n${result.stderr}`).toEqual([]);
      expect(checks.some((c) => c.status === 'SUCCESS')).toBe(true);
    }
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});
