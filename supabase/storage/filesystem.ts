/**
 * Filesystem storage: buckets are directories under one root (`<DURABLE_INBOX_DATA_DIR>/storage`).
 *
 * Writes are atomic. The bytes go to a temp file under `<root>/.tmp`, are fsynced, checked against the
 * expected size and SHA-256, and only then renamed onto the key. A crash at any point before the rename
 * leaves a stray temp file (swept by `sweepTempFiles`) and no visible object; rename is atomic within one
 * filesystem, so a reader sees either nothing or the whole object. Keys are content-addressed, so an
 * object already at the key is the same bytes and counts as success. Objects are written 0600 and the
 * folders made for them 0700: on a shared machine only the server's user reads stored files.
 *
 * A bucket is a directory that `ensureBucket` made (at start, for the workers' buckets and
 * STORAGE_BUCKETS) or an operator did: every operation on any other name is `NoSuchBucket`, and no
 * upload creates a bucket. An object stored with a content disposition (active content) keeps its
 * serving headers in `<root>/.meta/<bucket>/<key>.json`, which headObject returns.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ErrorType } from '../../core/errors.js';
import type { ObjectInfo, StorageBackend, UploadOptions, UploadOutcome, UploadSource } from './backend.js';
import { noSuchBucket, StorageFailure } from './errors.js';
import { CountingStream } from './progress-stream.js';
import { assertBucketName, assertObjectKey } from './secure-path.js';

export interface FilesystemBackendOptions {
  root: string;
  /** Test hook: runs after the temp file is complete and before the rename (e.g. to crash there). */
  beforeCommit?: (tempPath: string) => Promise<void> | void;
}

const TEMP_DIR = '.tmp';
/** Serving headers of objects that have them; bucket names never start with a dot, so no bucket. */
const META_DIR = '.meta';
/** Stored objects are for this process's user only: files 0600, every folder it makes 0700. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Local faults of the disk, by errno: not the caller's doing, and they may clear (space freed, the
 * operator fixes a permission), so they are retryable, but only a few times (FS_FAULT_ATTEMPTS): a
 * full disk is not fixed in the minutes a long schedule would wait, and the bytes stay staged in the
 * meantime, so a later retry of the ingest or upload finishes it.
 */
const FS_FAULTS: Record<string, { type: string; cause: string }> = {
  EACCES: { type: 'PermissionDenied', cause: 'permission denied' },
  EPERM: { type: 'PermissionDenied', cause: 'operation not permitted' },
  ENOSPC: { type: 'DiskFull', cause: 'no space left on the device' },
  EDQUOT: { type: 'DiskFull', cause: 'disk quota exceeded' },
  EROFS: { type: 'ReadOnlyFilesystem', cause: 'the filesystem is read-only' },
  ENOTDIR: { type: 'StorageMisconfigured', cause: 'a file is where a directory must be' },
  EISDIR: { type: 'StorageMisconfigured', cause: 'a directory is where a file must be' },
};
/** Attempts a local disk fault gets in all (see core/failure.ts: StorageFailure.maxAttempts). */
export const FS_FAULT_ATTEMPTS = 3;

/**
 * A filesystem error as the caller may read it: the bucket, the operation and the cause, never the
 * server's paths (Node's messages carry the absolute path). Unknown errors pass through unchanged.
 */
export function classifyFsError(err: unknown, bucket: string, operation: string): unknown {
  if (err instanceof StorageFailure) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const fault = code ? FS_FAULTS[code] : undefined;
  if (!fault) return err;
  return new StorageFailure(
    'retry',
    fault.type,
    `bucket "${bucket}": ${operation} failed: ${fault.cause} (${code})`,
    undefined,
    undefined,
    FS_FAULT_ATTEMPTS,
  );
}

