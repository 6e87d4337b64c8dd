/**
 * The workers this process runs, one per task queue:
 * - `durable-inbox` (TEMPORAL_TASK_QUEUE): every workflow, parsing and database activities;
 * - `files` (TEMPORAL_FILES_TASK_QUEUE): upload activities only, with bounded concurrency, because each
 *   upload holds a connection and a 6 MB chunk.
 * Tests pass a prebuilt workflow bundle so workflow code is bundled once per run.
 *
 * To add a task queue (rate-limited LLM calls), add a Worker to createWorkers: only the main queue's
 * worker carries workflows; the others register activities only.
 */
import { fileURLToPath } from 'node:url';
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { type ActivityDeps, createActivities, createFilesQueueActivities } from '../activities/index.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  files: { taskQueue: string; concurrency: number };
  deps: ActivityDeps;
  workflowBundle?: WorkflowBundleOption;
}

export async function createWorkers(opts: WorkerOptions): Promise<Worker[]> {
  const main = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(opts.deps),
    // Parsing is CPU-bound and the default machine has 2 cores; more slots only add queueing.
    maxConcurrentActivityTaskExecutions: 16,
  });
  const files = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.files.taskQueue,
    activities: createFilesQueueActivities(opts.deps),
    maxConcurrentActivityTaskExecutions: opts.files.concurrency,
    // Heartbeats carry upload progress; send them at least every second so callers (the MCP tool's
    // progress notifications, the Web UI) see it move, and a crash loses at most a second of it.
    maxHeartbeatThrottleInterval: '1 second',
  });
  return [main, files];
}
