/**
 * Supabase Storage through supabase-js's storage client (@supabase/storage-js, the object behind
 * `supabase.storage`; a full createClient would also build a Realtime client, which on Node 20 refuses
 * to start without the `ws` package, and a worker needs none of it): a standard upload (one streamed request) up to 6 MB, TUS
 * resumable uploads above that. Every error goes through the classifier with the service's own body.
 * This module and the stand-in under tests/ are the only code that knows Storage's URLs.
 */
import { Readable } from 'node:stream';
import { StorageClient } from '@supabase/storage-js';
import { ErrorType } from '../../core/errors.js';
import type { ObjectInfo, StorageBackend, UploadOptions, UploadOutcome, UploadSource } from './backend.js';
import { classifyStorageResponse, networkFailure, noSuchBucket, StorageFailure } from './errors.js';
import { capturingFetch, withCapture } from './http-capture.js';
import { CountingStream } from './progress-stream.js';
import { assertBucketName, assertObjectKey } from './secure-path.js';
import { tusUpload } from './tus-client.js';

/** Supabase's limit for standard uploads; above it, TUS. */
export const STANDARD_UPLOAD_MAX_BYTES = 6 * 1024 * 1024;

export interface SupabaseBackendOptions {
  url: string;
  serviceRoleKey: string;
}

interface ApiError {
  message?: string;
  status?: number;
  statusCode?: string;
  originalError?: unknown;
}

export function createSupabaseBackend(opts: SupabaseBackendOptions): StorageBackend {
  const base = opts.url.replace(/\/+$/, '');
  const authHeaders = { authorization: `Bearer ${opts.serviceRoleKey}`, apikey: opts.serviceRoleKey };
  const client = { storage: new StorageClient(`${base}/storage/v1`, authHeaders, capturingFetch) };

  /** Turn a supabase-js `{ error }` into a classified failure, preferring the raw response we captured. */
  const classifyAnswer = (error: ApiError, captured?: Parameters<typeof classifyStorageResponse>[0]) => {
    if (captured) return classifyStorageResponse(captured);
    if (error.status === undefined) return networkFailure(error.originalError ?? error);
    return classifyStorageResponse({
      httpStatus: error.status,
      body: { statusCode: error.statusCode, message: error.message },
    });
  };
  /** A missing bucket reads the same as on the filesystem backend: `bucket "<name>" does not exist`. */
  const named = (bucket: string, failure: StorageFailure): StorageFailure =>
    failure.type === ErrorType.NoSuchBucket ? noSuchBucket(bucket) : failure;
  const classify = (
    bucket: string,
    error: ApiError,
    captured?: Parameters<typeof classifyStorageResponse>[0],
  ) => named(bucket, classifyAnswer(error, captured));

  const headObject = async (bucket: string, key: string): Promise<ObjectInfo | null> => {
    assertBucketName(bucket);
    assertObjectKey(key);
    const { value, lastError } = await withCapture(() => client.storage.from(bucket).info(key));
    if (!value.error) return { size: Number(value.data.size ?? 0) };
    // Storage answers a missing object with HTTP 400 and statusCode "404" (NoSuchKey): that is "no object";
    // a missing bucket (also "404") stays an error.
    const failure = classify(bucket, value.error as ApiError, lastError);
    if (failure.type === 'NotFound') return null;
    throw failure;
  };

  const standardUpload = async (
    bucket: string,
    key: string,
    source: UploadSource,
    options: UploadOptions,
  ): Promise<UploadOutcome | 'exists'> => {
    const counter = new CountingStream((bytes) => options.onProgress?.({ bytesSent: bytes }));
    const body = source.open(0).pipe(counter);
    const { value, lastError } = await withCapture(
      () =>
        client.storage.from(bucket).upload(key, body as unknown as Readable, {
          contentType: options.contentType,
          upsert: false,
          duplex: 'half',
          // Storage keeps it with the object and serves it: active content is downloaded, never rendered.
          ...(options.contentDisposition && {
            headers: { 'content-disposition': options.contentDisposition },
          }),
        }),
      options.signal,
    );
    if (options.signal?.aborted) throw options.signal.reason;
    if (!value.error) return { alreadyExisted: false, bytesSent: counter.bytes, resumedFrom: 0 };
    const failure = classify(bucket, value.error as ApiError, lastError);
    if (failure.kind === 'exists') return 'exists';
    throw failure;
  };

  return {
    kind: 'supabase',
    headObject,

    async uploadObject(bucket, key, source, options): Promise<UploadOutcome> {
      assertBucketName(bucket);
      assertObjectKey(key);
      const outcome =
        source.size <= STANDARD_UPLOAD_MAX_BYTES
          ? await standardUpload(bucket, key, source, options)
          : await tusUpload(
              {
                endpoint: `${base}/storage/v1/upload/resumable`,
                headers: authHeaders,
                bucket,
                key,
                fetch: globalThis.fetch,
              },
              source,
              options,
            ).catch((err: unknown) => {
              throw err instanceof StorageFailure ? named(bucket, err) : err;
            });
      if (outcome !== 'exists') return outcome;
      // "Already exists": keys are content-addressed, so the same size means a previous attempt finished.
      const existing = await headObject(bucket, key);
      if (existing?.size === source.size) return { alreadyExisted: true, bytesSent: 0, resumedFrom: 0 };
      throw new StorageFailure(
        'fatal',
        'ObjectConflict',
        `"${key}" exists in "${bucket}" with ${existing?.size ?? 'unknown'} bytes, not ${source.size}`,
      );
    },

    async getObject(bucket, key): Promise<Readable> {
      assertBucketName(bucket);
      assertObjectKey(key);
      const { value, lastError } = await withCapture(() => client.storage.from(bucket).download(key));
      if (value.error) throw classify(bucket, value.error as ApiError, lastError);
      return Readable.fromWeb(value.data.stream() as import('node:stream/web').ReadableStream);
    },

    async deleteObjects(bucket, keys): Promise<void> {
      assertBucketName(bucket);
      for (const key of keys) assertObjectKey(key);
      const { value, lastError } = await withCapture(() => client.storage.from(bucket).remove(keys));
      if (value.error) throw classify(bucket, value.error as ApiError, lastError);
    },

    async ensureBucket(bucket): Promise<'created' | 'exists'> {
      assertBucketName(bucket);
      const { value, lastError } = await withCapture(() =>
        client.storage.createBucket(bucket, { public: false }),
      );
      if (!value.error) return 'created';
      // Storage answers an existing bucket with 409 / "Duplicate": that is the idempotent outcome.
      const failure = classify(bucket, value.error as ApiError, lastError);
      if (failure.kind === 'exists') return 'exists';
      throw failure;
    },
  };
}
