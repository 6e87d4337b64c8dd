/**
 * The workers this process runs, one per task queue:
 * - `durable-inbox` (TEMPORAL_TASK_QUEUE): every workflow, parsing, database activities, the heuristic
 *   analyser;
 * - `files` (TEMPORAL_FILES_TASK_QUEUE): upload activities only, with bounded concurrency, because each
 *   upload holds a connection and a 6 MB chunk;
 * - `ai-<provider>` for the configured LLM provider: provider calls only, rate-limited for the whole
 *   queue (maxTaskQueueActivitiesPerSecond, enforced by the server across all workers) and capped in
 *   concurrency per worker, so a provider's quota is respected and its outage stays on its own queue.
 *
 * Tests pass a prebuilt workflow bundle so workflow code is bundled once per run. Only the main queue's
 * worker carries workflows; the others register activities only.
 */
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import type { DataConverter } from '@temporalio/common';
import {
  type NativeConnection,
  Worker,
  type WorkerInterceptors,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { type ActivityDeps, createActivities, createFilesQueueActivities } from '../activities/index.js';
import { aiTaskQueue } from '../core/ai-providers.js';
import type { Config } from '../core/config.js';
import { toApplicationFailure } from '../core/failure.js';
import type { Tracing } from '../temporal/tracing.js';

/**
 * Every activity's failure passes through one conversion (core/failure.ts): typed, retryable or not as the
 * error says, secrets redacted before the history keeps it.
 */
const failureInterceptors: NonNullable<WorkerInterceptors['activity']> = [
  () => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          // The attempt lets a class of failure end sooner than the retry policy (core/failure.ts).
          throw toApplicationFailure(err, { attempt: Context.current().info.attempt });
        }
      },
    },
  }),
];

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  files: { taskQueue: string; concurrency: number };
  deps: ActivityDeps;
  /**
   * The payload codec and failure converter (temporal/data-converter.ts). A prebuilt bundle must have been
   * built with the same failureConverterPath.
   */
  dataConverter: DataConverter;
  workflowBundle?: WorkflowBundleOption;
  /** Traces (temporal/tracing.ts): activity spans, and workflow spans when the worker bundles its code. */
  tracing?: Tracing['worker'];
  /** The main queue's tuning (TEMPORAL_MAX_CACHED_WORKFLOWS and friends); unset fields: SDK defaults. */
  tuning?: Config['temporal']['worker'];
}

export async function createWorkers(opts: WorkerOptions): Promise<Worker[]> {
  const activities = createActivities(opts.deps);
  const { tracing } = opts;
  // Tracing first, so its span sees the failure as converted. Workflow interceptor modules apply only
  // when the worker bundles (workflowsPath); a prebuilt bundle must have been built with them.
  const interceptors: WorkerInterceptors = {
    activity: [...(tracing?.activityInterceptors ?? []), ...failureInterceptors],
    ...(tracing && !opts.workflowBundle ? { workflowModules: tracing.workflowModules } : {}),
  };
  const main = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    dataConverter: opts.dataConverter,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities,
    interceptors,
    ...(tracing ? { sinks: tracing.sinks } : {}),
    // Parsing is CPU-bound and the default machine has 2 cores; more slots only add queueing.
    maxConcurrentActivityTaskExecutions: 16,
    // Long activities here (retention purges, the IMAP watch) resume from their last heartbeat: send it
    // within seconds, not the SDK's 0.8 × heartbeatTimeout, so a retried attempt repeats (and a report
    // loses) at most a few seconds of work, and a loaded machine does not miss the timeout.
    maxHeartbeatThrottleInterval: '5 seconds',
    ...mainQueueTuning(opts.tuning),
  });
  const files = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    dataConverter: opts.dataConverter,
    taskQueue: opts.files.taskQueue,
    activities: createFilesQueueActivities(opts.deps),
    interceptors,
    maxConcurrentActivityTaskExecutions: opts.files.concurrency,
    // Heartbeats carry upload progress; send them at least every second so callers (the MCP tool's
    // progress notifications, the Web UI) see it move, and a crash loses at most a second of it.
    maxHeartbeatThrottleInterval: '1 second',
  });
  const workers = [main, files];
  const { ai } = opts.deps;
  if (ai.llm) {
    workers.push(
      await Worker.create({
        connection: opts.connection,
        namespace: opts.namespace,
        dataConverter: opts.dataConverter,
        taskQueue: aiTaskQueue(ai, ai.llm.provider),
        activities: { analyzeWithLlm: activities.analyzeWithLlm },
        interceptors,
        // Both limits: the server's applies across all workers on the queue but admits a burst per
        // task-queue partition; the worker's own is exact for what this process starts.
        maxTaskQueueActivitiesPerSecond: ai.llm.ratePerSecond,
        maxActivitiesPerSecond: ai.llm.ratePerSecond,
        maxConcurrentActivityTaskExecutions: ai.llm.maxConcurrency,
      }),
    );
  }
  return workers;
}

/** The SDK's names for the main queue's tuning; only the settings given. */
function mainQueueTuning(tuning: WorkerOptions['tuning'] = {}) {
  return {
    ...(tuning.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: tuning.maxCachedWorkflows }),
    ...(tuning.workflowTaskPollers === undefined
      ? {}
      : {
          workflowTaskPollerBehavior: {
            type: 'simple-maximum',
            maximum: tuning.workflowTaskPollers,
          } as const,
        }),
    ...(tuning.maxConcurrentWorkflowTasks === undefined
      ? {}
      : { maxConcurrentWorkflowTaskExecutions: tuning.maxConcurrentWorkflowTasks }),
    ...(tuning.stickyQueueTimeoutMs === undefined
      ? {}
      : { stickyQueueScheduleToStartTimeout: tuning.stickyQueueTimeoutMs }),
  };
}
