/**
 * Wait for a workflow on behalf of a caller, but never for longer than the client will: MCP clients
 * time out at 60 s by default, so after `waitMs` the call returns with status `running` and the caller
 * follows up with `get_workflow`. While waiting it polls progress, if given: a workflow query,
 * or any reader of the handle (uploads read their activity's heartbeat from describe()).
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { QueryDefinition } from '@temporalio/workflow';
import type { Progress, ProgressListener } from './deps.js';
import { executeUpdate } from './workflows.js';

export type WaitOutcome<R> =
  | { status: 'completed'; result: R }
  /** The run failed: `error` is what the client threw; the caller rethrows it (core/failure.ts renders it). */
  | { status: 'failed'; error: unknown }
  | { status: 'running' };

export interface WaitOptions<P> {
  waitMs: number;
  signal?: AbortSignal;
  progress?: {
    query?: QueryDefinition<P>;
    read?: (handle: WorkflowHandle) => Promise<P | undefined>;
    onProgress: (p: P) => Promise<void> | void;
    everyMs?: number;
  };
}

export async function waitForWorkflow<R, P>(
  handle: WorkflowHandle,
  opts: WaitOptions<P>,
): Promise<WaitOutcome<R>> {
  let polling = true;
  const poll = opts.progress ? pollProgress(handle, opts.progress, () => polling) : Promise.resolve();
  try {
    return await withinWait(settled(handle.result() as Promise<R>), opts);
  } finally {
    polling = false;
    await poll;
  }
}

/**
 * Wait for an update of a running workflow to complete (its handler's answer), bounded like
 * waitForWorkflow: no polling, no query; one request the server answers when the handler completes.
 */
export function waitForUpdate<R>(
  handle: WorkflowHandle,
  update: UpdateDefinition<R, []>,
  opts: Pick<WaitOptions<never>, 'waitMs' | 'signal'>,
): Promise<WaitOutcome<R>> {
  return withinWait(settled(executeUpdate(handle, update, [])), opts);
}

function settled<R>(result: Promise<R>): Promise<WaitOutcome<R>> {
  return result.then(
    (value) => ({ status: 'completed', result: value }) as const,
    (error: unknown) => ({ status: 'failed', error }) as const,
  );
}

/** The outcome, or `running` once `waitMs` has passed or the caller gave up (`signal`). */
async function withinWait<R>(
  outcome: Promise<WaitOutcome<R>>,
  opts: Pick<WaitOptions<never>, 'waitMs' | 'signal'>,
): Promise<WaitOutcome<R>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ status: 'running' }>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'running' }), opts.waitMs);
    opts.signal?.addEventListener('abort', () => resolve({ status: 'running' }), { once: true });
  });
  try {
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function pollProgress<P>(
  handle: WorkflowHandle,
  progress: NonNullable<WaitOptions<P>['progress']>,
  active: () => boolean,
): Promise<void> {
  let last = '';
  while (active()) {
    try {
      const current = progress.read
        ? await progress.read(handle)
        : progress.query
          ? await handle.query(progress.query)
          : undefined;
      const key = JSON.stringify(current);
      if (current !== undefined && key !== last) {
        last = key;
        await progress.onProgress(current);
      }
    } catch {
      // The workflow may have completed (or not be picked up yet); the result promise decides.
    }
    await new Promise((r) => setTimeout(r, progress.everyMs ?? 250));
  }
}

/**
 * Progress polling for waitForWorkflow when the caller listens (else none): read with `source` (a query
 * or any reader of the handle), reported through `toProgress`.
 */
export function progressOf<P>(
  onProgress: ProgressListener | undefined,
  source: { query: QueryDefinition<P> } | { read: (handle: WorkflowHandle) => Promise<P | undefined> },
  toProgress: (p: P) => Progress,
  everyMs?: number,
): WaitOptions<P>['progress'] {
  if (!onProgress) return undefined;
  return { ...source, everyMs, onProgress: (p) => onProgress(toProgress(p)) };
}
