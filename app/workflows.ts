/**
 * Starting, joining, reading and following workflow runs, by contract: nothing here imports workflow
 * code. Workflows whose id is a natural key are started with startOrJoin: concurrent calls join the
 * running run (USE_EXISTING), a later call finds the completed run, and only a failed run may be
 * replaced by a new one (ALLOW_DUPLICATE_FAILED_ONLY).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isGrpcServiceError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  type WorkflowHandleWithStartDetails,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { UpdateDefinition, Workflow } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { describeFailure } from '../core/failure.js';
import { type WorkflowStatus, WorkflowStatusSchema } from '../core/records.js';
import { recordIngestFailure } from '../supabase/emails.js';
import { workflowUiUrl } from '../temporal/client.js';
import type { WorkflowContract } from '../workflows/contract.js';
import { UPLOAD_ACTIVITY } from '../workflows/upload-file.contract.js';
import type { AppDeps, TemporalAccess } from './deps.js';
import { seesTemporalUi } from './permissions.js';

export type StartOptions<W extends Workflow> = Omit<WorkflowStartOptions<W>, 'taskQueue'>;

/**
 * Start a run of the contract's workflow on the contract's queue, within the start bound: an unreachable
 * server reads as TemporalUnavailable (gRPC DEADLINE_EXCEEDED, core/failure.ts) in seconds. A start that
 * the server did take before the bound is found again by the caller's retry (natural-key ids).
 */
export function startWorkflow<W extends Workflow>(
  temporal: TemporalAccess,
  contract: WorkflowContract<W>,
  options: StartOptions<W>,
): Promise<WorkflowHandleWithStartDetails<W>> {
  return temporal.client.withDeadline(Date.now() + temporal.startTimeoutMs, () =>
    temporal.client.workflow.start<W>(contract.workflowType, {
      ...options,
      taskQueue: temporal.queues[contract.taskQueue],
    } as WorkflowStartOptions<W>),
  );
}

/**
 * Run Temporal calls (describe, query, signal, update) within the call bound: an unreachable server
 * reads as TemporalUnavailable in seconds, not after the client's retries.
 */
export function withinCallBound<T>(
  temporal: Pick<TemporalAccess, 'client' | 'callTimeoutMs'>,
  calls: () => Promise<T>,
): Promise<T> {
  return temporal.client.withDeadline(Date.now() + temporal.callTimeoutMs, calls);
}

/** How often an update the server aborted with its workflow task is sent again, and the first pause. */
const UPDATE_TRIES = 8;
const UPDATE_RETRY_MS = 25;
/** gRPC FAILED_PRECONDITION. */
const GRPC_FAILED_PRECONDITION = 9;

/**
 * Send an update and wait for its handler's answer: every update the app sends goes through here. The
 * tries share one update id, so a try the server did take is answered, never applied twice. When the
 * workflow task carrying the update fails, the server aborts the update with FAILED_PRECONDITION
 * ("unexpected workflow task failure"): most often the task that ran the handler also completed the run
 * and a signal arrived meanwhile (UnhandledCommand), so the server rewinds the run and the update was
 * never accepted. It is sent again, a few times with a growing pause; a task that keeps failing (a bug
 * in the workflow) surfaces its error after the last try.
 */
export async function executeUpdate<Ret, Args extends unknown[]>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
): Promise<Ret> {
  const updateId = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      // By name: the SDK's overloads split no-argument updates from the rest; `update` ties args to it.
      return await handle.executeUpdate<Ret, [unknown]>(update.name, {
        args: args as unknown as [unknown],
        updateId,
      });
    } catch (err) {
      if (attempt >= UPDATE_TRIES || !abortedWithItsTask(err)) throw err;
      await sleep(UPDATE_RETRY_MS * 2 ** (attempt - 1));
    }
  }
}

function abortedWithItsTask(err: unknown): boolean {
  return (
    err instanceof ServiceError &&
    isGrpcServiceError(err.cause) &&
    err.cause.code === GRPC_FAILED_PRECONDITION
  );
}

