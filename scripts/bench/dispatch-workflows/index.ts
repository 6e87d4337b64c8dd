/** The dispatch bench's workflows: nothing of the project's, only what a workflow task costs. */
import { proxyLocalActivities } from '@temporalio/workflow';

const { noop } = proxyLocalActivities<{ noop(): Promise<number> }>({ startToCloseTimeout: '10 seconds' });

/** One workflow task, no commands but the completion. */
export async function trivialWorkflow(): Promise<string> {
  return 'done';
}

/** One workflow task with a local activity in it (as the ingestion run's store step). */
export async function localStepWorkflow(): Promise<number> {
  return await noop();
}
