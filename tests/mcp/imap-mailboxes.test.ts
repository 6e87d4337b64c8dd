/**
 * IMAP mailboxes from the door: a real Dovecot (dev-stack/dovecot.ts), a real MCP client over HTTP as
 * an admin, the real worker. Mail is put on the server with imapflow as another client would (APPEND,
 * flags, EXPUNGE, a recreated folder); the test reads what the user reads (get_mailbox) and the rows
 * the sync wrote.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRegistry } from '../../core/metrics.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { FIXTURES } from '../support/fixtures.js';
import { uniqueName } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import {
  appendAll,
  bodiesFetched,
  expunge,
  fixtureEmails,
  logSize,
  note,
  recreateFolder,
  setFlags,
  until,
  useDovecot,
  withImap,
} from '../support/imap.js';
import { callError, callOk, connectHttp } from '../support/mcp-clients.js';

const KEY = randomBytes(32).toString('hex');
const PASSWORDS = { alice: 'alice-imap-password', bob: 'bob-imap-password', carol: 'carol-imap-password' };

interface Detail {
  mailboxId: string;
  status: string;
  lastError: string | null;
  workflowId: string;
  folderProgress: {
    name: string;
    uidValidity: string | null;
    initialSync: { total: number; done: number; complete: boolean };
    messages: { stored: number; linked: number; failed: number; expunged: number };
    changeTracking: string | null;
  }[];
}

interface Hit {
  emailId: string;
  subject: string | null;
  flags: string[];
  deletedAt: string | null;
}

describe('IMAP mailboxes against a real Dovecot', () => {
  const imap = useDovecot(PASSWORDS);
  const t = useHttpStack('admin', {
    MAILBOX_CREDENTIALS_KEY: KEY,
    MAILBOX_POLL_SECONDS: '2',
    MAILBOX_SYNC_BATCH: '10',
  });
  // Registered after the stack, so it runs before the stack stops: every mailbox still synced is
  // disconnected first, and the worker stops with no sync pass or IDLE wait in flight.
  afterAll(async () => {
    if (!t.mcp) return;
    const { mailboxes } = await callOk<{ mailboxes: Detail[] }>(t.mcp, 'list_mailboxes', {});
    for (const m of mailboxes.filter((m) => m.status !== 'disconnected')) {
      await callOk(t.mcp, 'disconnect_mailbox', { mailboxId: m.mailboxId }).catch(() => {});
    }
  }, 60_000);
  const account = (user: keyof typeof PASSWORDS, extra: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port: imap.server.port,
    tls: 'none',
    username: user,
    password: PASSWORDS[user],
    ...extra,
  });
  const get = (mcp: McpClient, mailboxId: string) => callOk<Detail>(mcp, 'get_mailbox', { mailboxId });
  const caughtUp = (d: Detail) =>
    d.status === 'idle' &&
    d.folderProgress.length > 0 &&
    d.folderProgress.every((f) => f.initialSync.complete);
  const emailsOf = (tenantId: string) =>
    t.stack.sql<
      {
        id: string;
        subject: string | null;
        message_id: string | null;
        flags: string[];
        deleted_at: Date | null;
      }[]
    >`
      select id, subject, message_id, flags, deleted_at from public.emails where tenant_id = ${tenantId}`;
  const search = (args: Record<string, unknown>) =>
    callOk<{ total: number; results: Hit[] }>(t.mcp, 'search_emails', args);

  let aliceBox: Detail;
  const fixtures = fixtureEmails();
  const tooOld = note('too-old', 'Older than the window');
  const noFrom = readFileSync(path.join(FIXTURES, 'malformed', 'no-from.eml'));

  beforeAll(async () => {
    await withImap(imap.server, 'alice', async (c) => {
      await c.mailboxCreate('Archive');
      await appendAll(c, 'INBOX', [
        ...fixtures.map((f) => f.raw),
        noFrom,
        { raw: tooOld, date: new Date(Date.now() - 90 * 86_400_000) },
      ]);
      await appendAll(c, 'Archive', [note('archived-1'), note('archived-2'), note('archived-3')]);
    });
  });

  it("connect_mailbox refuses a wrong password before saving anything, with the server's reason", async () => {
    const text = await callError(t.mcp, 'connect_mailbox', account('alice', { password: 'wrong' }));
    expect(text).toBe(
      `MailboxAuthFailed: 127.0.0.1:${imap.server.port} refused the login: Authentication failed.`,
    );
    const { mailboxes } = await callOk<{ mailboxes: unknown[] }>(t.mcp, 'list_mailboxes', {});
    expect(mailboxes).toEqual([]);
  });

  it('refuses tls "none" to a server that is not on this machine, and a folder the server lacks', async () => {
    expect(
      await callError(t.mcp, 'connect_mailbox', { ...account('alice'), host: 'imap.example.com' }),
    ).toMatch(
      /^InvalidArgument: tls "none" sends the password in the clear and is allowed for a loopback server only/,
    );
    expect(await callError(t.mcp, 'connect_mailbox', account('alice', { folders: ['Nope'] }))).toMatch(
      /^MailboxFolderNotFound: the server has no folder "Nope"; it has: /,
    );
  });

  it('initial sync: every message in the window stored once, the unparseable one recorded with folder and UID', async () => {
    const connected = await callOk<Detail>(
      t.mcp,
      'connect_mailbox',
      account('alice', { folders: ['INBOX', 'Archive'] }),
    );
    expect(connected).toMatchObject({
      status: 'syncing',
      workflowId: `mailbox-sync/${t.stack.defaultTenant.id}/${connected.mailboxId}`,
    });
    expect(JSON.stringify(connected)).not.toContain(PASSWORDS.alice);
    aliceBox = await until('the initial sync', () => get(t.mcp, connected.mailboxId), caughtUp);
    const inbox = aliceBox.folderProgress.find((f) => f.name === 'INBOX')!;
    expect(inbox.initialSync).toEqual({
      total: fixtures.length + 1,
      done: fixtures.length + 1,
      complete: true,
    });
    expect(inbox.messages).toEqual({ stored: fixtures.length, linked: 0, failed: 1, expunged: 0 });
    const emails = await emailsOf(t.stack.defaultTenant.id);
    expect(emails).toHaveLength(fixtures.length + 3);
    expect(emails.map((e) => e.subject)).not.toContain('Older than the window');
    const [failure] = await t.stack.sql<{ reason: string; detail: string }[]>`
      select reason, detail from public.ingest_failures where tenant_id = ${t.stack.defaultTenant.id}`;
    expect(failure).toEqual({
      reason: 'InvalidEmail',
      detail: expect.stringMatching(/^folder INBOX UID \d+: .*no From address/),
    });
    // The stored mail went through the whole ingestion: raw archive too.
    const [raw] = await t.stack.sql<{ n: number }[]>`
      select count(*)::int as n from public.emails where tenant_id = ${t.stack.defaultTenant.id} and raw_file_id is null`;
    await until(
      'raw messages archived',
      async () =>
        (
          await t.stack.sql<{ n: number }[]>`
      select count(*)::int as n from public.emails where tenant_id = ${t.stack.defaultTenant.id} and raw_file_id is null`
        )[0]!.n,
      (n) => n === 0,
    );
    expect(raw).toBeDefined();
  });

  // How soon is a bench figure (sources); the bound only says "it arrives", even on a loaded machine.
  it('a message APPENDed while synced is stored (IDLE wakes the sync)', { timeout: 120_000 }, async () => {
    await withImap(imap.server, 'alice', (c) =>
      appendAll(c, 'INBOX', [note('live-1', 'Arrived while synced')]),
    );
    await until(
      'the new message',
      () => emailsOf(t.stack.defaultTenant.id),
      (rows) => rows.some((r) => r.subject === 'Arrived while synced'),
      90_000,
    );
    // The worker runs in this process: its scrape counts IMAP mail and the new message's lag.
    const scrape = await metricsRegistry.metrics();
    expect(scrape).toMatch(/^durable_inbox_emails_ingested_total\{source="imap",tenant="all"\} [1-9]\d*$/m);
    expect(scrape).toMatch(/^durable_inbox_mailbox_sync_lag_seconds_count [1-9]\d*$/m);
  });

  it('flags and an expunge reach the stored email; it is never deleted', async () => {
    const [flagged, gone] = await withImap(imap.server, 'alice', (c) =>
      appendAll(c, 'INBOX', [note('to-flag', 'Flag me'), note('to-expunge', 'Expunge me')]),
    );
    await until(
      'both stored',
      () => emailsOf(t.stack.defaultTenant.id),
      (rows) => ['Flag me', 'Expunge me'].every((s) => rows.some((r) => r.subject === s)),
    );
    await withImap(imap.server, 'alice', async (c) => {
      await setFlags(c, 'INBOX', flagged!.uid, ['\\Flagged', '\\Seen']);
      await expunge(c, 'INBOX', gone!.uid);
    });
    const rows = await until(
      'flags and expunge',
      () => emailsOf(t.stack.defaultTenant.id),
      (all) => {
        const f = all.find((r) => r.subject === 'Flag me');
        const e = all.find((r) => r.subject === 'Expunge me');
        return Boolean(f?.flags.includes('\\Flagged') && e?.deleted_at);
      },
    );
    expect(rows.find((r) => r.subject === 'Flag me')!.flags).toEqual(['\\Flagged', '\\Seen']);
    expect(rows.find((r) => r.subject === 'Expunge me')!.deleted_at).toBeInstanceOf(Date);
    const detail = await get(t.mcp, aliceBox.mailboxId);
    const inbox = detail.folderProgress.find((f) => f.name === 'INBOX')!;
    expect(inbox.messages.expunged).toBe(1);
    // Dovecot has QRESYNC: the expunge came from VANISHED (EARLIER), not from a full UID list.
    expect(inbox.changeTracking).toBe('qresync');

    // What the user reads: get_email shows flags and deletedAt ...
    const flagId = rows.find((r) => r.subject === 'Flag me')!.id;
    const goneId = rows.find((r) => r.subject === 'Expunge me')!.id;
    expect(await callOk(t.mcp, 'get_email', { emailId: flagId })).toMatchObject({
      flags: ['\\Flagged', '\\Seen'],
      deletedAt: null,
    });
    const expunged = await callOk<{ deletedAt: string | null; flags: string[] }>(t.mcp, 'get_email', {
      emailId: goneId,
    });
    expect(expunged.deletedAt).toBe(rows.find((r) => r.subject === 'Expunge me')!.deleted_at!.toISOString());
    // ... search_emails filters by flag and leaves expunged mail out unless asked.
    const subjects = (r: { results: Hit[] }) => r.results.map((h) => h.subject).sort();
    expect(subjects(await search({ query: 'me', flags: ['flagged'] }))).toEqual(['Flag me']);
    expect(subjects(await search({ query: 'me', flags: ['unseen'] }))).not.toContain('Flag me');
    expect(subjects(await search({ query: 'me', flags: ['seen', 'flagged'] }))).toEqual(['Flag me']);
    expect(subjects(await search({ query: 'Expunge' }))).toEqual([]);
    const withDeleted = await search({ query: 'Expunge', includeDeleted: true });
    expect(withDeleted.results).toEqual([
      expect.objectContaining({ emailId: goneId, subject: 'Expunge me', deletedAt: expunged.deletedAt }),
    ]);
    expect(await callError(t.mcp, 'search_emails', { query: 'me', flags: ['seen', 'unseen'] })).toBe(
      'InvalidArgument: flags: \\Seen is asked for both with and without: no email can match',
    );
    expect(await callError(t.mcp, 'search_emails', { query: 'me', flags: ['starred'] })).toBe(
      'InvalidInput: invalid arguments for search_emails: Invalid option: expected one of "seen"|"unseen"|"flagged"|"unflagged"|"answered"|"unanswered"|"draft" at flags[0]',
    );
  });

  it('a recreated folder (new UIDVALIDITY) is re-listed and stores nothing twice', async () => {
    const before = (await emailsOf(t.stack.defaultTenant.id)).length;
    const oldValidity = aliceBox.folderProgress.find((f) => f.name === 'Archive')!.uidValidity;
    const logFrom = logSize(imap.server);
    await withImap(imap.server, 'alice', async (c) => {
      await recreateFolder(c, 'Archive');
      await appendAll(c, 'Archive', [
        note('archived-1'),
        note('archived-2'),
        note('archived-3'),
        note('archived-4'),
      ]);
    });
    const detail = await until(
      'the re-listed folder',
      () => get(t.mcp, aliceBox.mailboxId),
      (d) => {
        const a = d.folderProgress.find((f) => f.name === 'Archive')!;
        return (
          a.uidValidity !== oldValidity &&
          a.initialSync.complete &&
          a.messages.stored + a.messages.linked === 4
        );
      },
    );
    expect(detail.folderProgress.find((f) => f.name === 'Archive')!.messages).toEqual({
      stored: 1,
      linked: 3,
      failed: 0,
      expunged: 0,
    });
    const emails = await emailsOf(t.stack.defaultTenant.id);
    expect(emails).toHaveLength(before + 1);
    // The three known ones were linked by their envelope's Message-ID: the server sent one body (the
    // new message's), counted by Dovecot at the pass's logout.
    await until(
      'the pass logged out',
      async () => bodiesFetched(imap.server, 'alice', logFrom),
      (n) => n >= 1,
    );
    await new Promise((r) => setTimeout(r, 2500));
    expect(bodiesFetched(imap.server, 'alice', logFrom)).toBe(1);
    // Nothing announced as new but the new one: one email.received per archived email, ever.
    const archived = emails.filter((e) => e.message_id?.startsWith('archived-'));
    expect(archived).toHaveLength(4);
    const received = await t.stack.sql<{ subject_id: string; n: number }[]>`
      select subject_id, count(*)::int as n from public.events
      where tenant_id = ${t.stack.defaultTenant.id} and type = 'email.received'
        and subject_id = any(${archived.map((e) => e.id)}::text[])
      group by subject_id`;
    expect(received.map((r) => r.n)).toEqual([1, 1, 1, 1]);
  });

  it('resync_mailbox re-lists a folder and stores nothing twice', async () => {
    const before = (await emailsOf(t.stack.defaultTenant.id)).length;
    const out = await callOk<Detail>(t.mcp, 'resync_mailbox', {
      mailboxId: aliceBox.mailboxId,
      folder: 'Archive',
    });
    expect(out.mailboxId).toBe(aliceBox.mailboxId);
    await until(
      'the resync',
      () => get(t.mcp, aliceBox.mailboxId),
      (d) => caughtUp(d),
    );
    expect(await emailsOf(t.stack.defaultTenant.id)).toHaveLength(before);
  });

  it('pause and resume: nothing is synced while paused, everything after', async () => {
    const paused = await callOk<Detail>(t.mcp, 'pause_mailbox', { mailboxId: aliceBox.mailboxId });
    expect(paused.status).toBe('paused');
    await withImap(imap.server, 'alice', (c) =>
      appendAll(c, 'INBOX', [note('while-paused', 'Sent while paused')]),
    );
    await new Promise((r) => setTimeout(r, 3000));
    expect((await emailsOf(t.stack.defaultTenant.id)).map((e) => e.subject)).not.toContain(
      'Sent while paused',
    );
    const resumed = await callOk<Detail>(t.mcp, 'resume_mailbox', { mailboxId: aliceBox.mailboxId });
    // Syncing, or already idle again when the pass that stores the message was quicker than the reply.
    expect(['syncing', 'idle']).toContain(resumed.status);
    await until(
      'the paused message',
      () => emailsOf(t.stack.defaultTenant.id),
      (rows) => rows.some((r) => r.subject === 'Sent while paused'),
    );
  });

  it('an analysis start lost in a crash is caught up when the sync runs again, once', async () => {
    const tenantId = t.stack.defaultTenant.id;
    const all = await emailsOf(tenantId);
    const lost = all.find((e) => e.subject === 'Sent while paused')!;
    const done = all.find((e) => e.subject === 'Flag me')!;
    await until(
      'both analysed',
      () => t.stack.sql<{ n: number }[]>`
        select count(*)::int as n from public.ai_analyses where email_id = any(${[lost.id, done.id]}::uuid[])`,
      (r) => r[0]!.n === 2,
    );
    // The run crashed between storing `lost` and starting its analysis: no analysis, no analysis run,
    // nothing on the ledger. `done` was analysed but its ledger row missed the mark.
    const { client } = t.stack;
    await client.workflow.getHandle(aliceBox.workflowId).terminate('crash between commit and analysis start');
    const runs: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowType = 'analyzeEmailWorkflow'` })) {
      if (w.workflowId.includes(lost.id)) runs.push(w.workflowId);
    }
    expect(runs).toHaveLength(1);
    await client.workflowService.deleteWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId: runs[0] },
    });
    await until(
      'the analysis run deleted',
      () =>
        client.workflow
          .getHandle(runs[0]!)
          .describe()
          .then(
            () => 'there',
            () => 'gone',
          ),
      (v) => v === 'gone',
    );
    await t.stack.sql`delete from public.ai_analyses where email_id = ${lost.id}`;
    await t.stack.sql`
      update public.emails set ai_analysis = null, analyzed_at = null, status = 'stored' where id = ${lost.id}`;
    await t.stack.sql`
      update public.imap_messages set analysis_started_at = null where email_id = any(${[lost.id, done.id]}::uuid[])`;

    // connect_mailbox starts the sync again; its first step catches up.
    await callOk(t.mcp, 'connect_mailbox', account('alice', { folders: ['INBOX', 'Archive'] }));
    const analysed = await until(
      'the lost analysis',
      () => callOk<{ status: string }>(t.mcp, 'get_email', { emailId: lost.id }),
      (e) => e.status === 'analyzed',
    );
    expect(analysed.status).toBe('analyzed');
    const counts = await t.stack.sql<{ email_id: string; n: number }[]>`
      select email_id, count(*)::int as n from public.ai_analyses
      where email_id = any(${[lost.id, done.id]}::uuid[]) group by email_id order by email_id`;
    expect(counts.map((c) => c.n)).toEqual([1, 1]);
    const pending = await t.stack.sql`
      select 1 from public.imap_messages where email_id = any(${[lost.id, done.id]}::uuid[])
        and status = 'stored' and analysis_started_at is null`;
    expect(pending).toHaveLength(0);
    await until('caught up', () => get(t.mcp, aliceBox.mailboxId), caughtUp);
  });

  it("a password changed on the server: needs_attention with the server's reason, back with new credentials", async () => {
    await imap.server.setUser('alice', 'changed-on-the-server');
    // The next pass logs in again (an open IDLE session outlives a password change on most servers).
    await callOk(t.mcp, 'resync_mailbox', { mailboxId: aliceBox.mailboxId, folder: 'INBOX' });
    const stuck = await until(
      'needs_attention',
      () => get(t.mcp, aliceBox.mailboxId),
      (d) => d.status === 'needs_attention',
    );
    expect(stuck.lastError).toBe(
      `MailboxAuthFailed: 127.0.0.1:${imap.server.port} refused the login: Authentication failed.`,
    );
    // It waits for a person: no retry loop against the server.
    await new Promise((r) => setTimeout(r, 3000));
    const history = await t.stack.client.workflow.getHandle(aliceBox.workflowId).fetchHistory();
    const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes).length;
    expect(failed).toBe(1);
    await withImap(imap.server, 'alice', (c) =>
      appendAll(c, 'INBOX', [note('after-change', 'After the password change')]),
    );
    const again = await callOk<Detail>(
      t.mcp,
      'connect_mailbox',
      account('alice', { password: 'changed-on-the-server', folders: ['INBOX', 'Archive'] }),
    );
    expect(again.mailboxId).toBe(aliceBox.mailboxId);
    await until(
      'the message after the change',
      () => emailsOf(t.stack.defaultTenant.id),
      (rows) => rows.some((r) => r.subject === 'After the password change'),
    );
    await imap.server.setUser('alice', PASSWORDS.alice);
  });

  it("two tenants' mailboxes sync side by side and never see each other's mail", async () => {
    const other = await ensureOrganization(t.stack.sql, uniqueName('imap-other'));
    const key = generateApiKey();
    await registerApiKey(t.stack.sql, other.id, uniqueName('key'), key, 'admin');
    const otherMcp = await connectHttp(t.http.url, key);
    try {
      await withImap(imap.server, 'bob', (c) =>
        appendAll(c, 'INBOX', [note('bob-1', 'For Bob only'), note('bob-2', 'Also Bob')]),
      );
      const bobBox = await callOk<Detail>(otherMcp, 'connect_mailbox', account('bob'));
      await until('bob synced', () => get(otherMcp, bobBox.mailboxId), caughtUp);
      const bobMail = (await emailsOf(other.id)).map((e) => e.subject).sort();
      expect(bobMail).toEqual(['Also Bob', 'For Bob only']);
      expect((await emailsOf(t.stack.defaultTenant.id)).map((e) => e.subject)).not.toContain('For Bob only');
      // Neither tenant can read or steer the other's mailbox.
      expect(await callError(t.mcp, 'get_mailbox', { mailboxId: bobBox.mailboxId })).toBe(
        `NotFound: no mailbox ${bobBox.mailboxId} in this organization`,
      );
      expect(await callError(otherMcp, 'pause_mailbox', { mailboxId: aliceBox.mailboxId })).toBe(
        `NotFound: no mailbox ${aliceBox.mailboxId} in this organization`,
      );
      const { mailboxes } = await callOk<{ mailboxes: Detail[] }>(otherMcp, 'list_mailboxes', {});
      expect(mailboxes.map((m) => m.mailboxId)).toEqual([bobBox.mailboxId]);
      await callOk(otherMcp, 'disconnect_mailbox', { mailboxId: bobBox.mailboxId });
    } finally {
      await otherMcp.close();
    }
  });

  it('disconnect_mailbox stops the workflow and deletes the credentials; the mail stays', async () => {
    const before = (await emailsOf(t.stack.defaultTenant.id)).length;
    const out = await callOk<Detail>(t.mcp, 'disconnect_mailbox', { mailboxId: aliceBox.mailboxId });
    expect(out.status).toBe('disconnected');
    const creds = await t.stack
      .sql`select 1 from public.imap_mailbox_credentials where mailbox_id = ${aliceBox.mailboxId}`;
    expect(creds).toHaveLength(0);
    const handle = t.stack.client.workflow.getHandle(aliceBox.workflowId);
    await handle.result();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await emailsOf(t.stack.defaultTenant.id)).toHaveLength(before);
    expect(await callError(t.mcp, 'pause_mailbox', { mailboxId: aliceBox.mailboxId })).toBe(
      'InvalidTransition: the mailbox is disconnected: connect_mailbox connects it again (stored mail is still there)',
    );
  });

  it('the password is in no workflow history, search attribute or stored row in the clear', async () => {
    const history = await t.stack.client.workflow.getHandle(aliceBox.workflowId).fetchHistory();
    const text = JSON.stringify(history);
    for (const secret of Object.values(PASSWORDS))
      expect(text).not.toContain(Buffer.from(secret).toString('base64'));
    expect(text).not.toContain(PASSWORDS.alice);
    const rows = await t.stack.sql`select ciphertext from public.imap_mailbox_credentials`;
    for (const row of rows) expect(JSON.stringify(row)).not.toContain('password');
  });
});
