/**
 * Retention covers inbound mail's ledger and the webhook tokens, and the runs that end without a table
 * change still tell their subscribers (issue 16). Mail arrives through the real SMTP listener (nodemailer),
 * an mbox through ingest_mailbox, all over MCP as an admin of the operator organization:
 *  - inbound_messages rows whose run started longer ago than RETENTION_INBOUND_DAYS go, a recent one and
 *    one whose run never started (the recovery sweep's) stay; webhook tokens older than
 *    RETENTION_WEBHOOK_TOKENS_DAYS go; the report counts both; the dry run deletes nothing;
 *  - `retention.completed` is recorded once per run, `mailbox.imported` once per import, with figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import type { RunningSmtpServer } from '../../mcp/smtp.js';
import { rememberWebhookToken } from '../../supabase/inbound.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startSmtp } from '../../workers/inbound-entry.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import type { RetentionReport } from '../../workflows/retention-rollup.contract.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { message, smtpClient, waitForEmails } from '../support/inbound.js';
import { generateMailbox } from '../support/mbox.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';
import { privateDatabase } from '../support/private-db.js';

interface RunOut {
  workflowId: string;
  report: RetentionReport;
}

describe('retention of inbound mail, and the events runs record at their end', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let smtp: RunningSmtpServer;
  let admin: McpClient;
  let tenant: string;
  const events = (type: string) =>
    stack.sql<{ subject_id: string; payload: Record<string, unknown> }[]>`
      select subject_id, payload from public.events where tenant_id = ${tenant} and type = ${type} order by id`;

  beforeAll(async () => {
    stack = await startTestStack(
      testEnv({
        DATABASE_URL: await privateDatabase('retention_inbound'),
        MCP_HTTP_PORT: '0',
        AI_ANALYSIS_ON_INGEST: 'false',
        RETENTION_INBOUND_DAYS: '3',
        RETENTION_WEBHOOK_TOKENS_DAYS: '1',
      }),
    );
    tenant = stack.defaultTenant.id;
    http = await startMcpHttp(stack, createLogger('warn'));
    smtp = await startSmtp(stack, createLogger('warn'), 0);
    const key = generateApiKey();
    await registerApiKey(stack.sql, tenant, uniqueName('admin'), key, 'admin');
    admin = await connectHttp(http.url, key);
  }, 120_000);

  afterAll(async () => {
    await admin?.close();
    await smtp?.close();
    await http?.close();
    await stack?.shutdown();
  });

  it('purges started inbound rows and old tokens past their windows, keeps the rest, reports both', {
    timeout: 180_000,
  }, async () => {
    const { sql } = stack;
    const to = `inbox@${stack.defaultTenant.slug}.localhost`;
    const sender = smtpClient(smtp.port);
    for (const id of ['ret-old', 'ret-recent', 'ret-never']) {
      await sender.sendMail({ envelope: { from: 'a@remote.example', to: [to] }, raw: message(id, { to }) });
    }
    sender.close();
    await waitForEmails(sql, tenant, 'ret-', 3);
    const ledger = await sql<{ id: string; message_id: string }[]>`
      select i.id::text, e.message_id from public.inbound_messages i
      join public.emails e on e.tenant_id = i.tenant_id and e.dedup_key = i.dedup_key
      where i.tenant_id = ${tenant} and i.started_at is not null order by e.message_id`;
    const idOf = Object.fromEntries(ledger.map((r) => [r.message_id.replace(/@.*/, ''), r.id]));
    expect(Object.keys(idOf).sort()).toEqual(['ret-never', 'ret-old', 'ret-recent']);
    // Started 5 days ago; received 10 days ago and never started (the recovery sweep's, whatever its age).
    await sql`update public.inbound_messages set started_at = now() - interval '5 days' where id = ${idOf['ret-old']!}`;
    await sql`
      update public.inbound_messages set started_at = null, received_at = now() - interval '10 days'
      where id = ${idOf['ret-never']!}`;
    await rememberWebhookToken(sql, 'mailgun', 'token-old', 'a'.repeat(64));
    await rememberWebhookToken(sql, 'mailgun', 'token-new', 'b'.repeat(64));
    await sql`update public.inbound_webhook_tokens set seen_at = now() - interval '2 days' where token = 'token-old'`;

    const dry = await callOk<RunOut>(admin, 'retention_run_now', { scope: 'all', dryRun: true, wait: true });
    expect(dry.report.purged.inbound_messages).toMatchObject({ rows: 1 });
    expect(dry.report.purged.inbound_webhook_tokens).toMatchObject({ rows: 1 });
    expect(await sql`select 1 from public.inbound_messages where tenant_id = ${tenant}`).toHaveLength(3);

    const run = await callOk<RunOut>(admin, 'retention_run_now', { scope: 'all', wait: true });
    expect(run.report.purged.inbound_messages).toMatchObject({ rows: 1 });
    expect(run.report.purged.inbound_webhook_tokens).toMatchObject({ rows: 1 });
    const left = await sql<{ id: string }[]>`
      select id::text from public.inbound_messages where tenant_id = ${tenant} order by id`;
    expect(left.map((r) => r.id).sort()).toEqual([idOf['ret-recent']!, idOf['ret-never']!].sort());
    const tokens = await sql<{ token: string }[]>`select token from public.inbound_webhook_tokens`;
    expect(tokens.map((t) => t.token)).toEqual(['token-new']);

    // Each run told the operator organization it finished, once, with its figures.
    const completed = await events('retention.completed');
    expect(completed.map((e) => [e.subject_id, e.payload.dryRun])).toEqual([
      [dry.workflowId, true],
      [run.workflowId, false],
    ]);
    expect(completed[1]!.payload).toMatchObject({
      scope: 'all',
      purged: expect.objectContaining({ inbound_messages: 1, inbound_webhook_tokens: 1 }),
    });
  });

  it('a tenant-scoped run purges its own inbound rows and never the shared tokens', async () => {
    const { sql } = stack;
    await rememberWebhookToken(sql, 'mailgun', 'token-tenant-run', 'c'.repeat(64));
    await sql`update public.inbound_webhook_tokens set seen_at = now() - interval '2 days'`;
    const run = await callOk<RunOut>(admin, 'retention_run_now', { wait: true });
    expect(run.report.scope).toBe(tenant);
    expect(run.report.purged.inbound_webhook_tokens).toBeUndefined();
    expect(run.report.purged.inbound_messages).toMatchObject({ rows: 0 });
    expect(await sql`select 1 from public.inbound_webhook_tokens`).toHaveLength(2);
    expect((await events('retention.completed')).at(-1)).toMatchObject({
      subject_id: run.workflowId,
      payload: expect.objectContaining({ scope: tenant, dryRun: false }),
    });
  });

  it('ingest_mailbox records mailbox.imported once, with its counts', { timeout: 180_000 }, async () => {
    const generated = generateMailbox(40, 0.05, 0.1, 'imported-event');
    const dir = tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'events.mbox'), generated.mbox);
    const out = await callOk<{ workflowId: string; report: Record<string, number> }>(
      admin,
      'ingest_mailbox',
      { path: 'events.mbox', wait: true },
    );
    const imported = await events('mailbox.imported');
    expect(imported).toHaveLength(1);
    expect(imported[0]!.payload).toMatchObject({
      workflowId: out.workflowId,
      status: 'imported-with-failures',
      scanned: 40,
      stored: out.report.stored,
      duplicates: out.report.duplicates,
      failed: out.report.failed,
    });
    expect(out.report.failed).toBeGreaterThan(0);
  });
});
