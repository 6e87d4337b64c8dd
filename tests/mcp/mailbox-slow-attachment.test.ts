/**
 * One stuck attachment never holds up the rest of a mailbox import (issue 14, item 4), over MCP against
 * the Supabase Storage stand-in: the upload of the first message's attachment is parked by the stand-in,
 * and meanwhile every message of both chunks is stored and every raw message archived. Once storage
 * answers again the run uploads it and reports nothing missing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import { toMboxEntry } from '../../core/mbox.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv } from '../support/harness.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';
import { type StorageStandIn, startStorageStandIn } from '../support/storage-stand-in.js';

const MESSAGES = 10;

function message(n: number): string {
  const attachment =
    n === 0
      ? 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n' +
        '--b\nContent-Type: text/plain; name="slow.txt"\nContent-Disposition: attachment; filename="slow.txt"\n\n' +
        'the slow attachment\n--b--\n'
      : `\nbody ${n}\n`;
  return toMboxEntry(
    `From: ann@example.com\nSubject: slow ${n}\nMessage-ID: <slow-${n}@slow.test>\n` +
      'Date: Mon, 2 Nov 2026 10:00:00 +0000\n' +
      attachment,
  );
}

describe('a stuck attachment in a mailbox import', () => {
  let standIn: StorageStandIn;
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;

  beforeAll(async () => {
    standIn = await startStorageStandIn();
    stack = await startTestStack(
      testEnv({
        MCP_HTTP_PORT: '0',
        SUPABASE_URL: standIn.url,
        SUPABASE_SERVICE_ROLE_KEY: standIn.serviceKey,
        MAILBOX_CHUNK_MESSAGES: '5',
        AI_ANALYSIS_ON_INGEST: 'false',
      }),
    );
    http = await startMcpHttp(stack, createLogger('error'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'slow', key);
    mcp = await connectHttp(http.url, key);
  }, 120_000);
  afterAll(async () => {
    await mcp?.close();
    await http?.close();
    await stack?.shutdown();
    await standIn?.close();
  });

  it('holds up neither the rest of its chunk nor the next chunk', { timeout: 180_000 }, async () => {
    const folder = tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug);
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      path.join(folder, 'slow.mbox'),
      Array.from({ length: MESSAGES }, (_, n) => message(n)).join(''),
    );
    let release!: () => void;
    standIn.inject({
      route: 'object-upload',
      bucket: 'attachments',
      hold: new Promise<void>((r) => {
        release = r;
      }),
    });

    const started = await callOk<{ workflowId: string }>(mcp, 'ingest_mailbox', {
      path: 'slow.mbox',
      wait: false,
    });
    const tenant = stack.defaultTenant.id;
    // While the attachment's upload is parked: both chunks stored, every raw message archived.
    let seen = { emails: 0, raw: 0 };
    for (let i = 0; i < 600 && seen.raw < MESSAGES; i++) {
      await new Promise((r) => setTimeout(r, 200));
      [seen] = (await stack.sql`
        select count(*)::int as emails, count(raw_file_id)::int as raw
        from public.emails where tenant_id = ${tenant}`) as unknown as [typeof seen];
    }
    expect(seen).toEqual({ emails: MESSAGES, raw: MESSAGES });
    const [attachment] = await stack.sql`
      select a.status from public.email_attachments a join public.emails e on e.id = a.email_id
      where e.tenant_id = ${tenant}`;
    expect(attachment).toEqual({ status: 'pending' });
    expect((await stack.client.workflow.getHandle(started.workflowId).describe()).status.name).toBe(
      'RUNNING',
    );

    release();
    const report = (await stack.client.workflow.getHandle(started.workflowId).result()) as Record<
      string,
      number
    >;
    expect(report).toMatchObject({
      scanned: MESSAGES,
      stored: MESSAGES,
      failed: 0,
      rawNotArchived: 0,
      attachmentsFailed: 0,
      attachmentsPending: 0,
    });
  });
});
