/**
 * The steps of one upload, as plain functions: prepare (hash, sniff, claim the row, check the bucket's
 * rules), send (the bytes, resumable), complete. The upload activities wrap each step in its own
 * activity; the raw-message archive runs all three for many small files in one activity. Both therefore
 * share dedup, rules, resume and error classes.
 *
 * Errors are thrown as they are (UserFacingError, StorageFailure, anything else); the worker's activity
 * interceptor gives them their Temporal class (core/failure.ts, toApplicationFailure).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ACTIVE_SERVED_TYPE, type ContentType, isActive, typeAllowed } from '../core/content-class.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { describeFailure } from '../core/failure.js';
import { metrics } from '../core/metrics.js';
import type { Sql } from '../supabase/db.js';
import {
  type BucketRules,
  bucketRules,
  claimFile,
  type FileRow,
  findFile,
  markFileFailed,
  markFileUploaded,
  recordUploadAttempt,
  recordUploadUrl,
} from '../supabase/files.js';
import type { StorageBackend, UploadProgress, UploadSource } from '../supabase/storage/backend.js';
import { StorageFailure } from '../supabase/storage/errors.js';
import { assertBucketName, assertFileName, storageKeyFor } from '../supabase/storage/secure-path.js';
import { inspectSource, normaliseMime } from './file-inspect.js';
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
  /** The type the object is stored (and served) with: ACTIVE_SERVED_TYPE for active content. */
  contentType: string;
  /** `attachment; filename="…"` for active content (SVG, HTML, XML): downloaded, never rendered. */
  contentDisposition?: string;
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
  contentDisposition?: string;
}

export interface UploadObjectResult {
  bytesSent: number;
  resumedFrom: number;
  alreadyExisted: boolean;
}

/** Heartbeat every so often even while one request is in flight, so a slow link is not a dead worker. */
export const KEEPALIVE_MS = 2000;

export interface SendOptions {
  signal: AbortSignal;
  /** Progress from the last attempt's heartbeat; without it, the row's recorded upload URL. */
  resume?: UploadProgress;
  onProgress?: (p: UploadProgress) => void;
}

/** Whether retrying the same request can never succeed: bad input, rules, a fatal storage answer. */
export function isFinal(err: unknown): err is UserFacingError | StorageFailure {
  return err instanceof UserFacingError || (err instanceof StorageFailure && err.kind !== 'retry');
}

/**
 * Why these bytes may not go into the bucket under its rules (and the global size cap), or null. Pure,
 * so a batch checks many files against one read of the rules.
 */
export function violationOf(
  rules: BucketRules,
  maxUploadBytes: number,
  bucket: string,
  file: { size: number; declared: string | null; content: ContentType },
): UserFacingError | null {
  const { size, declared, content } = file;
  const limit = Math.min(rules.sizeLimitBytes ?? Number.POSITIVE_INFINITY, maxUploadBytes);
  if (size > limit) {
    return new UserFacingError(
      ErrorType.EntityTooLarge,
      `${size} bytes is over the ${limit}-byte limit of bucket "${bucket}"`,
    );
  }
  if (!typeAllowed(content, rules.allowedMimeTypes)) {
    const claimed = declared && declared !== content.mime ? ` (declared ${declared})` : '';
    const active = isActive(content) ? '; active content passes only a rule that names its type exactly' : '';
    return new UserFacingError(
      ErrorType.InvalidMimeType,
      `bucket "${bucket}" allows ${rules.allowedMimeTypes?.join(', ')}, and this file is ` +
        `${content.mime} by its content${claimed}${active}`,
    );
  }
  return null;
}

/** The headers an object is stored (and served) with. */
export function servedAs(
  content: ContentType,
  storagePath: string,
): Pick<PreparedUpload, 'contentType' | 'contentDisposition'> {
  // Active content is stored to be downloaded: a browser opening it never runs its scripts.
  return isActive(content)
    ? {
        contentType: ACTIVE_SERVED_TYPE,
        contentDisposition: `attachment; filename="${storagePath.split('/').pop()}"`,
      }
    : { contentType: content.mime };
}