export async function startOrJoin<W extends Workflow>(
  temporal: TemporalAccess,
  contract: WorkflowContract<W>,
  options: StartOptions<W>,
  /** `replace`: a completed run may be replaced too (a forced re-run), not only a failed one. */
  mode: 'join' | 'replace' = 'join',
): Promise<{
  handle: WorkflowHandle<W>;
  runId: string;
  existing: boolean;
  /** The first workflow task came back in the start's answer, to this process's worker. */
  eager: boolean;
}> {
  try {
    const handle = await startWorkflow(temporal, contract, {
      ...options,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: mode === 'replace' ? 'ALLOW_DUPLICATE' : 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    return { handle, runId: handle.firstExecutionRunId, existing: false, eager: handle.eagerlyStarted };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // The run for this key already completed: its result is the answer.
    const handle = temporal.client.workflow.getHandle<W>(options.workflowId);
    const { runId } = await withinCallBound(temporal, () => handle.describe());
    return { handle, runId, existing: true, eager: false };
  }
}

/**
 * Start the run for mail the caller has accepted (and staged). When it cannot start (Temporal
 * unreachable, say), the failure is recorded in `ingest_failures` under the content's SHA-256, with the
 * type and text the caller reads, and rethrown: nothing accepted disappears without a trace.
 */
export async function recordStartFailure<T>(
  deps: Pick<AppDeps, 'sql' | 'log'>,
  tenantId: string,
  sha256: string,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const { type, message } = describeFailure(err);
    await recordIngestFailure(deps.sql, tenantId, sha256, type, message).catch((recordErr: unknown) =>
      // The caller still gets the start's failure; the log keeps what could not be recorded.
      deps.log.error('could not record a failed start', { sha256, type, error: recordErr }),
    );
    throw err;
  }
}

/** The Web UI link of a run (or of the workflow's latest run when runId is unknown). */
/**
 * `{ temporalUiUrl }` for a caller who may see the Temporal Web UI in the tenant (owners and admins,
 * app/permissions.ts), else nothing: members and viewers get the workflow id and status only.
 */
export function uiLink(
  deps: Pick<AppDeps, 'temporal' | 'principal'>,
  tenantId: string,
  workflowId: string,
  runId?: string,
): { temporalUiUrl?: string } {
  if (!seesTemporalUi(deps.principal, tenantId)) return {};
  return { temporalUiUrl: workflowUiUrl(deps.temporal.target, workflowId, runId) };
}

/** Temporal's execution status, lower-cased, as callers read it. */
export function toWorkflowStatus(name: string): WorkflowStatus {
  const lower = name.toLowerCase();
  const parsed = WorkflowStatusSchema.safeParse(lower === 'cancelled' ? 'canceled' : lower);
  return parsed.success ? parsed.data : 'unknown';
}

export interface UploadProgressView {
  bytesSent: number;
}

/**
 * Upload progress as the upload activity heartbeats it: `{ bytesSent, uploadUrl }` in the pending
 * activity's heartbeat details, read with describe(). The workflow itself never sees heartbeats, so this
 * is the one place progress can come from without putting it in the history.
 */
export async function readUploadProgress(handle: WorkflowHandle): Promise<UploadProgressView | undefined> {
  const description = await handle.describe();
  for (const pending of description.raw.pendingActivities ?? []) {
    if (pending.activityType?.name !== UPLOAD_ACTIVITY) continue;
    const payloads = pending.heartbeatDetails?.payloads;
    if (!payloads?.[0]) return { bytesSent: 0 };
    // Through the client's data converter: heartbeat details are encrypted like every payload.
    const details = await decodeFromPayloadsAtIndex<{ bytesSent?: number }>(
      handle.client.options.loadedDataConverter,
      0,
      payloads,
    );
    return { bytesSent: Number(details?.bytesSent ?? 0) };
  }
  return undefined;
}
