/**
 * Upload progress as the upload activity heartbeats it: `{ bytesSent, uploadUrl }` in the pending
 * activity's heartbeat details, read with describe(). The workflow itself never sees heartbeats, so this
 * is the one place progress can come from without putting it in the history.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

export interface UploadProgressView {
  bytesSent: number;
}

export async function readUploadProgress(handle: WorkflowHandle): Promise<UploadProgressView | undefined> {
  const description = await handle.describe();
  for (const pending of description.raw.pendingActivities ?? []) {
    if (pending.activityType?.name !== 'uploadFileObject') continue;
    const payload = pending.heartbeatDetails?.payloads?.[0];
    if (!payload) return { bytesSent: 0 };
    const details = defaultPayloadConverter.fromPayload<{ bytesSent?: number }>(payload);
    return { bytesSent: Number(details?.bytesSent ?? 0) };
  }
  return undefined;
}
