/**
 * Email retention end to end: emails with attachments ingested over MCP into real files (filesystem
 * storage), aged, then retention_run_now. A tenant with 30-day retention loses its old emails, their
 * attachment rows, their file rows and the objects on disk; a file a newer email still shares stays; a
 * file claimed moments ago waits out its grace; the raw messages of the deleted emails (bucket
 * raw-messages) go with them; another tenant without a policy keeps everything. The dry
 * run reports the same and changes nothing; only owners and admins may delete.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import type { RetentionReport } from '../../workflows/retention-rollup.contract.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { callError, callOk, connectHttp, ingestToEnd } from '../support/mcp-clients.js';
import { privateDatabase } from '../support/private-db.js';

/** A message with text attachments (name → content). */
function withAttachments(id: string, files: Record<string, string>): string {
  const parts = Object.entries(files).map(
    ([name, body]) =>
      `--b\r\nContent-Type: text/plain; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\n\r\n${body}\r\n`,
  );
  return (
    `From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: ${id}\r\nMessage-ID: <${id}@retention.test>\r\n` +
    `Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n` +
    `--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n${parts.join('')}--b--\r\n`
  );
}

interface StoredFile {
  bucket: string;
  filename: string;
  storage_path: string;
}

interface RunOut {
  workflowId: string;
  status: string;
  report: RetentionReport;
}

