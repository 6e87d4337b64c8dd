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
import { ErrorType, UserFacingError } from '../core/errors.js';
import type { Sql } from '../supabase/db.js';
import {
  bucketRules,
  claimFile,
  type FileRow,
  findFile,
  markFileFailed,
  markFileUploaded,
  recordUploadAttempt,
  recordUploadUrl,
} from '../supabase/files.js';
import type { StorageBackend, UploadProgress } from '../supabase/storage/backend.js';
import { StorageFailure } from '../supabase/storage/errors.js';
import { assertBucketName, assertFileName, storageKeyFor } from '../supabase/storage/secure-path.js';
import { classify } from './failures.js';
import { inspectSource, mimeAllowed, normaliseMime } from './file-inspect.js';
import { type FileSource, openFileSource } from './file-sources.js';

export interface FileActivityDeps {
  sql: Sql;
  storage: StorageBackend;
  files: { importDir: string; maxUploadBytes: number };
}

export interface PrepareUploadInput {
  tenantId: string;
  bucket: string;
  filename: string;
  declaredMime?: string;
  source: FileSource;
  /** SHA-256 as the starter computed it (part of the workflow id); the activity re-hashes and refuses
   * different bytes. */
  sha256: string;
}

export interface PreparedUpload {
  fileId: string;
  storagePath: string;
  size: number;
  contentType: string;
  detectedMime: string | null;
  mimeMismatch: boolean;
  /** The same bytes were already uploaded to this bucket: nothing will be sent. */
  deduplicated: boolean;
}

export interface UploadObjectInput {
  tenantId: string;
  fileId: string;
  bucket: string;
  storagePath: string;
  source: FileSource;
  size: number;
  sha256: string;
  contentType: string;
}

export interface UploadObjectResult {
  bytesSent: number;
  resumedFrom: number;
  alreadyExisted: boolean;
}

/** The small summary of a stored file that crosses the workflow history. */
export interface StoredFile {
  fileId: string;
  bucket: string;
  path: string;
  size: number;
  sha256: string;
  filename: string;
  detectedMime: string | null;
  declaredMime: string | null;
  attempts: number;
}

/** Heartbeat every so often even while one chunk is in flight, so a slow link is not a dead worker. */
const KEEPALIVE_MS = 2000;

