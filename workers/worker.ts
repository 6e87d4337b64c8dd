/**
 * The workers this process runs, one per task queue. Today: `durable-inbox` (workflows, parsing and
 * database activities). Tests pass a prebuilt workflow bundle so workflow code is bundled once per run.
 *
 * To add a task queue (uploads, rate-limited LLM calls), add a Worker to createWorkers: only the main
 * queue's worker carries workflows; the others register activities only.
 */
import { fileURLToPath } from 'node:url';
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities/index.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
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
  return [main];
}
