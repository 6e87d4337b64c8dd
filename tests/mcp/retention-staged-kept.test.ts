/**
 * Staged bytes that are still the only copy survive their retention (issue 14). Four emails with one
 * attachment each and one upload are ingested over MCP into real files, then the rows are put in the
 * states a fault leaves (an email whose raw message was never archived, an attachment that failed, an
 * upload still pending) and every staged row is back-dated past RETENTION_STAGED_CONTENT_DAYS.
 * retention_run_now keeps exactly the rows something still needs, purges the rest, and its report counts
 * the kept rows per reason; the dry run reports the same and deletes nothing.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import type { RetentionReport } from '../../workflows/retention-rollup.contract.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { callOk, connectHttp, ingestToEnd } from '../support/mcp-clients.js';
import { privateDatabase } from '../support/private-db.js';

function email(id: string): string {
  return (
    `From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: ${id}\r\nMessage-ID: <${id}@staged.test>\r\n` +
    `Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n` +
    `--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n` +
    `--b\r\nContent-Type: text/plain; name="${id}.txt"\r\nContent-Disposition: attachment; filename="${id}.txt"\r\n\r\n` +
    `attachment of ${id}\r\n--b--\r\n`
  );
}

interface RunOut {
  report: RetentionReport;
}

describe('staged content retention keeps the only copies', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let admin: McpClient;
  let tenant: string;
  const emailIds: Record<string, string> = {};
  const staged = () =>
    stack.sql<{ sha256: string }[]>`select sha256 from public.staged_content where tenant_id = ${tenant}`;

  beforeAll(async () => {
    stack = await startTestStack(
      testEnv({
        DATABASE_URL: await privateDatabase('retention_staged'),
        MCP_HTTP_PORT: '0',
        AI_ANALYSIS_ON_INGEST: 'false',
        RETENTION_STAGED_CONTENT_DAYS: '7',
      }),
    );
    tenant = stack.defaultTenant.id;
    http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, tenant, uniqueName('admin'), key, 'admin');
    admin = await connectHttp(http.url, key);
    for (const id of ['raw-missing', 'attachment-failed', 'complete-1', 'complete-2']) {
      const out = await ingestToEnd<{ emailId: string }>(admin, { raw: email(id) });
      emailIds[id] = out.emailId;
    }
    await callOk(admin, 'upload_file', {
      bucket: 'attachments',
      filename: 'pending-upload.txt',
      content: Buffer.from('an upload that has not finished').toString('base64'),
    });
  }, 120_000);

  afterAll(async () => {
    await admin?.close();
    await http?.close();
    await stack?.shutdown();
  });

  it('keeps what is needed, purges the rest, and says why', { timeout: 120_000 }, async () => {
    const { sql } = stack;
    // The states a fault leaves behind.
    const [raw] = await sql<{ sha: string }[]>`
      update public.emails set raw_file_id = null where id = ${emailIds['raw-missing']!}
      returning raw_sha256 as sha`;
    const [attachment] = await sql<{ sha: string }[]>`
      update public.email_attachments set status = 'failed', error = 'StorageUnavailable: disk full', file_id = null
      where email_id = ${emailIds['attachment-failed']!} returning sha256 as sha`;
    const [upload] = await sql<{ sha: string }[]>`
      update public.files set status = 'pending'
      where tenant_id = ${tenant} and filename = 'pending-upload.txt' returning sha256 as sha`;
    const needed = [raw!.sha, attachment!.sha, upload!.sha].sort();
    const before = await staged();
    for (const sha of needed) expect(before.map((r) => r.sha256)).toContain(sha);
    const purgeable = before.length - needed.length;
    expect(purgeable).toBeGreaterThan(0);
    await sql`
      update public.staged_content set last_staged_at = now() - interval '30 days', created_at = now() - interval '30 days'
      where tenant_id = ${tenant}`;

    const kept = { rawNotArchived: 1, attachmentNotStored: 1, uploadNotFinished: 1 };
    const dry = await callOk<RunOut>(admin, 'retention_run_now', { dryRun: true, wait: true });
    expect(dry.report.purged.staged_content).toMatchObject({ rows: purgeable, kept });
    expect(await staged()).toHaveLength(before.length);

    const run = await callOk<RunOut>(admin, 'retention_run_now', { wait: true });
    expect(run.report.purged.staged_content).toMatchObject({ rows: purgeable, kept });
    expect((await staged()).map((r) => r.sha256).sort()).toEqual(needed);

    // Once the work is done, the bytes are no longer needed and the next run purges them.
    await sql`update public.emails set raw_file_id = (select id from public.files where tenant_id = ${tenant} and sha256 = ${raw!.sha})
              where id = ${emailIds['raw-missing']!}`;
    await sql`update public.email_attachments set status = 'stored' where email_id = ${emailIds['attachment-failed']!}`;
    await sql`update public.files set status = 'uploaded' where tenant_id = ${tenant} and sha256 = ${upload!.sha}`;
    const again = await callOk<RunOut>(admin, 'retention_run_now', { wait: true });
    expect(again.report.purged.staged_content).toMatchObject({ rows: 3, kept: {} });
    expect(await staged()).toHaveLength(0);
  });
});
