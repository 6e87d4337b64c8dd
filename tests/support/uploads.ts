/** Test helpers for uploads: import files with known bytes, start the upload workflow, read its history. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { readUploadProgress } from '../../app/workflows.js';
import { TenantId } from '../../workflows/search-attributes.js';
import {
  type UploadFileInput,
  type UploadFileWorkflow,
  uploadFileContract,
  uploadWorkflowId,
} from '../../workflows/upload-file.contract.js';

export interface ImportFile {
  path: string;
  bytes: Buffer;
  sha256: string;
}

/** Write random bytes (or the given ones) into the import directory. */
export async function importFile(
  importDir: string,
  name: string,
  sizeOrBytes: number | Buffer,
): Promise<ImportFile> {
  const bytes = typeof sizeOrBytes === 'number' ? randomBytes(sizeOrBytes) : sizeOrBytes;
  await mkdir(importDir, { recursive: true });
  await writeFile(path.join(importDir, name), bytes);
  return { path: name, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function startUpload(
  client: Client,
  env: Record<string, string>,
  tenantId: string,
  bucket: string,
  file: ImportFile,
  extra: Partial<UploadFileInput> = {},
): Promise<WorkflowHandle<UploadFileWorkflow>> {
  return client.workflow.start<UploadFileWorkflow>(uploadFileContract.workflowType, {
    taskQueue: env.TEMPORAL_TASK_QUEUE!,
    workflowId: uploadWorkflowId(tenantId, bucket, file.sha256),
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [{ key: TenantId, value: tenantId }],
    staticSummary: `Upload "${file.path}" to ${bucket}`,
    args: [
      {
        tenantId,
        bucket,
        filename: file.path,
        source: { kind: 'import', path: file.path },
        sha256: file.sha256,
        filesTaskQueue: env.TEMPORAL_FILES_TASK_QUEUE!,
        ...extra,
      },
    ],
  });
}

export interface ActivityAttempt {
  attempt: number;
  lastFailureType?: string;
  nextRetryDelaySeconds?: number;
}

/** Every started attempt of an activity type, with the failure that preceded it (from the history). */
export async function activityAttempts(
  handle: WorkflowHandle,
  activityType: string,
): Promise<ActivityAttempt[]> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => String(e.eventId)),
  );
  return events
    .filter((e) => {
      const started = e.activityTaskStartedEventAttributes;
      return started && scheduled.has(String(started.scheduledEventId));
    })
    .map((e) => {
      const started = e.activityTaskStartedEventAttributes!;
      const info = started.lastFailure?.applicationFailureInfo;
      const delay = info?.nextRetryDelay?.seconds;
      return {
        attempt: started.attempt ?? 0,
        lastFailureType: info?.type ?? undefined,
        nextRetryDelaySeconds: delay === undefined || delay === null ? undefined : Number(delay),
      };
    });
}

/** Poll the upload activity's heartbeat (as the MCP tool does) until it reports `atLeast` bytes sent. */
export async function waitForUploadProgress(handle: WorkflowHandle, atLeast: number): Promise<number> {
  let sent = 0;
  for (let i = 0; i < 300 && sent < atLeast; i++) {
    sent = (await readUploadProgress(handle))?.bytesSent ?? 0;
    if (sent < atLeast) await new Promise((r) => setTimeout(r, 100));
  }
  return sent;
}