/** Storage errors carry their own retry decision (and Retry-After); everything else as `classify` says. */
function toFailure(err: unknown): unknown {
  if (err instanceof StorageFailure) {
    return ApplicationFailure.create({
      type: err.type,
      message: err.message,
      nonRetryable: err.kind !== 'retry',
      nextRetryDelay: err.kind === 'retry' ? err.retryAfterMs : undefined,
    });
  }
  return classify(err);
}

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
  const { sql, storage } = deps;
  const sourceDeps = { sql, importDir: deps.files.importDir };

  /** The bucket's rules (and the global size cap), checked before a byte is sent. */
  async function ruleViolation(
    tenantId: string,
    bucket: string,
    size: number,
    contentType: string,
  ): Promise<UserFacingError | null> {
    const rules = await bucketRules(sql, tenantId, bucket);
    const limit = Math.min(rules.sizeLimitBytes ?? Number.POSITIVE_INFINITY, deps.files.maxUploadBytes);
    if (size > limit) {
      return new UserFacingError(
        ErrorType.EntityTooLarge,
        `${size} bytes is over the ${limit}-byte limit of bucket "${bucket}"`,
      );
    }
    if (!mimeAllowed(contentType, rules.allowedMimeTypes)) {
      return new UserFacingError(
        ErrorType.InvalidMimeType,
        `bucket "${bucket}" does not accept ${contentType} (allowed: ${rules.allowedMimeTypes?.join(', ')})`,
      );
    }
    return null;
  }

  return {
    /**
     * Hash and sniff the source, claim the row, and check the bucket's rules: all before a byte is sent.
     * A rule violation fails here, non-retryable, and the workflow records it on the row.
     */
    async prepareFileUpload(input: PrepareUploadInput): Promise<PreparedUpload> {
      try {
        assertBucketName(input.bucket);
        assertFileName(input.filename);
        const source = await openFileSource(sourceDeps, input.tenantId, input.source);
        const facts = await inspectSource(source, Context.current().cancellationSignal);
        if (facts.sha256 !== input.sha256) {
          throw new UserFacingError(
            ErrorType.SourceChanged,
            `the file's SHA-256 is now ${facts.sha256}, not ${input.sha256}: it changed after the request`,
          );
        }
        const declared = normaliseMime(input.declaredMime);
        const contentType = facts.detectedMime ?? declared ?? 'application/octet-stream';
        const { row } = await claimFile(sql, {
          tenantId: input.tenantId,
          bucket: input.bucket,
          storagePath: storageKeyFor(input.tenantId, facts.sha256, input.filename),
          filename: input.filename,
          sizeBytes: facts.size,
          declaredMime: declared,
          detectedMime: facts.detectedMime,
          mimeMismatch: Boolean(declared && facts.detectedMime && declared !== facts.detectedMime),
          sha256: facts.sha256,
        });
        const prepared: PreparedUpload = {
          fileId: row.id,
          storagePath: row.storagePath,
          size: facts.size,
          contentType,
          detectedMime: facts.detectedMime,
          mimeMismatch: row.mimeMismatch,
          deduplicated: row.status === 'uploaded',
        };
        if (prepared.deduplicated) return prepared;

        const violation = await ruleViolation(input.tenantId, input.bucket, facts.size, contentType);
        if (violation) {
          // The row says why nothing was sent; a later request (say, after the rules change) retries it.
          await markFileFailed(sql, input.tenantId, row.id, `${violation.type}: ${violation.message}`);
          throw violation;
        }
        return prepared;
      } catch (err) {
        throw toFailure(err);
      }
    },

    /**
     * Send the bytes. Heartbeats carry `{ bytesSent, uploadUrl }`; a retry (after a crash, a dropped
     * connection, a 5xx) starts from them, or from the row's upload_url when no heartbeat arrived.
     * Cancelling the workflow cancels this activity, which aborts the request in flight.
     */
    async uploadFileObject(input: UploadObjectInput): Promise<UploadObjectResult> {
      const ctx = Context.current();
      const row = await findFile(sql, input.tenantId, input.fileId);
      if (!row) {
        throw ApplicationFailure.create({
          type: ErrorType.NotFound,
          message: `file ${input.fileId} disappeared before its upload`,
          nonRetryable: true,
        });
      }
      await recordUploadAttempt(sql, input.tenantId, input.fileId);
      const fromHeartbeat = ctx.info.heartbeatDetails as UploadProgress | undefined;
      const resume = fromHeartbeat?.uploadUrl
        ? fromHeartbeat
        : row.uploadUrl
          ? { bytesSent: 0, uploadUrl: row.uploadUrl }
          : undefined;
      let progress: UploadProgress = resume ?? { bytesSent: 0 };
      ctx.heartbeat(progress);
      const keepalive = setInterval(() => ctx.heartbeat(progress), KEEPALIVE_MS);
      try {
        const source = await openFileSource(sourceDeps, input.tenantId, input.source);
        if (source.size !== input.size) {
          throw new UserFacingError(
            ErrorType.SourceChanged,
            `the file is now ${source.size} bytes, not ${input.size}`,
          );
        }
        const outcome = await storage.uploadObject(input.bucket, input.storagePath, source, {
          contentType: input.contentType,
          sha256: input.sha256,
          signal: ctx.cancellationSignal,
          resume,
          onProgress: (p) => {
            progress = p;
            ctx.heartbeat(p);
          },
          onUploadUrl: (url) => recordUploadUrl(sql, input.tenantId, input.fileId, url),
        });
        return outcome;
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        throw toFailure(err);
      } finally {
        clearInterval(keepalive);
      }
    },

    async completeFileUpload(input: { tenantId: string; fileId: string }): Promise<StoredFile> {
      return summary(await markFileUploaded(sql, input.tenantId, input.fileId));
    },

    async loadStoredFile(input: { tenantId: string; fileId: string }): Promise<StoredFile> {
      const row = await findFile(sql, input.tenantId, input.fileId);
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
      await markFileFailed(sql, input.tenantId, input.fileId, input.reason.slice(0, 2000));
    },
  };
}

export type FileActivities = ReturnType<typeof createFileActivities>;
