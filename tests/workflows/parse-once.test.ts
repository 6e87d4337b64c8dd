/**
 * Parse once (issue 12): an ingestion run hands the raw message to ONE activity, which reads it, parses
 * it and stores the email and its attachments; the attachment uploads need no second parse. An mbox
 * import's upload step needs no raw message at all: its slice claimed and staged the attachments from
 * the parse that stored the email. Real dev server, real Postgres; the proof is the run's history and
 * what still works once the raw bytes are gone, not a counter in the code.
 */
import { createHash } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createEmailActivities } from '../../activities/email-activities.js';
import { createMailboxActivities } from '../../activities/mailbox-activities.js';
import { toMboxEntry } from '../../core/mbox.js';
import { loadContents, stageContent } from '../../supabase/staged-content.js';
import { decodedHistoryText, localActivities } from '../support/analysis.js';
import { uniqueName } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { ingestToEnd } from '../support/mcp-clients.js';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

function message(id: string, files: { name: string; body: string }[]): string {
  const parts = files.map(
    (f) =>
      `--b\r\nContent-Type: text/plain; name="${f.name}"\r\nContent-Transfer-Encoding: base64\r\n` +
      `Content-Disposition: attachment; filename="${f.name}"\r\n\r\n${Buffer.from(f.body).toString('base64')}\r\n`,
  );
  return (
    `From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: parse once ${id}\r\nMessage-ID: <${id}@once>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n` +
    `Secret body ${id}.\r\n${parts.join('')}--b--\r\n`
  );
}

describe('parse once', () => {
  const t = useHttpStack();

  it('gives the raw message to one activity, once, that stores the email and stages its attachments', async () => {
    const id = uniqueName('single');
    const raw = message(id, [
      { name: 'a.txt', body: `first ${id}` },
      { name: 'b.txt', body: `second ${id}` },
    ]);
    const out = await ingestToEnd<{ workflowId: string; runId: string; attachments: { status: string }[] }>(
      t.mcp,
      { raw },
    );
    expect(out.attachments.map((a) => a.status)).toEqual(['stored', 'stored']);

    const history = await t.stack.client.workflow.getHandle(out.workflowId, out.runId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a !== null && a !== undefined);
    const byType = new Map<string, number>();
    for (const a of scheduled) {
      const name = a.activityType?.name ?? '?';
      byType.set(name, (byType.get(name) ?? 0) + 1);
    }
    expect(Object.fromEntries(byType)).toEqual({ settleEmailAttachment: 2, archiveRawMessages: 1 });
    // The store and the plan are local activities (issue 15), each run once: no retry read the bytes again.
    expect(localActivities(history)).toEqual([
      { type: 'ingestStagedEmail', attempt: 1 },
      { type: 'planEmailAnalysis', attempt: 1 },
    ]);
    const started = events.filter((e) => e.activityTaskStartedEventAttributes);
    expect(started.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1, 1, 1]);

    // The raw message's reference reaches the store step only (a local activity's input is not even
    // recorded): every scheduled step (the uploads, the settles, the archive by email id) is given ids,
    // never the message to read and parse.
    const rawSha = sha(raw);
    const given = scheduled.filter((a) => decodedHistoryText({ input: a.input }).includes(rawSha));
    expect(given).toEqual([]);
    // What comes back is ids and a summary: no mail body, no attachment bytes.
    const text = decodedHistoryText(history);
    expect(text).not.toContain(`Secret body ${id}`);
    expect(text).not.toContain(Buffer.from(`first ${id}`).toString('base64'));
    expect(text).not.toContain(`first ${id}`);
  });

  it('an mbox upload step reads claims, not the raw message; a dropped claim is repaired from it', async () => {
    const tenantId = t.stack.defaultTenant.id;
    const limits = t.stack.config.limits;
    const email = createEmailActivities({
      sql: t.stack.sql,
      limits,
      searchPrivacy: t.stack.config.privacy.searchAttributes,
    });
    const mailbox = createMailboxActivities({
      sql: t.stack.sql,
      limits,
      importDir: t.stack.config.mailbox.importDir,
    });
    const env = new MockActivityEnvironment();
    const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
      env.run(fn, ...args) as Promise<R>;

    const id = uniqueName('mbox');
    const raws = [0, 1, 2].map((i) =>
      message(`${id}-${i}`, i === 1 ? [] : [{ name: `m${i}.txt`, body: `mbox attachment ${id} ${i}` }]),
    );
    const mbox = Buffer.from(raws.map((r) => toMboxEntry(r)).join(''));
    const mailboxSha256 = sha(mbox);
    await stageContent(t.stack.sql, tenantId, mailboxSha256, mbox);
    const ref = { tenantId, mailboxSha256 };
    const scan = await run(mailbox.scanMailboxChunk, {
      ...ref,
      source: { kind: 'upload' as const, sha256: mailboxSha256 },
      offset: 0,
      seq: 0,
      maxMessages: 10,
    });
    expect(scan).toMatchObject({ scanned: 3, eof: true });
    const counts = await run(mailbox.ingestMailboxSlice, {
      ...ref,
      fromSeq: 0,
      toSeq: 3,
      stageAttachments: true,
    });
    expect(counts).toEqual({ stored: 3, duplicates: 0, failed: 0 });
    const withAttachments = await run(mailbox.mailboxAttachmentsPending, {
      ...ref,
      fromSeq: 0,
      toSeq: 3,
    });
    expect(withAttachments).toHaveLength(2);

    // The raw messages are gone: the upload step still finds every attachment, bytes staged.
    const rawShas = withAttachments.map((e) => e.rawSha256);
    await t.stack
      .sql`delete from public.staged_content where tenant_id = ${tenantId} and sha256 = any(${rawShas})`;
    for (const [n, e] of withAttachments.entries()) {
      const pending = await run(email.stageEmailAttachments, { ...e, tenantId });
      const i = n === 0 ? 0 : 2;
      expect(pending).toEqual([
        {
          partIndex: 0,
          filename: `m${i}.txt`,
          declaredMime: 'text/plain',
          sha256: sha(`mbox attachment ${id} ${i}`),
        },
      ]);
      const staged = await loadContents(t.stack.sql, tenantId, [pending[0]!.sha256]);
      expect(staged.get(pending[0]!.sha256)?.toString()).toBe(`mbox attachment ${id} ${i}`);
    }

    // Attachment bytes dropped (the retention cleanup, an import resumed much later): the raw message is
    // read and parsed again to stage them; without it the step says what is missing.
    const first = withAttachments[0]!;
    const attachmentSha = sha(`mbox attachment ${id} 0`);
    await t.stack
      .sql`delete from public.staged_content where tenant_id = ${tenantId} and sha256 = ${attachmentSha}`;
    const missing = await env
      .run(email.stageEmailAttachments, { ...first, tenantId })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ type: 'RawMessageMissing' });
    await stageContent(t.stack.sql, tenantId, first.rawSha256, Buffer.from(raws[0]!.replace(/\r\n/g, '\n')));
    const repaired = await run(email.stageEmailAttachments, { ...first, tenantId });
    expect(repaired.map((p) => p.sha256)).toEqual([attachmentSha]);
    expect((await loadContents(t.stack.sql, tenantId, [attachmentSha])).has(attachmentSha)).toBe(true);
  });
});
