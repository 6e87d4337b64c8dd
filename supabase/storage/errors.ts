/**
 * What a storage failure means for a retry. Supabase Storage answers errors with a JSON body
 * `{ statusCode, code?, error, message }` whose `statusCode` is the real meaning and is often not the
 * HTTP status (a too-large object is HTTP 400 with statusCode "413"). This module maps that body, the
 * HTTP status and Retry-After onto: retry with backoff, retry after a given delay, or fail fast with a
 * readable type. It knows nothing about Temporal; the upload activity turns the verdict into a failure.
 */
import { ErrorType } from '../../core/errors.js';

export type StorageFailureKind = 'retry' | 'fatal' | 'exists';

export class StorageFailure extends Error {
  override name = 'StorageFailure';
  constructor(
    readonly kind: StorageFailureKind,
    /** A readable type: one of ErrorType for fatal failures, the service's code for retryable ones. */
    readonly type: string,
    message: string,
    readonly retryAfterMs?: number,
    readonly httpStatus?: number,
    /**
     * For a retryable failure: the attempts it deserves in all, when fewer than the caller's retry policy
     * gives (a full local disk); the worker's interceptor makes the last one non-retryable.
     */
    readonly maxAttempts?: number,
  ) {
    super(message);
  }
}

export interface StorageErrorResponse {
  httpStatus: number;
  body?: unknown;
  retryAfter?: string | null;
}

/** Codes that can never succeed on a retry, by Supabase Storage's `code` (or `error`) field. */
const FATAL_CODES: Record<string, string> = {
  EntityTooLarge: ErrorType.EntityTooLarge,
  InvalidMimeType: ErrorType.InvalidMimeType,
  NoSuchBucket: ErrorType.NoSuchBucket,
  AccessDenied: ErrorType.AccessDenied,
  InvalidJWT: ErrorType.AccessDenied,
  Unauthorized: ErrorType.AccessDenied,
  InvalidKey: ErrorType.InvalidKey,
  InvalidBucketName: ErrorType.InvalidKey,
};
/** Not an error for a caller asking whether an object exists. */
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NoSuchUpload', 'not_found']);
const RETRY_CODES = new Set([
  'SlowDown',
  'LockTimeout',
  'ResourceLocked',
  'DatabaseTimeout',
  'InternalError',
]);
const EXISTS_CODES = new Set(['Duplicate', 'ResourceAlreadyExists', 'KeyAlreadyExists']);

/** The body's statusCode when it is a real status, else the HTTP status. */
function effectiveStatus(res: StorageErrorResponse, body: Record<string, unknown>): number {
  const fromBody = Number(body.statusCode);
  return Number.isInteger(fromBody) && fromBody >= 100 && fromBody <= 599 ? fromBody : res.httpStatus;
}

/** Retry-After as seconds or an HTTP date, capped so a confused server cannot park an upload for a day. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, 10 * 60 * 1000);
}

export function classifyStorageResponse(res: StorageErrorResponse): StorageFailure {
  const body = (res.body && typeof res.body === 'object' ? res.body : {}) as Record<string, unknown>;
  const code = typeof body.code === 'string' ? body.code : undefined;
  const label = typeof body.error === 'string' ? body.error : undefined;
  const message =
    (typeof body.message === 'string' && body.message) || label || `storage answered HTTP ${res.httpStatus}`;
  const status = effectiveStatus(res, body);
  const retryAfterMs = parseRetryAfter(res.retryAfter);
  const fail = (kind: StorageFailureKind, type: string, delay?: number) =>
    new StorageFailure(kind, type, message, delay, res.httpStatus);

  const named = code ?? label?.replace(/\s+/g, '');
  if (named && EXISTS_CODES.has(named)) return fail('exists', named);
  if (named && FATAL_CODES[named]) return fail('fatal', FATAL_CODES[named]);
  if (named && NOT_FOUND_CODES.has(named)) return fail('fatal', 'NotFound');
  if (named && RETRY_CODES.has(named)) return fail('retry', named, retryAfterMs);

  if (status === 429) return fail('retry', 'SlowDown', retryAfterMs);
  if (status === 409) return fail('exists', 'Duplicate');
  if (status === 413) return fail('fatal', ErrorType.EntityTooLarge);
  if (status === 415) return fail('fatal', ErrorType.InvalidMimeType);
  if (status === 401 || status === 403) return fail('fatal', ErrorType.AccessDenied);
  if (status === 404) return fail('fatal', /bucket/i.test(message) ? ErrorType.NoSuchBucket : 'NotFound');
  if (status === 423) return fail('retry', 'ResourceLocked', retryAfterMs);
  // 5xx, including Cloudflare's 520 and Supabase's 544 (database timeout): the service may recover.
  if (status >= 500) return fail('retry', `Http${status}`, retryAfterMs);
  if (status === 408) return fail('retry', 'RequestTimeout', retryAfterMs);
  // Any other 4xx: the request itself is wrong and a retry sends the same request.
  return fail('fatal', code ?? 'InvalidRequest');
}

/**
 * A bucket the backend does not have. Buckets are created at start (the workers' own and
 * STORAGE_BUCKETS) or by an operator, never by an upload that names one: both backends say the same.
 */
export function noSuchBucket(bucket: string): StorageFailure {
  return new StorageFailure('fatal', ErrorType.NoSuchBucket, `bucket "${bucket}" does not exist`);
}

/** A failure below HTTP (refused, reset, DNS, TLS, timeout): always worth a retry. */
export function networkFailure(err: unknown): StorageFailure {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const detail =
    cause instanceof Error
      ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}`
      : String(cause);
  return new StorageFailure('retry', 'NetworkError', `storage unreachable (${detail})`);
}
