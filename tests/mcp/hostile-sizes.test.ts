/**
 * Hostile sizes lose nothing: a message whose From, Message-ID and Subject are thousands of characters
 * long is stored and fully processed, its run's search attributes and summary fit Temporal's limits
 * (long equality-searched values are hashed, and a search by the hash finds the run), and a run that
 * cannot start leaves a row in ingest_failures and a typed error.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import type { Sql } from '../../supabase/db.js';
import { findTenant } from '../../supabase/tenants.js';
import { EmailFrom, IngestStatus, MessageId, TenantId, ThreadId } from '../../workflows/search-attributes.js';
import { testDb, testEnv } from '../support/harness.js';
import { callError, connectStdio, ingestToEnd } from '../support/mcp-clients.js';
import { useStdioStack } from '../support/stdio-stack.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
/** Whether `text` has no lone surrogate (a cut that split a pair leaves one). */
const wellFormed = (text: string) => Buffer.from(text, 'utf8').toString('utf8') === text;

const FROM = `${'a'.repeat(2988)}@example.com`;
const MESSAGE_ID = `${'m'.repeat(2988)}@example.com`;
// Emoji are surrogate pairs: a cut by UTF-16 units would split one.
const SUBJECT = `Report ${'📈'.repeat(1500)}`;

function hostileMessage(): string {
  return [
    `From: Mallory <${FROM}>`,
    'To: bob@example.org',
    `Subject: ${SUBJECT}`,
    `Message-ID: <${MESSAGE_ID}>`,
    'Date: Tue, 17 Nov 2026 08:30:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Numbers attached.',
    '--b1',
    'Content-Type: text/csv; name="numbers.csv"',
    'Content-Disposition: attachment; filename="numbers.csv"',
    '',
    'quarter,revenue',
    'q3,112',
    '--b1--',
    '',
  ].join('\r\n');
}

interface IngestOut {
  workflowId: string;
  runId: string;
  status: string;
  emailId?: string;
  created?: boolean;
  attachments?: { status: string }[];
  rawMessage?: { status: string };
  analysisWorkflowId?: string | null;
}

/** Visibility is eventually consistent: list until the query finds something, or give up. */
async function listIds(client: Client, query: string): Promise<string[]> {
  for (let i = 0; i < 80; i++) {
    const ids: string[] = [];
    for await (const run of client.workflow.list({ query })) ids.push(run.workflowId);
    if (ids.length > 0) return ids;
    await new Promise((r) => setTimeout(r, 250));
  }
  return [];
}

describe('a message with a 3,000-character From, Message-ID and Subject', () => {
  // The size rules of clear values; keyed hashes (the default on a shared Temporal) are fixed-size.
  const t = useStdioStack(() => testEnv({ TEMPORAL_CLEAR_SEARCH_ATTRIBUTES: 'true' }));

  it('is stored and fully processed, with bounded and searchable attributes', async () => {
    const out = await ingestToEnd<IngestOut>(t.mcp, { raw: hostileMessage() });
    expect(out.status).toBe('completed');
    expect(out.created).toBe(true);
    expect(out.attachments).toEqual([expect.objectContaining({ status: 'stored' })]);
    expect(out.rawMessage).toEqual({ status: 'stored' });
    expect(out.analysisWorkflowId).toBeTruthy();
    // The analysis child runs to its end too.
    await t.stack.client.workflow.getHandle(out.analysisWorkflowId!).result();

    const [row] = await t.sql`
      select from_address, message_id, subject, thread_id, raw_file_id
      from public.emails where id = ${out.emailId!}`;
    expect(row).toMatchObject({ from_address: FROM, message_id: MESSAGE_ID, subject: SUBJECT });
    expect(row!.raw_file_id).not.toBeNull();
    const threadId = row!.thread_id as string;
    expect(threadId.length).toBeGreaterThan(3000);

    // The documented rule: over 256 bytes, `sha256:` and the hex SHA-256 of the value's UTF-8.
    const description = await t.stack.client.workflow.getHandle(out.workflowId, out.runId).describe();
    const attrs = description.typedSearchAttributes;
    expect(attrs.get(TenantId)).toBe(t.tenantId);
    expect(attrs.get(EmailFrom)).toBe(`sha256:${sha256(FROM)}`);
    expect(attrs.get(MessageId)).toBe(`sha256:${sha256(MESSAGE_ID)}`);
    expect(attrs.get(ThreadId)).toBe(`sha256:${sha256(threadId)}`);
    expect(attrs.get(IngestStatus)).toBe('stored');
    const total = [TenantId, EmailFrom, MessageId, ThreadId, IngestStatus]
      .map((key) => bytes(String(attrs.get(key))))
      .reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(1024);

    const summary = (await description.staticSummary())!;
    expect(summary.startsWith(`Ingest "Report 📈📈`)).toBe(true);
    expect(summary.endsWith('…')).toBe(true);
    expect(bytes(JSON.stringify(summary))).toBeLessThanOrEqual(350);
    expect(wellFormed(summary)).toBe(true);
    const details = (await description.staticDetails())!;
    expect(details).toContain(`Message-ID: \`${MESSAGE_ID}\``);

    // An operator finds the run by the hash of the value they have.
    for (const query of [
      `EmailFrom = "sha256:${sha256(FROM)}"`,
      `MessageId = "sha256:${sha256(MESSAGE_ID)}"`,
      `ThreadId = "sha256:${sha256(threadId)}"`,
    ]) {
      expect(await listIds(t.stack.client, `${query} AND TenantId = "${t.tenantId}"`)).toEqual([
        out.workflowId,
      ]);
    }
  });
});

