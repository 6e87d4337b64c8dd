/**
 * File upload: put one file into a storage bucket, deduplicated by content, with classified retries,
 * heartbeat progress and resume.
 *
 * Startable from a client (the `upload_file` tool) or as a child workflow (email attachments, file
 * cleanup): the input is self-contained and names its source (an import path or staged content) instead
 * of carrying bytes, so the history stays small. The workflow id is `upload/<tenant>/<bucket>/<sha256>`
 * (uploadWorkflowId), so the same bytes in the same bucket meet the same run.
 *
 * The workflow runs on the main task queue; its activities run on the files queue named in the input.
 */
import {
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type { FileActivities, PrepareUploadInput } from '../activities/file-activities.js';
import type { FileSource } from '../activities/file-sources.js';
import { failureText } from '../core/failure.js';

// ---- Messages -------------------------------------------------------------------------------------

export type { FileSource };

/** What to upload (tenant, bucket, name, source, SHA-256: see PrepareUploadInput) and where to run it. */
export interface UploadFileInput extends PrepareUploadInput {
  /** The files task queue (TEMPORAL_FILES_TASK_QUEUE); workflow code cannot read configuration. */
  filesTaskQueue: string;
}

export interface UploadFileResult {
  fileId: string;
  bucket: string;
  path: string;
  size: number;
  sha256: string;
  /** true when the bytes were already stored in this bucket and nothing was sent. */
  deduplicated: boolean;
  detectedMime: string | null;
  mimeMismatch: boolean;
}

export type UploadStage = 'preparing' | 'uploading' | 'uploaded' | 'failed';
export interface UploadState {
  stage: UploadStage;
  fileId?: string;
  size?: number;
}

export const uploadStateQuery = defineQuery<UploadState>('uploadState');

export function uploadWorkflowId(tenantId: string, bucket: string, sha256: string): string {
  return `upload/${tenantId}/${bucket}/${sha256}`;
}

// ---- Workflow -------------------------------------------------------------------------------------

export async function uploadFileWorkflow(input: UploadFileInput): Promise<UploadFileResult> {
  const state: UploadState = { stage: 'preparing' };
  setHandler(uploadStateQuery, () => state);

  const retry = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' };
  const files = proxyActivities<FileActivities>({
    taskQueue: input.filesTaskQueue,
    // Hashing a large import file reads it once; minutes, not hours.
    startToCloseTimeout: '10 minutes',
    retry: { ...retry, maximumAttempts: 10 },
  });
  const { uploadFileObject } = proxyActivities<FileActivities>({
    taskQueue: input.filesTaskQueue,
    // The heartbeat is what detects a dead worker; the activity heartbeats at least every 2 seconds.
    heartbeatTimeout: '15 seconds',
    startToCloseTimeout: '2 hours',
    retry: { ...retry, maximumAttempts: 12 },
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  });

  const prepared = await files.prepareFileUpload(input).catch(async (err: unknown) => {
    state.stage = 'failed';
    throw err;
  });
  state.fileId = prepared.fileId;
  state.size = prepared.size;
  const result = (deduplicated: boolean): UploadFileResult => ({
    fileId: prepared.fileId,
    bucket: input.bucket,
    path: prepared.storagePath,
    size: prepared.size,
    sha256: input.sha256,
    deduplicated,
    detectedMime: prepared.detectedMime,
    mimeMismatch: prepared.mimeMismatch,
  });

  if (prepared.deduplicated) {
    state.stage = 'uploaded';
    setCurrentDetails(`**Already stored** as \`${prepared.storagePath}\`: nothing sent`);
    return result(true);
  }

  state.stage = 'uploading';
  try {
    const sent = await uploadFileObject({
      tenantId: input.tenantId,
      fileId: prepared.fileId,
      bucket: input.bucket,
      storagePath: prepared.storagePath,
      source: input.source,
      size: prepared.size,
      sha256: input.sha256,
      contentType: prepared.contentType,
    });
    await files.completeFileUpload({ tenantId: input.tenantId, fileId: prepared.fileId });
    state.stage = 'uploaded';
    setCurrentDetails(
      `**Uploaded** \`${prepared.storagePath}\` (${prepared.size} bytes` +
        `${sent.resumedFrom > 0 ? `, resumed at byte ${sent.resumedFrom}` : ''}` +
        `${sent.alreadyExisted ? ', object already present' : ''})`,
    );
    return result(false);
  } catch (err) {
    state.stage = 'failed';
    const reason = failureReason(err);
    // Record the failure even when the workflow is being cancelled: the row must not stay "pending".
    await CancellationScope.nonCancellable(() =>
      files.failFileUpload({ tenantId: input.tenantId, fileId: prepared.fileId, reason }),
    );
    setCurrentDetails(`**Failed**: ${reason}`);
    throw err;
  }
}

function failureReason(err: unknown): string {
  if (isCancellation(err)) return 'Canceled: the upload was cancelled';
  return failureText(err);
}
