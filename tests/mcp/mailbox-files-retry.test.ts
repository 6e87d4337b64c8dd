/**
 * A retry finishes what a storage fault left (issue 14, item 2), over MCP on the real stack. A local disk
 * fault (a file where the tenant's directory in each bucket must be: ENOTDIR, which stops root too) makes
 * every raw message and attachment of an import fail; the emails are stored either way.
 *
 * - The report counts what is missing (`rawNotArchived`, `attachmentsFailed`), and `get_email` says what
 *   is missing, why, and how to retry it.
 * - Once the fault is gone, importing the same file again starts a new run that does only that work:
 *   it never reads the file or stores a message again, and ends with nothing missing.
 * - A different file with the same messages counts them truthfully while the fault lasts (never
 *   `rawNotArchived: 0` while they are missing) and completes them once it is gone.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tenantImportDir } from '../../core/import-path.js';
import { toMboxEntry } from '../../core/mbox.js';
import type { Stack } from '../../workers/stack.js';
import { useHttpStack } from '../support/http-stack.js';
import { callOk } from '../support/mcp-clients.js';

const BUCKETS = ['raw-messages', 'attachments'];

/** A message with one attachment of its own (distinct bytes, so each is its own upload). */
function message(id: string): string {
  return toMboxEntry(
    `From: Ann <ann@example.com>\nTo: bob@example.com\nSubject: retry ${id}\nMessage-ID: <${id}@retry.test>\n` +
      'Date: Mon, 2 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n' +
      '--b\nContent-Type: text/plain\n\nSee attached.\n' +
      `--b\nContent-Type: text/plain; name="${id}.txt"\nContent-Disposition: attachment; filename="${id}.txt"\n\n` +
      `the attachment of ${id}\n--b--\n`,
  );
}

interface Report {
  scanned: number;
  stored: number;
  duplicates: number;
  failed: number;
  pending: number;
  rawNotArchived: number;
  attachmentsFailed: number;
  attachmentsPending: number;
}

interface Imported {
  workflowId: string;
  runId: string;
  status: string;
  report: Report;
}

interface EmailOut {
  rawFile: unknown;
  attachments: { status: string }[];
  missing: {
    rawMessage: { error: string | null } | null;
    attachments: { partIndex: number; status: string; error: string | null }[];
    retry: string;
  } | null;
}

