/**
 * ingest_email with eager start (TEMPORAL_EAGER_START), from the door: the run's first workflow task comes
 * back in the start's answer to this process's worker, its store step commits the row and tells the call
 * waiting here (core/commit-notices.ts), and the call answers without sending the run the `stored` update.
 * Asserted: the exact answer, the row committed when it is read, the run's history (no update events)
 * and the run's own result once it ends.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { IngestStatus, ThreadId } from '../../workflows/search-attributes.js';
import { FIXTURES } from '../support/fixtures.js';
import { replayOptions } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { callOk, runOutcome } from '../support/mcp-clients.js';
import { uniqueMessage } from '../support/subscriptions.js';

interface Answer {
  workflowId: string;
  runId: string;
  status: string;
  emailId: string;
  created: boolean;
  threadId: string;
  messageId: string;
  subject: string;
  attachments: unknown;
  rawMessage: unknown;
  analysisWorkflowId: unknown;
}

describe('ingest_email with eager start', () => {
  const t = useHttpStack('member', { TEMPORAL_EAGER_START: 'true' });

  it('answers from the store step in this process: the row is committed, the run needs no update', async () => {
    expect(t.stack.eagerStart).toBe(true);
    const answer = await callOk<Answer>(t.mcp, 'ingest_email', { raw: uniqueMessage('Eager hello') });
    // Read before anything else: the answer comes after the commit, never before.
    const rows = await t.stack.sql`select subject, thread_id from public.emails where id = ${answer.emailId}`;
    expect(rows).toEqual([{ subject: 'Eager hello', thread_id: answer.threadId }]);
    expect(answer).toMatchObject({
      status: 'running',
      created: true,
      subject: 'Eager hello',
      attachments: [],
      rawMessage: { status: 'pending' },
      analysisWorkflowId: 'pending',
    });

    const history = await t.stack.client.workflow.getHandle(answer.workflowId, answer.runId).fetchHistory();
    const events = history.events ?? [];
    // A running run's answer with the email's ids and no update in its history: the notice answered.
    expect(events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(false);

    const ended = await runOutcome(t.mcp, answer.workflowId, answer.runId);
    expect(ended).toMatchObject({
      status: 'completed',
      result: { emailId: answer.emailId, created: true, threadId: answer.threadId },
    });
  });

  it('two calls with the same message at once: one run, and both answer with the committed email', async () => {
    // The second call joins the running run (not started eagerly by it), so it waits for the update.
    const raw = uniqueMessage('Eager at once');
    const [a, b] = await Promise.all([
      callOk<Answer>(t.mcp, 'ingest_email', { raw }),
      callOk<Answer>(t.mcp, 'ingest_email', { raw }),
    ]);
    expect(b.workflowId).toBe(a.workflowId);
    expect(b.runId).toBe(a.runId);
    expect(b.emailId).toBe(a.emailId);
    expect([a.created, b.created]).toEqual([true, true]);
    const rows = await t.stack.sql`select count(*)::int as n from public.emails where id = ${a.emailId}`;
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('the same message again joins the completed run and answers with its result, as without eager start', async () => {
    const raw = uniqueMessage('Eager twice');
    const first = await callOk<Answer>(t.mcp, 'ingest_email', { raw });
    await runOutcome(t.mcp, first.workflowId, first.runId);
    const again = await callOk<Answer>(t.mcp, 'ingest_email', { raw });
    expect(again).toMatchObject({
      workflowId: first.workflowId,
      runId: first.runId,
      status: 'completed',
      emailId: first.emailId,
      created: true,
      rawMessage: { status: 'stored' },
    });
  });

  it('upserts the thread with the next stage: three upserts in all, and the run is findable as before', async () => {
    const answer = await callOk<Answer>(t.mcp, 'ingest_email', { raw: uniqueMessage('Few upserts') });
    const handle = t.stack.client.workflow.getHandle(answer.workflowId, answer.runId);
    await handle.result();
    const history = await handle.fetchHistory();
    // The patch's own TemporalChangeVersion, the thread with `archiving`, and `stored`.
    expect(upserts(history)).toBe(3);
    const attrs = (await handle.describe()).typedSearchAttributes;
    expect(attrs.get(IngestStatus)).toBe('stored');
    // The thread as the run records it: keyed (search privacy), never the Message-ID itself.
    const thread = attrs.get(ThreadId);
    expect(thread).toMatch(/^hmac:[0-9a-f]{64}$/);
    const found = await t.stack.client.workflow.count(
      `WorkflowId = '${answer.workflowId}' AND IngestStatus = 'stored' AND ThreadId = '${thread}'`,
    );
    expect(found.count).toBe(1);
    await Worker.runReplayHistory(replayOptions(), history);
  });

  it('a history from before the fewer upserts (five, and two patch markers) still replays', async () => {
    // Recorded by the code before FEWER_UPSERTS_PATCH: `storing`, the thread and `archiving` each alone.
    const history = temporal.api.history.v1.History.decode(
      readFileSync(path.join(FIXTURES, 'histories', 'ingest-email-before-fewer-upserts.binpb')),
    );
    expect(upserts(history)).toBe(5);
    await Worker.runReplayHistory(replayOptions(), history);
  });
});

function upserts(history: temporal.api.history.v1.IHistory): number {
  return (history.events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length;
}
