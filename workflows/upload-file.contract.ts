/**
 * Contract of the file upload (workflows/upload-file.ts). The workflow id is
 * `upload/<tenant>/<bucket>/<sha256>`, so the same bytes in the same bucket meet the same run. The
 * workflow runs on the main queue; its activities run on the files queue the input names.
 */
import { type ActivityOptions, defineQuery } from '@temporalio/workflow';
import type { FileSource } from '../activities/file-sources.js';
import type { PrepareUploadInput } from '../activities/file-uploader.js';
import type { UploadFileResult } from '../core/records.js';
import { type WorkflowContract, workflowContract } from './contract.js';
import { bounded, QUICK_RETRY } from './retry-presets.js';

export type { FileSource, UploadFileResult };

/** What to upload (tenant, bucket, name, source, SHA-256: see PrepareUploadInput) and where to run it. */
export interface UploadFileInput extends PrepareUploadInput {
  /** The files task queue (TEMPORAL_FILES_TASK_QUEUE); workflow code cannot read configuration. */
  filesTaskQueue: string;
}

export type UploadStage = 'preparing' | 'uploading' | 'uploaded' | 'failed';
export interface UploadState {
  stage: UploadStage;
  fileId?: string;
  size?: number;
}

export const uploadStateQuery = defineQuery<UploadState>('uploadState');

/** The activity whose heartbeat carries `{ bytesSent, uploadUrl }` (read with describe()). */
export const UPLOAD_ACTIVITY = 'uploadFileObject';

export function uploadWorkflowId(tenantId: string, bucket: string, sha256: string): string {
  return `upload/${tenantId}/${bucket}/${sha256}`;
}

export type UploadFileWorkflow = (input: UploadFileInput) => Promise<UploadFileResult>;
export const uploadFileContract: WorkflowContract<UploadFileWorkflow> =
  workflowContract<UploadFileWorkflow>('uploadFileWorkflow');

/** Preparing (hashing a large import file reads it once: minutes, not hours), completing, failing. */
export function fileStepOptions(filesTaskQueue: string): ActivityOptions {
  return { taskQueue: filesTaskQueue, startToCloseTimeout: '10 minutes', retry: bounded(QUICK_RETRY, 10) };
}

/** Sending the bytes: the heartbeat detects a dead worker (the activity beats at least every 2 s). */
export function uploadObjectOptions(filesTaskQueue: string): ActivityOptions {
  return {
    taskQueue: filesTaskQueue,
    heartbeatTimeout: '15 seconds',
    startToCloseTimeout: '2 hours',
    retry: bounded(QUICK_RETRY, 12),
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  };
}
