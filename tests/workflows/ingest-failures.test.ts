/**
 * The workflow's own guard: a message that reaches ingestion without the MCP layer's validation (a
 * direct start, another client) fails with a readable, non-retryable type, marks the run failed for the
 * UI, and leaves an ingest_failures row. Real dev server, real Postgres.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../core/email.js';
import { stageContent } from '../../supabase/staged-content.js';
import type { Stack } from '../../workers/stack.js';
import { ingestEmailWorkflow } from '../../workflows/ingest-email.js';
import { IngestStatus, TenantId } from '../../workflows/search-attributes.js';
import { localActivities } from '../support/analysis.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';

describe('ingestEmailWorkflow failures', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack(testEnv());
  });
  afterAll(() => stack?.shutdown());

  it('fails fast with the type, marks the run failed, and records why', async () => {
    const tenantId = stack.defaultTenant.id;
    const raw = new TextEncoder().encode('Subject: no sender\r\n\r\nbody\r\n');
    const sha = sha256Hex(raw);
    await stageContent(stack.sql, tenantId, sha, raw);
    const handle = await stack.client.workflow.start(ingestEmailWorkflow, {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: uniqueName('direct'),
      args: [{ tenantId, rawSha256: sha, dedupKey: '0'.repeat(64) }],
      typedSearchAttributes: [{ key: TenantId, value: tenantId }],
    });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    // The store step is a local activity (issue 15): its non-retryable failure fails the run as itself,
    // where a scheduled activity's came wrapped in an ActivityFailure. Either way it is this failure.
    let cause = (error as WorkflowFailedError).cause as
      | { type?: string; nonRetryable?: boolean; message: string; cause?: unknown }
      | undefined;
    while (cause && !(cause instanceof ApplicationFailure)) cause = cause.cause as typeof cause;
    expect(cause).toMatchObject({ type: 'InvalidEmail', nonRetryable: true });
    expect(cause?.message).toBe('the message has no From address (RFC 5322 requires one)');

    // One attempt only: retrying bad input cannot help.
    const history = await handle.fetchHistory();
    const attempts = [
      ...(history.events ?? [])
        .filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes!.attempt),
      ...localActivities(history).map((a) => a.attempt),
    ];
    expect(attempts).toEqual([1]);
    expect((await handle.describe()).typedSearchAttributes.get(IngestStatus)).toBe('failed');
    const rows = await stack.sql`
      select reason, detail from public.ingest_failures where tenant_id = ${tenantId} and sha256 = ${sha}`;
    expect(rows).toEqual([
      { reason: 'InvalidEmail', detail: 'the message has no From address (RFC 5322 requires one)' },
    ]);
  });
});
