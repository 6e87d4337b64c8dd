/**
 * Every failure a tool documents, driven for real and read the way a caller reads it: through a real
 * MCP client over stdio and over Streamable HTTP, asserting the exact `Type: message` text. The runs
 * fail on the worker's side (a worker configured with other limits and another import directory than
 * the MCP server, the storage stand-in answering 413 and 403, the LLM stand-in answering 401 with the
 * API key echoed, 400, and invalid output), which is where `[object Object]` used to come from.
 *
 * The API key must appear in no tool result, no event of the run's history and no log line of the MCP
 * server or the worker.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { fixture, spawnWorker, startTestStack, testEnv } from '../support/harness.js';
import { type LlmStandIn, reply, standInEnv, startLlmStandIn } from '../support/llm-stand-in.js';
import { callOk, connectHttp, connectStdio, textOf } from '../support/mcp-clients.js';
import { type StorageStandIn, startStorageStandIn } from '../support/storage-stand-in.js';

/** Not `sk-`-shaped, so only the configured-secret registry can catch it. */
const API_KEY = 'stand-in-provider-key-7f3a9c1e5b';

describe('failures reach the caller as "Type: message", over stdio and HTTP', () => {
  let llm: LlmStandIn;
  let storage: StorageStandIn;
  let stack: Stack;
  let http: RunningHttpServer;
  let worker: import('node:child_process').ChildProcess;
  let clients: [string, McpClient][];
  const logs: string[] = [];
  const mcpImportDir = mkdtempSync(path.join(os.tmpdir(), 'door-import-'));

  beforeAll(async () => {
    llm = await startLlmStandIn();
    storage = await startStorageStandIn();
    storage.buckets.add('door-files');
    const shared = testEnv({
      ...standInEnv(llm, { AI_API_KEY: API_KEY, AI_ANALYSIS_ON_INGEST: 'false' }),
      SUPABASE_URL: storage.url,
      SUPABASE_SERVICE_ROLE_KEY: storage.serviceKey,
      MCP_HTTP_PORT: '0',
    });
    // The MCP side: default limits, an import directory holding the mailbox.
    const mcpEnv = { ...shared, DURABLE_INBOX_IMPORT_DIR: mcpImportDir };
    mkdirSync(path.join(mcpImportDir, shared.DURABLE_INBOX_TENANT!));
    writeFileSync(
      path.join(mcpImportDir, shared.DURABLE_INBOX_TENANT!, 'export.mbox'),
      `From a@example.com Mon Nov 16 09:00:00 2026\n${fixture('quarterly-report.eml')}\n`,
    );
    // The worker: tighter header limit, and an import directory without that file.
    const workerEnv = {
      ...shared,
      MAX_HEADER_BYTES: '200',
      DURABLE_INBOX_IMPORT_DIR: mkdtempSync(path.join(os.tmpdir(), 'door-worker-import-')),
      LOG_LEVEL: 'info',
    };
    worker = await spawnWorker(workerEnv, (text) => logs.push(text));

    stack = await startTestStack(mcpEnv, false);
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'door', key, 'admin');
    const httpLog = createLogger('info');
    http = await startMcpHttp(stack, {
      ...httpLog,
      error: (msg, fields) => {
        logs.push(JSON.stringify({ msg, fields }));
        httpLog.error(msg, fields);
      },
    });
    clients = [
      ['stdio', await connectStdio({ ...mcpEnv, LOG_LEVEL: 'info' }, (text) => logs.push(text))],
      ['http', await connectHttp(http.url, key)],
    ];
  });
  afterAll(async () => {
    for (const [, c] of clients ?? []) await c.close();
    await http?.close();
    await stack?.shutdown();
    worker?.kill('SIGTERM');
    await llm?.close();
    await storage?.close();
  });

  async function errorText(client: McpClient, name: string, args: Record<string, unknown>) {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    expect(result.isError, `${name} should fail: ${textOf(result)}`).toBe(true);
    const text = textOf(result);
    expect(text).not.toMatch(/\[object Object\]|\n\s+at |select |insert into/i);
    expect(text).not.toContain(API_KEY);
    return text;
  }

  it('ingest_email: the worker refuses what the server accepted (HeadersTooLarge)', async () => {
    for (const [transport, mcp] of clients) {
      const raw = fixture('quarterly-report.eml').replace(/^Subject: .*$/m, `Subject: via ${transport}`);
      expect(await errorText(mcp, 'ingest_email', { raw }), transport).toMatch(
        /^HeadersTooLarge: .*header size.* \(MAX_HEADER_BYTES\)$/i,
      );
    }
  });

  it('ingest_mailbox: the file is gone from where the worker reads (NotFound)', async () => {
    for (const [transport, mcp] of clients) {
      expect(await errorText(mcp, 'ingest_mailbox', { path: 'export.mbox' }), transport).toBe(
        'NotFound: no file "export.mbox" in your import folder',
      );
    }
  });

  it('upload_file: storage answers 413 (EntityTooLarge) and 403 (AccessDenied)', async () => {
    for (const [transport, mcp] of clients) {
      storage.inject({
        route: 'object-upload',
        status: 400,
        body: {
          statusCode: '413',
          error: 'Payload too large',
          message: 'The object exceeded the maximum allowed size',
          code: 'EntityTooLarge',
        },
      });
      const big = Buffer.from(`large ${transport}`).toString('base64');
      expect(
        await errorText(mcp, 'upload_file', { bucket: 'door-files', filename: 'big.bin', content: big }),
      ).toBe('EntityTooLarge: The object exceeded the maximum allowed size');
      storage.inject({
        route: 'object-upload',
        status: 400,
        body: {
          statusCode: '403',
          error: 'Unauthorized',
          message: 'new row violates row-level security policy',
          code: 'AccessDenied',
        },
      });
      const denied = Buffer.from(`denied ${transport}`).toString('base64');
      expect(
        await errorText(mcp, 'upload_file', { bucket: 'door-files', filename: 'd.bin', content: denied }),
      ).toBe('AccessDenied: new row violates row-level security policy');
    }
  });

  it('analyze_email: 401 with the key echoed, 400, and invalid output twice', async () => {
    for (const [transport, mcp] of clients) {
      // Small enough for the worker's 200-byte header cap; one email per transport.
      const small = `From: a@example.com\r\nMessage-ID: <small-${transport}@x>\r\n\r\nHello ${transport}\r\n`;
      const { emailId } = await callOk<{ emailId: string }>(mcp, 'ingest_email', { raw: small });

      llm.script(reply.unauthorizedEcho());
      const auth = await errorText(mcp, 'analyze_email', { emailId });
      expect(auth).toMatch(
        /^ProviderAuth: openai-compatible refused the API key \(401\): Incorrect API key provided: /,
      );
      expect(auth).toContain('Check AI_API_KEY.');
      expect(llm.calls.at(-1)?.authorization).toBe(`Bearer ${API_KEY}`);

      llm.script(reply.badRequest());
      expect(await errorText(mcp, 'analyze_email', { emailId, force: true })).toBe(
        "ProviderBadRequest: openai-compatible rejected the request (400): Invalid value for 'temperature'",
      );

      llm.script(reply.invalidSchema(), reply.invalidSchema());
      expect(await errorText(mcp, 'analyze_email', { emailId, force: true })).toMatch(
        /^InvalidModelOutput: openai-compatible\/stand-in-1 gave an invalid analysis twice: category: /,
      );
    }
  });

  it('the API key is in no run history and no log line', async () => {
    const histories: string[] = [];
    for await (const run of stack.client.workflow.list({
      query: `TenantId = '${stack.defaultTenant.id}' AND WorkflowType = 'analyzeEmailWorkflow'`,
    })) {
      const history = await stack.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      histories.push(JSON.stringify(history));
    }
    // Three runs per transport: 401, 400, invalid output.
    expect(histories).toHaveLength(6);
    expect(histories.filter((h) => h.includes('"type":"ProviderAuth"'))).toHaveLength(2);
    for (const h of histories) expect(h).not.toContain(API_KEY);
    const all = logs.join('\n');
    expect(all).toContain('[redacted]');
    expect(all).not.toContain(API_KEY);
  });

  it('bad text, bad arguments and unknown tools are refused in the same words', async () => {
    for (const [transport, mcp] of clients) {
      expect(await errorText(mcp, 'search_emails', { query: 'inv\u0000oice' }), transport).toBe(
        'InvalidInput: query contains a NUL character or invalid Unicode; text arguments must be well-formed ' +
          'text without NUL (send binary content base64-encoded)',
      );
      expect(await errorText(mcp, 'search_emails', { query: 'x', tenant: 'a\u0000b' })).toMatch(
        /^InvalidInput: tenant contains a NUL character/,
      );
      expect(await errorText(mcp, 'search_emails', { query: 'half \ud800 surrogate' })).toMatch(
        /^InvalidInput: query contains a NUL character or invalid Unicode/,
      );
      expect(await errorText(mcp, 'search_emails', { query: 'x', limit: 500 })).toMatch(
        /^InvalidInput: invalid arguments for search_emails: .*limit/,
      );
      expect(await errorText(mcp, 'no_such_tool', {})).toBe(
        'NotFound: there is no tool "no_such_tool": see tools/list',
      );
    }
  });
});