describe('email retention', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let adminA: McpClient;
  let memberA: McpClient;
  let adminB: McpClient;
  let tenantA: string;
  let tenantB: string;
  const ids: Record<string, string> = {};

  /** Where the filesystem backend keeps a file row's object. */
  const objectOf = (file: StoredFile) => {
    if (stack.config.storage.kind !== 'filesystem') throw new Error('the test stack uses filesystem storage');
    return path.join(stack.config.storage.root, file.bucket, file.storage_path);
  };
  const filesOf = (tenant: string) =>
    stack.sql<StoredFile[]>`
      select bucket, filename, storage_path from public.files where tenant_id = ${tenant}
      order by filename, storage_path`;
  /** The raw message file of an email (every ingested email has one). */
  const rawFileOf = async (emailId: string) => {
    const [file] = await stack.sql<StoredFile[]>`
      select f.bucket, f.filename, f.storage_path from public.emails e join public.files f on f.id = e.raw_file_id
      where e.id = ${emailId}`;
    return file!;
  };

  beforeAll(async () => {
    stack = await startTestStack(
      testEnv({
        DATABASE_URL: await privateDatabase('retention_emails'),
        MCP_HTTP_PORT: '0',
        // No analysis runs racing the deletes: this file is about retention.
        AI_ANALYSIS_ON_INGEST: 'false',
      }),
    );
    tenantA = stack.defaultTenant.id;
    tenantB = (await ensureOrganization(stack.sql, uniqueName('org-b'))).id;
    http = await startMcpHttp(stack, createLogger('warn'));
    const connect = async (tenant: string, role: 'admin' | 'member') => {
      const key = generateApiKey();
      await registerApiKey(stack.sql, tenant, uniqueName(role), key, role);
      return connectHttp(http.url, key);
    };
    adminA = await connect(tenantA, 'admin');
    memberA = await connect(tenantA, 'member');
    adminB = await connect(tenantB, 'admin');

    const ingest = async (client: McpClient, id: string, files: Record<string, string>) => {
      const out = await ingestToEnd<{ emailId: string; attachments: { status: string }[] }>(client, {
        raw: withAttachments(id, files),
      });
      expect(out.attachments.every((a) => a.status === 'stored')).toBe(true);
      ids[id] = out.emailId;
    };
    await ingest(adminA, 'a-old-1', { 'only-old.txt': 'only in an old email', 'old-pair.txt': 'old pair' });
    await ingest(adminA, 'a-old-2', { 'shared.txt': 'shared with a recent email' });
    await ingest(adminA, 'a-old-3', { 'fresh.txt': 'claimed a moment ago' });
    await ingest(adminA, 'a-recent', { 'shared.txt': 'shared with a recent email' });
    await ingest(adminB, 'b-old', { 'only-old.txt': 'only in an old email' });
    await ingest(adminB, 'b-recent', { 'b.txt': 'tenant b' });

    // Set the way a user does: the MCP tool, as an admin.
    expect(await callOk(adminA, 'email_retention_policy', { days: 30 })).toEqual({
      tenantId: tenantA,
      emailRetentionDays: 30,
      previousDays: null,
      changed: true,
    });
    // Stored 40 days ago: the emails, and the files they brought (except fresh.txt, claimed just now).
    await stack.sql`
      update public.emails set received_at = now() - interval '40 days'
      where id in ${stack.sql([ids['a-old-1']!, ids['a-old-2']!, ids['a-old-3']!, ids['b-old']!])}`;
    await stack.sql`
      update public.files set created_at = now() - interval '40 days', updated_at = now() - interval '40 days'
      where filename <> 'fresh.txt'`;
  }, 120_000);

  afterAll(async () => {
    await adminA?.close();
    await memberA?.close();
    await adminB?.close();
    await http?.close();
    await stack?.shutdown();
  });

  it('members read the email retention policy; only owners and admins change it, audited', async () => {
    expect(await callOk(memberA, 'email_retention_policy', {})).toEqual({
      tenantId: tenantA,
      emailRetentionDays: 30,
      changed: false,
    });
    expect(await callOk(adminB, 'email_retention_policy', {})).toMatchObject({ emailRetentionDays: null });
    expect(await callError(memberA, 'email_retention_policy', { days: 1 })).toMatch(
      /^Forbidden: changing the email retention policy needs the owner or admin role; this identity is member/,
    );
    expect(await callError(adminA, 'email_retention_policy', { days: 0 })).toMatch(/days must be at least 1/);
    // Setting the same value again changes nothing and writes no second audit row.
    expect(await callOk(adminA, 'email_retention_policy', { days: 30 })).toMatchObject({ changed: false });
    const audit = await stack.sql`
      select actor, detail from public.audit_log
      where tenant_id = ${tenantA} and action = 'retention.email_policy'`;
    expect(audit.map((a) => a.detail)).toEqual([{ from: null, to: 30 }]);
    const [org] =
      await stack.sql`select email_retention_days from public.organizations where id = ${tenantA}`;
    expect(org).toEqual({ email_retention_days: 30 });
  });

  it('a dry run reports what would go and changes nothing; members may not run it, not even dry', async () => {
    expect(await callError(memberA, 'retention_run_now', {})).toMatch(
      /^Forbidden: deleting data by retention policy needs the owner or admin role; this identity is member/,
    );
    expect(await callError(memberA, 'retention_run_now', { dryRun: true })).toBe(
      'Forbidden: a retention dry run needs the owner or admin role; this identity is member',
    );
    expect(await callError(adminB, 'retention_run_now', { scope: 'all', dryRun: true })).toMatch(
      /^Forbidden: a retention dry run for all tenants is for the operators/,
    );
    const dry = await callOk<RunOut>(adminA, 'retention_run_now', { dryRun: true });
    expect(dry.workflowId).toBe(`retention/${tenantA}/dry-run`);
    expect(dry.report).toMatchObject({
      dryRun: true,
      scope: tenantA,
      // Three attachment files (shared.txt stays for the recent email) and three raw messages.
      emails: { tenants: 1, emails: 3, attachments: 4, filesQueued: 6 },
    });
    const [left] = await stack.sql<{ emails: number; jobs: number }[]>`
      select (select count(*)::int from public.emails) as emails,
             (select count(*)::int from public.file_deletion_jobs) as jobs`;
    expect(left).toEqual({ emails: 6, jobs: 0 });
  });

  it('deletes the old emails of the tenant with 30-day retention and their files, on disk too; keeps the rest', async () => {
    const before = await filesOf(tenantA);
    const fileNamed = (name: string) => before.find((f) => f.filename === name)!;
    expect(before.every((f) => existsSync(objectOf(f)))).toBe(true);
    const oldRaw = await Promise.all(['a-old-1', 'a-old-2', 'a-old-3'].map((id) => rawFileOf(ids[id]!)));
    const recentRaw = await rawFileOf(ids['a-recent']!);
    const bFiles = await filesOf(tenantB);

    const run = await callOk<RunOut>(adminA, 'retention_run_now', {});
    expect(run).toMatchObject({ status: 'completed', workflowId: `retention/${tenantA}/run-now` });
    expect(run.report.emails).toMatchObject({ emails: 3, attachments: 4, filesQueued: 6 });
    expect(run.report.files).toEqual({ deleted: 5, skipped: 0, postponed: 1, failed: 0 });

    const emails = await stack.sql<{ subject: string }[]>`
      select subject from public.emails where tenant_id = ${tenantA} order by subject`;
    expect(emails.map((e) => e.subject)).toEqual(['a-recent']);
    const [orphans] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from public.email_attachments
      where email_id in ${stack.sql([ids['a-old-1']!, ids['a-old-2']!, ids['a-old-3']!])}`;
    expect(orphans!.n).toBe(0);

    // Gone: rows and objects, the old emails' raw messages included. Kept: the file a recent email
    // shares, the one claimed a moment ago, and the recent email's raw message.
    expect(await filesOf(tenantA)).toEqual([fileNamed('fresh.txt'), recentRaw, fileNamed('shared.txt')]);
    expect(existsSync(objectOf(fileNamed('only-old.txt')))).toBe(false);
    expect(existsSync(objectOf(fileNamed('old-pair.txt')))).toBe(false);
    expect(oldRaw.some((f) => existsSync(objectOf(f)))).toBe(false);
    expect(existsSync(objectOf(fileNamed('shared.txt')))).toBe(true);
    expect(existsSync(objectOf(fileNamed('fresh.txt')))).toBe(true);
    expect(existsSync(objectOf(recentRaw))).toBe(true);
    const jobs = await stack.sql<{ storage_path: string; status: string; future: boolean }[]>`
      select storage_path, status, not_before > now() as future from public.file_deletion_jobs order by storage_path`;
    expect(jobs.map((j) => [j.storage_path, j.status, j.future]).sort()).toEqual(
      [
        [fileNamed('fresh.txt').storage_path, 'queued', true],
        [fileNamed('old-pair.txt').storage_path, 'done', false],
        [fileNamed('only-old.txt').storage_path, 'done', false],
        ...oldRaw.map((f) => [f.storage_path, 'done', false]),
      ].sort(),
    );

    // The other tenant, without a policy, keeps everything, its old email and the same bytes included.
    const bEmails =
      await stack.sql`select subject from public.emails where tenant_id = ${tenantB} order by subject`;
    expect(bEmails.map((e) => e.subject)).toEqual(['b-old', 'b-recent']);
    expect(await filesOf(tenantB)).toEqual(bFiles);
    expect(bFiles.every((f) => existsSync(objectOf(f)))).toBe(true);

    const [audit] = await stack.sql`
      select actor, action, subject_id from public.audit_log where tenant_id = ${tenantA} and action = 'retention.run'`;
    expect(audit).toMatchObject({ action: 'retention.run', subject_id: `retention/${tenantA}/run-now` });
  });

  it('finishes a postponed deletion once its grace is over, even when the object is already gone', async () => {
    const [fresh] = await stack.sql<StoredFile[]>`
      select bucket, filename, storage_path from public.files where tenant_id = ${tenantA} and filename = 'fresh.txt'`;
    // Someone removed the object by hand meanwhile: a missing object counts as deleted.
    await rm(objectOf(fresh!));
    await stack.sql`
      update public.files set updated_at = now() - interval '2 hours' where storage_path = ${fresh!.storage_path}`;
    await stack.sql`
      update public.file_deletion_jobs set not_before = now() where storage_path = ${fresh!.storage_path}`;

    const run = await callOk<RunOut>(adminA, 'retention_run_now', {});
    expect(run.report.files).toEqual({ deleted: 1, skipped: 0, postponed: 0, failed: 0 });
    expect(run.report.emails.emails).toBe(0);
    expect((await filesOf(tenantA)).map((f) => f.filename)).toEqual(['message.eml', 'shared.txt']);
    const [job] = await stack.sql`
      select status, error from public.file_deletion_jobs where storage_path = ${fresh!.storage_path}`;
    expect(job).toEqual({ status: 'done', error: null });
  });

  it("never deletes a user's own upload, even when an expiring attachment has the same bytes", async () => {
    const out = await ingestToEnd<{ emailId: string }>(adminA, {
      raw: withAttachments('a-old-copy', { 'copy.txt': 'the same bytes as my own upload' }),
    });
    const [attachment] = await stack.sql<(StoredFile & { id: string })[]>`
      select f.id, f.bucket, f.filename, f.storage_path
      from public.email_attachments a join public.files f on f.id = a.file_id where a.email_id = ${out.emailId}`;
    // The user uploads exactly the attachment's bytes: content-addressed, it is the same file.
    const uploaded = await callOk<{ fileId: string }>(adminA, 'upload_file', {
      bucket: 'attachments',
      filename: 'mine.txt',
      content: (await readFile(objectOf(attachment!))).toString('base64'),
    });
    expect(uploaded.fileId).toBe(attachment!.id);
    const raw = await rawFileOf(out.emailId);
    await stack.sql`update public.emails set received_at = now() - interval '40 days' where id = ${out.emailId}`;
    await stack.sql`
      update public.files set updated_at = now() - interval '40 days' where tenant_id = ${tenantA}`;

    const run = await callOk<RunOut>(adminA, 'retention_run_now', {});
    // The email and its raw message go; the file the user uploaded stays, on disk too.
    expect(run.report.emails).toMatchObject({ emails: 1, attachments: 1, filesQueued: 1 });
    expect(run.report.files).toMatchObject({ deleted: 1, failed: 0 });
    const [kept] = await stack.sql<StoredFile[]>`
      select bucket, filename, storage_path from public.files where id = ${uploaded.fileId}`;
    expect(kept).toBeDefined();
    expect(existsSync(objectOf(kept!))).toBe(true);
    expect(existsSync(objectOf(raw))).toBe(false);
    const [owner] = await stack.sql`
      select filename, uploaded_by from public.user_files where tenant_id = ${tenantA} and bucket = 'attachments'`;
    expect(owner).toMatchObject({ filename: 'mine.txt', uploaded_by: expect.any(String) });
  });
});
