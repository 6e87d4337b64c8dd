/**
 * File upload: put one file into a storage bucket, deduplicated by content, with classified retries,
 * heartbeat progress and resume.
 *
 * Startable from a client (the `upload_file` tool) or as a child workflow (email attachments, file
 * cleanup): the input is self-contained and names its source (an import path or staged content) instead
 * of carrying bytes, so the history stays small. Its contract (upload-file.contract.ts) holds the id
 * `upload/<tenant>/<bucket>/<sha256>`, so the same bytes in the same bucket meet the same run.
 *
 * The workflow runs on the main task queue; its activities run on the files queue named in the input.
 */
import {
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type { FileActivities } from '../activities/file-activities.js';
import { failureText } from '../core/failure.js';
import {
  fileStepOptions,
  type UploadFileInput,
  type UploadFileResult,
  type UploadState,
  uploadObjectOptions,
  uploadStateQuery,
} from './upload-file.contract.js';

// ---- Workflow -------------------------------------------------------------------------------------

export async function uploadFileWorkflow(input: UploadFileInput): Promise<UploadFileResult> {
  const state: UploadState = { stage: 'preparing' };
  setHandler(uploadStateQuery, () => state);

  const files = proxyActivities<FileActivities>(fileStepOptions(input.filesTaskQueue));
  const { uploadFileObject } = proxyActivities<FileActivities>(uploadObjectOptions(input.filesTaskQueue));

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
      contentDisposition: prepared.contentDisposition,
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
