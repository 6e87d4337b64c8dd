/**
 * The setup most MCP test files share: a stack with its worker, and a spawned stdio MCP server talking
 * to it, both stopped after the file. The returned object is filled in by beforeAll.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll } from 'vitest';
import type { Sql } from '../../supabase/db.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testDb, testEnv } from './harness.js';
import { connectStdio } from './mcp-clients.js';

export interface StdioStack {
  env: Record<string, string>;
  stack: Stack;
  mcp: McpClient;
  sql: Sql;
  tenantId: string;
}

export function useStdioStack(
  makeEnv: () => Record<string, string> | Promise<Record<string, string>> = () => testEnv(),
): StdioStack {
  const t = {} as StdioStack;
  beforeAll(async () => {
    t.env = await makeEnv();
    t.stack = await startTestStack(t.env);
    t.tenantId = t.stack.defaultTenant.id;
    t.mcp = await connectStdio(t.env);
    t.sql = testDb();
  });
  afterAll(async () => {
    await t.mcp?.close();
    await t.stack?.shutdown();
    await t.sql?.end();
  });
  return t;
}