export function createFilesystemBackend(opts: FilesystemBackendOptions): StorageBackend & {
  sweepTempFiles(olderThanMs: number): Promise<number>;
} {
  const root = path.resolve(opts.root);

  /** The object's path; the key checks make traversal impossible, the prefix check makes sure. */
  const objectPath = (bucket: string, key: string): string => {
    assertBucketName(bucket);
    assertObjectKey(key);
    const full = path.resolve(root, bucket, ...key.split('/'));
    if (!full.startsWith(path.join(root, bucket) + path.sep)) {
      throw new StorageFailure('fatal', ErrorType.InvalidKey, `key "${key}" escapes bucket "${bucket}"`);
    }
    return full;
  };

  const metaPath = (bucket: string, key: string): string =>
    `${path.join(root, META_DIR, bucket, ...key.split('/'))}.json`;

  /** The bucket's directory, or NoSuchBucket; a file in its place is a misconfiguration (ENOTDIR). */
  const requireBucket = async (bucket: string): Promise<void> => {
    assertBucketName(bucket);
    const info = await stat(path.join(root, bucket)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw noSuchBucket(bucket);
      throw err;
    });
    if (!info.isDirectory()) {
      throw Object.assign(new Error(`bucket "${bucket}" is not a directory`), { code: 'ENOTDIR' });
    }
  };

  const statObject = async (bucket: string, key: string): Promise<ObjectInfo | null> => {
    const file = objectPath(bucket, key);
    await requireBucket(bucket);
    try {
      const info = await stat(file);
      if (!info.isFile()) return null;
      const served = await readFile(metaPath(bucket, key), 'utf8').then(
        (text) => JSON.parse(text) as Pick<ObjectInfo, 'contentType' | 'contentDisposition'>,
        () => ({}),
      );
      return { size: info.size, ...served };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
  /** Run a step, its filesystem faults classified. */
  const step = async <T>(bucket: string, operation: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw classifyFsError(err, bucket, operation);
    }
  };

  const headObject = (bucket: string, key: string) =>
    step(bucket, 'reading the object', () => statObject(bucket, key));

  return {
    kind: 'filesystem',
    headObject,

    async uploadObject(
      bucket: string,
      key: string,
      source: UploadSource,
      options: UploadOptions,
    ): Promise<UploadOutcome> {
      return step(bucket, 'writing the object', () => upload(bucket, key, source, options));
    },

    async getObject(bucket: string, key: string): Promise<Readable> {
      const file = objectPath(bucket, key);
      if (!(await headObject(bucket, key))) {
        throw new StorageFailure('fatal', 'NotFound', `no object "${key}" in bucket "${bucket}"`);
      }
      return createReadStream(file);
    },

    async deleteObjects(bucket: string, keys: string[]): Promise<void> {
      await step(bucket, 'deleting the object', () => requireBucket(bucket));
      for (const key of keys) {
        await step(bucket, 'deleting the object', async () => {
          await rm(objectPath(bucket, key), { force: true });
          await rm(metaPath(bucket, key), { force: true });
        });
      }
    },

    async ensureBucket(bucket: string): Promise<'created' | 'exists'> {
      assertBucketName(bucket);
      const made = await step(bucket, 'creating the bucket', () =>
        mkdir(path.join(root, bucket), { recursive: true, mode: DIR_MODE }),
      );
      return made === undefined ? 'exists' : 'created';
    },

    /** Remove temp files a crashed writer left behind; returns how many. */
    async sweepTempFiles(olderThanMs: number): Promise<number> {
      const dir = path.join(root, TEMP_DIR);
      const names = await readdir(dir).catch(() => [] as string[]);
      let removed = 0;
      for (const name of names) {
        const file = path.join(dir, name);
        const info = await stat(file).catch(() => null);
        if (info && Date.now() - info.mtimeMs >= olderThanMs) {
          await rm(file, { force: true });
          removed++;
        }
      }
      return removed;
    },
  };

  async function upload(
    bucket: string,
    key: string,
    source: UploadSource,
    options: UploadOptions,
  ): Promise<UploadOutcome> {
    const target = objectPath(bucket, key);
    const existing = await statObject(bucket, key);
    const served = options.contentDisposition
      ? JSON.stringify({ contentType: options.contentType, contentDisposition: options.contentDisposition })
      : undefined;
    if (existing?.size === source.size) return { alreadyExisted: true, bytesSent: 0, resumedFrom: 0 };

    const tempDir = path.join(root, TEMP_DIR);
    await mkdir(tempDir, { recursive: true, mode: DIR_MODE });
    const temp = path.join(tempDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
    // Local copies are cheap, so a retry rewrites the temp file rather than trusting a half-written one.
    const counter = new CountingStream((bytes) => options.onProgress?.({ bytesSent: bytes }), true);
    try {
      await pipeline(source.open(0), counter, createWriteStream(temp, { flags: 'wx', mode: FILE_MODE }), {
        signal: options.signal,
      });
      const handle = await open(temp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const digest = counter.digest();
      if (counter.bytes !== source.size || (options.sha256 && digest !== options.sha256)) {
        throw new StorageFailure(
          'fatal',
          ErrorType.SourceChanged,
          `the source changed while it was read (${counter.bytes} bytes, sha256 ${digest})`,
        );
      }
      await opts.beforeCommit?.(temp);
      // The serving headers first: a reader never meets an active object without them.
      if (served) {
        const meta = metaPath(bucket, key);
        await mkdir(path.dirname(meta), { recursive: true, mode: DIR_MODE });
        await writeFile(meta, served, { mode: FILE_MODE });
      }
      await mkdir(path.dirname(target), { recursive: true, mode: DIR_MODE });
      await rename(temp, target);
      return { alreadyExisted: false, bytesSent: counter.bytes, resumedFrom: 0 };
    } finally {
      await rm(temp, { force: true });
    }
  }
}
