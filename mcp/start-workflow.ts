/**
 * How tools start workflows whose id is a natural key: concurrent calls join the running run
 * (USE_EXISTING), a later call finds the completed run, and only a failed run may be replaced by a new
 * one (ALLOW_DUPLICATE_FAILED_ONLY).
 */
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { QueryDefinition } from '@temporalio/workflow';
import { describeFailure } from '../core/failure.js';
import { recordIngestFailure } from '../supabase/emails.js';
import type { ToolContext } from './context.js';
import type { WaitOptions } from './wait.js';

export async function startOrJoin<T extends Workflow>(
  client: Client,
  workflow: T,
  options: WorkflowStartOptions<T>,
  /** `replace`: a completed run may be replaced too (a forced re-run), not only a failed one. */
  mode: 'join' | 'replace' = 'join',
): Promise<{ handle: WorkflowHandle<T>; runId: string; existing: boolean }> {
  try {
    const handle = await client.workflow.start(workflow, {
      ...options,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: mode === 'replace' ? 'ALLOW_DUPLICATE' : 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    return { handle, runId: handle.firstExecutionRunId, existing: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // The run for this key already completed: its result is the answer.
    const handle = client.workflow.getHandle<T>(options.workflowId);
    return { handle, runId: (await handle.describe()).runId, existing: true };
  }
}

/**
 * Start the run for mail a tool has accepted (and staged). When it cannot start (Temporal unreachable,
 * say), the failure is recorded in `ingest_failures` under the content's SHA-256, with the type and text
 * the caller reads, and rethrown: nothing accepted disappears without a trace.
 */
export async function recordStartFailure<T>(
  ctx: Pick<ToolContext, 'sql' | 'log'>,
  tenantId: string,
  sha256: string,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const { type, message } = describeFailure(err);
    await recordIngestFailure(ctx.sql, tenantId, sha256, type, message).catch((recordErr: unknown) =>
      // The caller still gets the start's failure; the log keeps what could not be recorded.
      ctx.log.error('could not record a failed start', { sha256, type, error: recordErr }),
    );
    throw err;
  }
}

interface ProgressExtra {
  _meta?: { progressToken?: string | number };
  sendNotification: (n: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; total?: number; message?: string };
  }) => Promise<void>;
}

/** Progress polling for waitForWorkflow, when the caller asked for progress with a progressToken. */
export function progressNotifier<P>(
  extra: ProgressExtra,
  query: QueryDefinition<P>,
  toProgress: (p: P) => { progress: number; total: number; message: string },
  everyMs?: number,
): WaitOptions<P>['progress'] {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  return {
    query,
    everyMs,
    onProgress: (p) =>
      extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken, ...toProgress(p) },
      }),
  };
}