export function createUploader(deps: FileActivityDeps) {
  const { sql, storage } = deps;
  const sourceDeps = { sql, importDir: deps.files.importDir };

  /** The bucket's rules (and the global size cap), checked before a byte is sent. */
  async function ruleViolation(
    tenantId: string,
    bucket: string,
    size: number,
    declared: string | null,
    content: ContentType,
  ): Promise<UserFacingError | null> {
    return violationOf(await bucketRules(sql, tenantId, bucket), deps.files.maxUploadBytes, bucket, {
      size,
      declared,
      content,
    });
  }

  /**
   * The write itself, from a source already open and a row already counted (the batch of the raw
   * archive reads its staged bytes and counts its attempts for many files at once).
   */
  async function sendSource(
    input: UploadObjectInput,
    source: UploadSource,
    resume: UploadProgress | undefined,
    opts: SendOptions,
  ): Promise<UploadObjectResult> {
    try {
      const sent = await storage.uploadObject(input.bucket, input.storagePath, source, {
        contentType: input.contentType,
        contentDisposition: input.contentDisposition,
        sha256: input.sha256,
        signal: opts.signal,
        resume,
        onProgress: opts.onProgress,
        onUploadUrl: (url) => recordUploadUrl(sql, input.tenantId, input.fileId, url),
      });
      metrics.uploaded(input.bucket, input.size - (resume?.bytesSent ?? 0), input.tenantId);
      return sent;
    } catch (err) {
      metrics.uploadFailed(input.bucket, describeFailure(err).type);
      throw err;
    }
  }

  return {
    /**
     * Hash and sniff the source, claim the row, and check the bucket's rules: all before a byte is sent.
     * A rule violation is recorded on the row (a later request, say after the rules change, retries it).
     */
    async prepare(input: PrepareUploadInput, signal: AbortSignal): Promise<PreparedUpload> {
      assertBucketName(input.bucket);
      assertFileName(input.filename);
      const source = await openFileSource(sourceDeps, input.tenantId, input.source);
      const declared = normaliseMime(input.declaredMime);
      const facts = await inspectSource(source, declared, signal);
      if (facts.sha256 !== input.sha256) {
        throw new UserFacingError(
          ErrorType.SourceChanged,
          `the file's SHA-256 is now ${facts.sha256}, not ${input.sha256}: it changed after the request`,
        );
      }
      const detected = facts.content.mime;
      const { row } = await claimFile(sql, {
        tenantId: input.tenantId,
        bucket: input.bucket,
        storagePath: storageKeyFor(input.tenantId, facts.sha256, input.filename),
        filename: input.filename,
        sizeBytes: facts.size,
        declaredMime: declared,
        detectedMime: detected,
        mimeMismatch: Boolean(declared && declared !== detected),
        sha256: facts.sha256,
      });
      const prepared: PreparedUpload = {
        fileId: row.id,
        storagePath: row.storagePath,
        size: facts.size,
        ...servedAs(facts.content, row.storagePath),
        detectedMime: detected,
        mimeMismatch: row.mimeMismatch,
        deduplicated: row.status === 'uploaded',
      };
      if (prepared.deduplicated) return prepared;
      const violation = await ruleViolation(
        input.tenantId,
        input.bucket,
        facts.size,
        declared,
        facts.content,
      );
      if (violation) {
        await markFileFailed(sql, input.tenantId, row.id, `${violation.type}: ${violation.message}`);
        throw violation;
      }
      return prepared;
    },

    /** Send the bytes, resuming from `opts.resume` or from the row's recorded upload URL. */
    async send(input: UploadObjectInput, opts: SendOptions): Promise<UploadObjectResult> {
      const row = await findFile(sql, input.tenantId, input.fileId);
      if (!row) {
        throw ApplicationFailure.create({
          type: ErrorType.NotFound,
          message: `file ${input.fileId} disappeared before its upload`,
          nonRetryable: true,
        });
      }
      await recordUploadAttempt(sql, input.tenantId, input.fileId);
      const resume = opts.resume?.uploadUrl
        ? opts.resume
        : row.uploadUrl
          ? { bytesSent: 0, uploadUrl: row.uploadUrl }
          : undefined;
      opts.onProgress?.(resume ?? { bytesSent: 0 });
      const source = await openFileSource(sourceDeps, input.tenantId, input.source);
      if (source.size !== input.size) {
        throw new UserFacingError(
          ErrorType.SourceChanged,
          `the file is now ${source.size} bytes, not ${input.size}`,
        );
      }
      return sendSource(input, source, resume, opts);
    },

    sendSource,

    complete(tenantId: string, fileId: string): Promise<FileRow> {
      return markFileUploaded(sql, tenantId, fileId);
    },

    fail(tenantId: string, fileId: string, reason: string): Promise<void> {
      return markFileFailed(sql, tenantId, fileId, reason.slice(0, 2000));
    },
  };
}
