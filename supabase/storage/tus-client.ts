/**
 * A small TUS 1.0 client for Supabase Storage's resumable endpoint (`/storage/v1/upload/resumable`).
 *
 * Why not tus-js-client: resuming must start from the activity's heartbeat (an upload URL from a
 * previous attempt, possibly in another process), and every HTTP failure must reach the error
 * classifier with its status, body and Retry-After. The protocol needed is three requests:
 *   POST  create (Upload-Length, Upload-Metadata) -> 201 Location
 *   HEAD  the upload URL -> Upload-Offset: where the server stands (this is the resume point)
 *   PATCH the upload URL at Upload-Offset with one chunk -> 204 and the new Upload-Offset
 * Supabase requires 6 MB chunks. One chunk is held in memory at a time, whatever the file size.
 */
import type { UploadOptions, UploadOutcome, UploadSource } from './backend.js';
import { classifyStorageResponse, networkFailure, StorageFailure } from './errors.js';

export const TUS_CHUNK_BYTES = 6 * 1024 * 1024;

export interface TusTarget {
  endpoint: string;
  headers: Record<string, string>;
  bucket: string;
  key: string;
  fetch: typeof fetch;
}

async function request(target: TusTarget, url: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await target.fetch(url, {
      ...init,
      headers: { ...target.headers, 'tus-resumable': '1.0.0', ...(init.headers as Record<string, string>) },
    });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw networkFailure(err);
  }
  return res;
}

async function failureOf(res: Response): Promise<StorageFailure> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = { message: text.slice(0, 300) || undefined };
  }
  return classifyStorageResponse({
    httpStatus: res.status,
    body,
    retryAfter: res.headers.get('retry-after'),
  });
}

function metadata(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/** Where the server stands on an upload URL, or null when it no longer knows it (expired, finished). */
async function serverOffset(target: TusTarget, url: string, signal?: AbortSignal): Promise<number | null> {
  const res = await request(target, url, { method: 'HEAD', signal });
  if (res.status === 404 || res.status === 410 || res.status === 403) return null;
  if (!res.ok) throw await failureOf(res);
  const offset = Number(res.headers.get('upload-offset'));
  return Number.isInteger(offset) && offset >= 0 ? offset : null;
}

async function create(target: TusTarget, size: number, opts: UploadOptions): Promise<string | 'exists'> {
  const res = await request(target, target.endpoint, {
    method: 'POST',
    signal: opts.signal,
    headers: {
      'upload-length': String(size),
      'upload-metadata': metadata({
        bucketName: target.bucket,
        objectName: target.key,
        contentType: opts.contentType,
        cacheControl: '3600',
      }),
      'x-upsert': 'false',
    },
  });
  if (res.status !== 201) {
    const failure = await failureOf(res);
    if (failure.kind === 'exists') return 'exists';
    throw failure;
  }
  const location = res.headers.get('location');
  if (!location) throw new StorageFailure('retry', 'TusProtocol', 'the TUS create answer had no Location');
  return new URL(location, target.endpoint).toString();
}

/** Read exactly `length` bytes from `start`: one chunk, the only buffer this client holds. */
async function readChunk(source: UploadSource, start: number, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  for await (const part of source.open(start)) {
    const buf = part as Buffer;
    const take = Math.min(buf.length, length - got);
    parts.push(take === buf.length ? buf : buf.subarray(0, take));
    got += take;
    if (got >= length) break;
  }
  if (got !== length)
    throw new StorageFailure('fatal', 'SourceChanged', 'the source is shorter than its size');
  return Buffer.concat(parts, length);
}

/**
 * Upload `source` with TUS, resuming `opts.resume.uploadUrl` when the server still knows it. Each
 * acknowledged chunk is reported through onProgress (the caller heartbeats it). Throws StorageFailure.
 */
export async function tusUpload(
  target: TusTarget,
  source: UploadSource,
  opts: UploadOptions,
): Promise<UploadOutcome | 'exists'> {
  let url = opts.resume?.uploadUrl;
  let offset = url ? await serverOffset(target, url, opts.signal) : null;
  if (url === undefined || offset === null) {
    const created = await create(target, source.size, opts);
    if (created === 'exists') return 'exists';
    url = created;
    offset = 0;
    await opts.onUploadUrl?.(url);
  }
  const resumedFrom = offset;
  opts.onProgress?.({ bytesSent: offset, uploadUrl: url });

  while (offset < source.size) {
    const chunk = await readChunk(source, offset, Math.min(TUS_CHUNK_BYTES, source.size - offset));
    const res = await request(target, url, {
      method: 'PATCH',
      signal: opts.signal,
      headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
      body: chunk,
    });
    if (res.status === 409) {
      // Offset mismatch (e.g. a chunk landed but its answer was lost): ask the server and carry on.
      const actual = await serverOffset(target, url, opts.signal);
      if (actual === null)
        throw new StorageFailure('retry', 'TusExpired', 'the upload URL expired mid-upload');
      offset = actual;
      continue;
    }
    if (res.status !== 204 && res.status !== 200) throw await failureOf(res);
    const next = Number(res.headers.get('upload-offset'));
    if (!Number.isInteger(next) || next <= offset)
      throw new StorageFailure('retry', 'TusProtocol', `the server answered offset ${next} after ${offset}`);
    offset = next;
    opts.onProgress?.({ bytesSent: offset, uploadUrl: url });
  }
  return { alreadyExisted: false, bytesSent: source.size - resumedFrom, resumedFrom };
}
