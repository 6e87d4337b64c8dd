/**
 * File upload activities (task queue `files`). They run at least once, so every step is keyed:
 * the row by (tenant, bucket, sha256), the object by a content-addressed key, and a retried upload
 * resumes from its heartbeat instead of starting over.
 *
 * Failures carry their class: UserFacingError and fatal storage answers become non-retryable
 * ApplicationFailures with a readable type; everything else (network, 5xx, 429, locks) is retried,
 * 429/SlowDown after the server's Retry-After (nextRetryDelay).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ErrorType } from '../core/errors.js';
import type { StoredFile } from '../core/records.js';
import { type FileRow, findFile } from '../supabase/files.js';
import type { UploadProgress } from '../supabase/storage/backend.js';
import {
  createUploader,
  type FileActivityDeps,
  KEEPALIVE_MS,
  type PreparedUpload,
  type PrepareUploadInput,
  type UploadObjectInput,
  type UploadObjectResult,
} from './file-uploader.js';

export type { FileActivityDeps, PreparedUpload, PrepareUploadInput, UploadObjectInput, UploadObjectResult };

function summary(row: FileRow): StoredFile {
  return {
    fileId: row.id,
    bucket: row.bucket,
    path: row.storagePath,
    size: row.sizeBytes,
    sha256: row.sha256,
    filename: row.filename,
    detectedMime: row.detectedMime,
    declaredMime: row.declaredMime,
    attempts: row.attempts,
  };
}

export function createFileActivities(deps: FileActivityDeps) {
  const uploader = createUploader(deps);

  return {
    /**
     * Hash and sniff the source, claim the row, and check the bucket's rules: all before a byte is sent.
     * A rule violation fails here, non-retryable, and the row says why.
     */
    async prepareFileUpload(input: PrepareUploadInput): Promise<PreparedUpload> {
      return uploader.prepare(input, Context.current().cancellationSignal);
    },

    /**
     * Send the bytes. Heartbeats carry `{ bytesSent, uploadUrl }`; a retry (after a crash, a dropped
     * connection, a 5xx) starts from them, or from the row's upload_url when no heartbeat arrived.
     * Cancelling the workflow cancels this activity, which aborts the request in flight.
     */
    async uploadFileObject(input: UploadObjectInput): Promise<UploadObjectResult> {
      const ctx = Context.current();
      let progress: UploadProgress = { bytesSent: 0 };
      const keepalive = setInterval(() => ctx.heartbeat(progress), KEEPALIVE_MS);
      try {
        return await uploader.send(input, {
          signal: ctx.cancellationSignal,
          resume: ctx.info.heartbeatDetails as UploadProgress | undefined,
          onProgress: (p) => {
            progress = p;
            ctx.heartbeat(p);
          },
        });
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        throw err;
      } finally {
        clearInterval(keepalive);
      }
    },

    async completeFileUpload(input: { tenantId: string; fileId: string }): Promise<StoredFile> {
      return summary(await uploader.complete(input.tenantId, input.fileId));
    },

    async loadStoredFile(input: { tenantId: string; fileId: string }): Promise<StoredFile> {
      const row = await findFile(deps.sql, input.tenantId, input.fileId);
      if (!row) {
        throw ApplicationFailure.create({
          type: ErrorType.NotFound,
          message: 'file row gone',
          nonRetryable: true,
        });
      }
      return summary(row);
    },

    async failFileUpload(input: { tenantId: string; fileId: string; reason: string }): Promise<void> {
      await uploader.fail(input.tenantId, input.fileId, input.reason);
    },
  };
}

export type FileActivities = ReturnType<typeof createFileActivities>;