describe('a run that cannot start', () => {
  let mcp: McpClient;
  let sql: Sql;
  let tenantId: string;
  let proxy: net.Server;
  const sockets = new Set<net.Socket>();

  beforeAll(async () => {
    // The MCP server reaches Temporal through this proxy; closing it is Temporal going away.
    const [host, port] = inject('temporalAddress').split(':') as [string, string];
    proxy = net.createServer((socket) => {
      const upstream = net.connect(Number(port), host);
      sockets.add(socket).add(upstream);
      socket.pipe(upstream).pipe(socket);
      const drop = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address() as net.AddressInfo;
    const env = testEnv({
      TEMPORAL_ADDRESS: `127.0.0.1:${address.port}`,
      TEMPORAL_CALL_TIMEOUT_SECONDS: '3',
    });
    mcp = await connectStdio(env);
    sql = testDb();
    tenantId = (await findTenant(sql, loadConfig(env).tenant))!.id;
    await new Promise<void>((resolve) => {
      proxy.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  });
  afterAll(async () => {
    await mcp?.close();
    await sql?.end();
  });

  it('ingest_email: records the message in ingest_failures and says Temporal is unavailable', async () => {
    const raw = 'From: alice@example.com\r\nSubject: while Temporal is down\r\n\r\nHello\r\n';
    expect(await callError(mcp, 'ingest_email', { raw })).toBe(
      'TemporalUnavailable: the Temporal service cannot be reached (failed to start workflow); try again in a moment',
    );
    const rawSha256 = sha256(raw);
    const failures = await sql`
      select reason, detail from public.ingest_failures where tenant_id = ${tenantId} and sha256 = ${rawSha256}`;
    expect(failures).toEqual([
      {
        reason: 'TemporalUnavailable',
        detail: 'the Temporal service cannot be reached (failed to start workflow); try again in a moment',
      },
    ]);
    // The message itself is still staged, for the retry.
    const [staged] = await sql`
      select count(*)::int as n from public.staged_content where tenant_id = ${tenantId} and sha256 = ${rawSha256}`;
    expect(staged).toEqual({ n: 1 });
  });

  it('ingest_mailbox: records the mailbox in ingest_failures and says Temporal is unavailable', async () => {
    const mbox =
      'From alice@example.com Tue Nov 17 08:30:00 2026\nFrom: alice@example.com\nSubject: hi\n\nHello\n';
    expect(
      await callError(mcp, 'ingest_mailbox', { content: Buffer.from(mbox).toString('base64'), wait: false }),
    ).toBe(
      'TemporalUnavailable: the Temporal service cannot be reached (failed to start workflow); try again in a moment',
    );
    const failures = await sql`
      select reason from public.ingest_failures where tenant_id = ${tenantId} and sha256 = ${sha256(mbox)}`;
    expect(failures).toEqual([{ reason: 'TemporalUnavailable' }]);
  });

  it('get_workflow: says Temporal is unavailable (TEMPORAL_CALL_TIMEOUT_SECONDS), not a ServiceError', async () => {
    const text = await callError(mcp, 'get_workflow', { workflowId: `email/${tenantId}/${'0'.repeat(64)}` });
    expect(text).toMatch(
      /^TemporalUnavailable: the Temporal service cannot be reached \(.+\); try again in a moment$/,
    );
  });
});