describe('a retry finishes what a storage fault left', () => {
  const t = useHttpStack();

  const root = () => {
    if (t.stack.config.storage.kind !== 'filesystem') throw new Error('the test uses filesystem storage');
    return t.stack.config.storage.root;
  };
  // The tenant's directory in each bucket is moved aside while a file stands in its place.
  const tenantDir = (bucket: string) => path.join(root(), bucket, t.stack.defaultTenant.id);
  const faultOn = () => {
    for (const bucket of BUCKETS) {
      mkdirSync(path.join(root(), bucket), { recursive: true });
      if (existsSync(tenantDir(bucket))) renameSync(tenantDir(bucket), `${tenantDir(bucket)}.aside`);
      writeFileSync(tenantDir(bucket), 'a file where a directory must be');
    }
  };
  const faultOff = () => {
    for (const bucket of BUCKETS) {
      rmSync(tenantDir(bucket), { force: true });
      if (existsSync(`${tenantDir(bucket)}.aside`))
        renameSync(`${tenantDir(bucket)}.aside`, tenantDir(bucket));
    }
  };
  const writeMailbox = (name: string, ids: string[]) => {
    const dir = tenantImportDir(t.stack.config.mailbox.importDir, t.stack.defaultTenant.slug);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, name), ids.map(message).join(''));
  };
  const importFile = (name: string) => callOk<Imported>(t.mcp, 'ingest_mailbox', { path: name, wait: true });

  it('the same file again completes the raw messages and attachments, and only them', {
    timeout: 180_000,
  }, async () => {
    const ids = ['same-1', 'same-2', 'same-3', 'same-4'];
    writeMailbox('same.mbox', ids);
    faultOn();
    const first = await importFile('same.mbox');
    expect(first.status).toBe('completed');
    expect(first.report).toMatchObject({
      scanned: 4,
      stored: 4,
      duplicates: 0,
      failed: 0,
      pending: 0,
      rawNotArchived: 4,
      attachmentsFailed: 4,
      attachmentsPending: 0,
    });

    // get_email says what is missing, why, and how to retry it; no server path.
    const [one] = await emailIds(t.stack, ids.slice(0, 1));
    const email = await callOk<EmailOut>(t.mcp, 'get_email', { emailId: one });
    expect(email.rawFile).toBeNull();
    expect(email.missing).toEqual({
      rawMessage: { error: expect.stringContaining('(ENOTDIR)') },
      attachments: [
        { partIndex: 0, status: 'failed', error: expect.stringContaining('bucket "attachments"') },
      ],
      retry: expect.stringContaining('ingest_mailbox'),
    });
    expect(JSON.stringify(email.missing)).not.toContain(root());

    // The fault gone, the same file again starts a new run that completes them.
    faultOff();
    const again = await importFile('same.mbox');
    expect(again.workflowId).toBe(first.workflowId);
    expect(again.runId).not.toBe(first.runId);
    expect(again.report).toMatchObject({
      scanned: 4,
      stored: 4,
      rawNotArchived: 0,
      attachmentsFailed: 0,
      attachmentsPending: 0,
    });
    await expectComplete(t.stack, ids);
    const done = await callOk<EmailOut>(t.mcp, 'get_email', { emailId: one });
    expect(done.missing).toBeNull();
    expect(done.rawFile).not.toBeNull();

    // The retry run did only the files: it never read the file or stored a message.
    const activities = await activityTypes(t.stack, again.workflowId, again.runId);
    expect(activities).toContain('archiveRawMessages');
    for (const step of ['inspectMailbox', 'scanMailboxChunk', 'ingestMailboxSlice']) {
      expect(activities).not.toContain(step);
    }
    // Nothing is left: the same file once more returns that run.
    const third = await importFile('same.mbox');
    expect(third.runId).toBe(again.runId);
  });

  it('a different file with the same messages counts them truthfully and completes them', {
    timeout: 180_000,
  }, async () => {
    const ids = ['other-1', 'other-2', 'other-3'];
    writeMailbox('first.mbox', ids);
    writeMailbox('second.mbox', [...ids, 'other-4']);
    writeMailbox('third.mbox', [...ids, 'other-5']);
    faultOn();
    const first = await importFile('first.mbox');
    expect(first.report).toMatchObject({ stored: 3, rawNotArchived: 3, attachmentsFailed: 3 });

    // Still faulty: a different file finds the three already stored, and counts them as missing.
    const second = await importFile('second.mbox');
    expect(second.report).toMatchObject({
      scanned: 4,
      stored: 1,
      duplicates: 3,
      failed: 0,
      rawNotArchived: 4,
      attachmentsFailed: 4,
    });

    faultOff();
    const third = await importFile('third.mbox');
    expect(third.report).toMatchObject({
      scanned: 4,
      stored: 1,
      duplicates: 3,
      failed: 0,
      rawNotArchived: 0,
      attachmentsFailed: 0,
      attachmentsPending: 0,
    });
    await expectComplete(t.stack, [...ids, 'other-5']);
  });
});

async function emailIds(stack: Stack, ids: string[]): Promise<string[]> {
  const rows = await stack.sql<{ id: string }[]>`
    select id from public.emails
    where tenant_id = ${stack.defaultTenant.id} and message_id in ${stack.sql(ids.map((id) => `${id}@retry.test`))}
    order by message_id`;
  return rows.map((r) => r.id);
}

/** Every email of these messages has its raw message and its attachment in storage, each once. */
async function expectComplete(stack: Stack, ids: string[]): Promise<void> {
  const messageIds = ids.map((id) => `${id}@retry.test`);
  const [row] = await stack.sql`
    select count(*)::int as emails,
           count(*) filter (where f.status = 'uploaded' and f.sha256 = e.raw_sha256)::int as raw,
           (select count(*) from public.email_attachments a join public.emails e2 on e2.id = a.email_id
             where e2.tenant_id = ${stack.defaultTenant.id} and e2.message_id in ${stack.sql(messageIds)}
               and a.status = 'stored')::int as attachments
    from public.emails e left join public.files f on f.id = e.raw_file_id
    where e.tenant_id = ${stack.defaultTenant.id} and e.message_id in ${stack.sql(messageIds)}`;
  expect(row).toEqual({ emails: ids.length, raw: ids.length, attachments: ids.length });
  const [files] = await stack.sql`
    select count(*) filter (where status <> 'uploaded')::int as not_uploaded from public.files f
    where f.tenant_id = ${stack.defaultTenant.id} and f.sha256 in (
      select raw_sha256 from public.emails where message_id in ${stack.sql(messageIds)})`;
  expect(files).toEqual({ not_uploaded: 0 });
}

/** The activity types a run scheduled. */
async function activityTypes(stack: Stack, workflowId: string, runId: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}
