/**
 * The sync's fallback on a server without QRESYNC (many are: CONDSTORE only): a real Dovecot that does
 * not advertise it (dev-stack/dovecot.ts, `qresync: false`), a real MCP client over HTTP, the real
 * worker. Flag changes still come from CONDSTORE's CHANGEDSINCE, and an expunge from the folder's UID
 * list compared with the stored one; the user reads both on the email, and get_mailbox says which
 * change tracking the folder used. Analysis on ingest is off here, so the sync makes no analysis plan
 * at all (as ingest_email skips it) and still marks its ledger.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { replayOptions } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { appendAll, expunge, note, setFlags, until, useDovecot, withImap } from '../support/imap.js';
import { callOk } from '../support/mcp-clients.js';

interface Detail {
  mailboxId: string;
  workflowId: string;
  status: string;
  folderProgress: {
    name: string;
    initialSync: { complete: boolean };
    messages: { stored: number; expunged: number };
    changeTracking: string | null;
  }[];
}

describe('IMAP mailbox on a server without QRESYNC', () => {
  const imap = useDovecot({ dana: 'dana-imap-password' }, { qresync: false });
  const t = useHttpStack('admin', {
    MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
    MAILBOX_POLL_SECONDS: '2',
    AI_ANALYSIS_ON_INGEST: 'false',
  });
  let mailboxId: string | undefined;
  let workflowId: string | undefined;
  // Before the stack stops: the worker stops with no sync pass or IDLE wait in flight.
  afterAll(async () => {
    if (t.mcp && mailboxId) await callOk(t.mcp, 'disconnect_mailbox', { mailboxId }).catch(() => {});
  }, 60_000);

  const emails = () =>
    t.stack.sql<{ id: string; subject: string | null; flags: string[]; deleted_at: Date | null }[]>`
      select id, subject, flags, deleted_at from public.emails where tenant_id = ${t.stack.defaultTenant.id}`;
  const inbox = async () => {
    const d = await callOk<Detail>(t.mcp, 'get_mailbox', { mailboxId });
    return { status: d.status, ...d.folderProgress.find((f) => f.name === 'INBOX')! };
  };

  it('flags and an expunge still reach the stored email, tracked by CONDSTORE and the UID list', async () => {
    const [flagged, gone, kept] = await withImap(imap.server, 'dana', (c) =>
      appendAll(c, 'INBOX', [
        note('nq-flag', 'Flag me'),
        note('nq-gone', 'Expunge me'),
        note('nq-kept', 'Keep me'),
      ]),
    );
    const box = await callOk<Detail>(t.mcp, 'connect_mailbox', {
      host: '127.0.0.1',
      port: imap.server.port,
      tls: 'none',
      username: 'dana',
      password: 'dana-imap-password',
    });
    mailboxId = box.mailboxId;
    workflowId = box.workflowId;
    await until('the initial sync', inbox, (f) => f.status === 'idle' && f.initialSync.complete);
    expect((await emails()).map((e) => e.subject).sort()).toEqual(['Expunge me', 'Flag me', 'Keep me']);

    await withImap(imap.server, 'dana', async (c) => {
      await setFlags(c, 'INBOX', flagged!.uid, ['\\Flagged', '\\Answered']);
      await expunge(c, 'INBOX', gone!.uid);
    });
    const rows = await until('flags and expunge', emails, (all) =>
      Boolean(
        all.find((r) => r.subject === 'Flag me')?.flags.includes('\\Flagged') &&
          all.find((r) => r.subject === 'Expunge me')?.deleted_at,
      ),
    );
    const bySubject = (s: string) => rows.find((r) => r.subject === s)!;
    expect(bySubject('Flag me').flags).toEqual(['\\Answered', '\\Flagged']);
    expect(bySubject('Keep me')).toMatchObject({ flags: [], deleted_at: null });
    expect(kept!.uid).toBeGreaterThan(gone!.uid);

    // What the user reads: the email's flags and deletedAt, and the tracking the folder used.
    expect(await callOk(t.mcp, 'get_email', { emailId: bySubject('Flag me').id })).toMatchObject({
      flags: ['\\Answered', '\\Flagged'],
      deletedAt: null,
    });
    expect(await callOk(t.mcp, 'get_email', { emailId: bySubject('Expunge me').id })).toMatchObject({
      deletedAt: bySubject('Expunge me').deleted_at!.toISOString(),
    });
    const folder = await inbox();
    expect(folder.changeTracking).toBe('condstore');
    expect(folder.messages).toMatchObject({ stored: 3, expunged: 1 });
  });

  it('with analysis on ingest off, no plan is made and no analysis runs; the ledger is marked', async () => {
    const { client } = t.stack;
    const history = await client.workflow.getHandle(workflowId!).fetchHistory();
    const activities = (history.events ?? []).flatMap((e) => {
      const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return name ? [name] : [];
    });
    expect(activities).toContain('syncMailbox');
    expect(activities).toContain('markMailboxAnalysisStarted');
    expect(activities.filter((a) => a.startsWith('planEmailAnalys'))).toEqual([]);
    // The pipelined run (follow-ups on a pool beside the passes) replays on this code.
    await Worker.runReplayHistory(replayOptions(), history, workflowId!);
    const runs: string[] = [];
    for await (const w of client.workflow.list({
      query: `WorkflowType = 'analyzeEmailWorkflow' AND TenantId = '${t.stack.defaultTenant.id}'`,
    })) {
      runs.push(w.workflowId);
    }
    expect(runs).toEqual([]);
    const unmarked = await t.stack.sql`
      select 1 from public.imap_messages m join public.imap_folders f on f.id = m.folder_id
      where f.mailbox_id = ${mailboxId!} and m.status = 'stored' and m.analysis_started_at is null`;
    expect(unmarked).toHaveLength(0);
  });
});
