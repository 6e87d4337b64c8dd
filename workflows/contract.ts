/**
 * What a workflow contract is. Each workflow has one (`<name>.contract.ts`): its input and result types,
 * its messages (signals, queries, updates), its workflow id function, the task queue it runs on and its
 * activity options. Clients (the app layer, tests, benches) start workflows by the contract's type name,
 * typed by its signature, so they never import workflow code; the workflow imports its contract.
 *
 * A contract imports only types, `@temporalio/workflow` message definitions and core/.
 */
import type { Workflow } from '@temporalio/workflow';

/** The task queues by role; their names come from configuration (TEMPORAL_TASK_QUEUE, TEMPORAL_FILES_TASK_QUEUE). */
export type TaskQueueRole = 'main' | 'files';
export type TaskQueues = Record<TaskQueueRole, string>;

export interface WorkflowContract<W extends Workflow> {
  /** The workflow function's exported name: what the worker registers and clients start. */
  readonly workflowType: string;
  /** The queue the workflow itself runs on (its activities may name others in their options). */
  readonly taskQueue: TaskQueueRole;
  /** Never set: carries the workflow's signature, so starts by name stay typed. */
  readonly signature?: W;
}

export function workflowContract<W extends Workflow>(
  workflowType: string,
  taskQueue: TaskQueueRole = 'main',
): WorkflowContract<W> {
  return { workflowType, taskQueue };
}
