/**
 * Activity options of the raw-message archive (workflows/raw-archive.ts), the workflow-side step that
 * email ingestion and mbox imports share. It is not a workflow of its own, so it has no id or queue.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import { bounded, PATIENT_RETRY } from './retry-presets.js';

export function rawArchiveActivityOptions(filesTaskQueue: string): ActivityOptions {
  return {
    taskQueue: filesTaskQueue,
    startToCloseTimeout: '30 minutes',
    // The activity heartbeats every 2 seconds while it works.
    heartbeatTimeout: '30 seconds',
    retry: bounded(PATIENT_RETRY, 8),
  };
}
