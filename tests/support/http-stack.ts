/**
 * The setup of test files that call tools as an API-key holder over Streamable HTTP: a stack with its
 * worker, the HTTP entry on a free port, and a connected MCP client with a key of the given role. The
 * returned object is filled in by beforeAll and everything is stopped after the file.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import type { MemberRole } from '../../supabase/tenants.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv, uniqueName } from './harness.js';
import { connectHttp } from './mcp-clients.js';

export interface HttpStack {
  stack: Stack;
  http: RunningHttpServer;
  mcp: McpClient;
}

export function useHttpStack(
  role: Exclude<MemberRole, 'owner'> = 'member',
  env: Record<string, string> = {},
): HttpStack {
  const t = {} as HttpStack;
  beforeAll(async () => {
    t.stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0', ...env }));
    t.http = await startMcpHttp(t.stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(t.stack.sql, t.stack.defaultTenant.id, uniqueName('key'), key, role);
    t.mcp = await connectHttp(t.http.url, key);
  });
  afterAll(async () => {
    await t.mcp?.close();
    await t.http?.close();
    await t.stack?.shutdown();
  });
  return t;
}
