/**
 * Uploads to Supabase Storage through the real supabase-js client and the project's TUS client, against
 * a local stand-in that speaks the Storage API and injects faults, with the workflow and activities on
 * the real Temporal dev server and the rows in real Postgres.
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CancelledFailure, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeFailure } from '../../core/failure.js';
import type { Sql } from '../../supabase/db.js';
import { setBucketRules } from '../../supabase/files.js';
import { createSupabaseBackend } from '../../supabase/storage/supabase-backend.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testDb, testEnv } from '../support/harness.js';
import { connectStdio } from '../support/mcp-clients.js';
import { type StorageStandIn, startStorageStandIn } from '../support/storage-stand-in.js';
import { activityAttempts, importFile, startUpload, waitForUploadProgress } from '../support/uploads.js';

const MB = 1024 * 1024;
const BUCKET = 'attachments';
const CHUNK = 6 * MB;
const SCRIPTED_SVG =
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>';

describe('upload to Supabase Storage (stand-in)', () => {
  let standIn: StorageStandIn;
  let env: Record<string, string>;
  let stack: Stack;
  let sql: Sql;
  let tenantId: string;
  let importDir: string;

  beforeAll(async () => {
    standIn = await startStorageStandIn();
    standIn.buckets.add(BUCKET);
    env = testEnv({ SUPABASE_URL: standIn.url, SUPABASE_SERVICE_ROLE_KEY: standIn.serviceKey });
    // The local tenant's import folder: `path` arguments resolve inside it.
    importDir = `${env.DURABLE_INBOX_DATA_DIR}/import/${env.DURABLE_INBOX_TENANT}`;
    stack = await startTestStack(env);
    tenantId = stack.defaultTenant.id;
    sql = testDb();
  });
  afterAll(async () => {
    await stack?.shutdown();
    await sql?.end();
    await standIn?.close();
  });
  beforeEach(() => standIn.reset());

  const fileRow = async (fileId: string) => {
    const [row] =
      await sql`select status, attempts, error, size_bytes::int as size, storage_path from public.files where id = ${fileId}`;
    return row!;
  };

  it('retries three 503s with backoff, then stores the file', async () => {
    const file = await importFile(importDir, 'report-503.bin', 1 * MB);
    standIn.inject(
      {
        route: 'object-upload',
        status: 503,
        body: { statusCode: '503', error: 'Service Unavailable', message: 'upstream connect error' },
      },
      3,
    );
    const handle = await startUpload(stack.client, env, tenantId, BUCKET, file);
    const result = await handle.result();

    expect(result).toMatchObject({ deduplicated: false, size: file.bytes.length, sha256: file.sha256 });
    expect(result.path).toBe(`${tenantId}/${file.sha256.slice(0, 2)}/${file.sha256}/report-503.bin`);
    expect(standIn.count('object-upload')).toBe(4);
    expect(standIn.object(BUCKET, result.path)?.equals(file.bytes)).toBe(true);
    expect(await activityAttempts(handle, 'uploadFileObject')).toEqual([
      { attempt: 4, lastFailureType: 'StorageUnavailable', nextRetryDelaySeconds: undefined },
    ]);
    expect(await fileRow(result.fileId)).toMatchObject({ status: 'uploaded', attempts: 4, error: null });
  });

  it('waits for Retry-After on a 429 before the next attempt', async () => {
    const file = await importFile(importDir, 'slow-down.bin', 256 * 1024);
    standIn.inject({
      route: 'object-upload',
      status: 429,
      headers: { 'retry-after': '2' },
      body: {
        statusCode: '429',
        code: 'SlowDown',
        error: 'Too Many Requests',
        message: 'Please reduce your request rate',
      },
    });
    const handle = await startUpload(stack.client, env, tenantId, BUCKET, file);
    await handle.result();

    expect(await activityAttempts(handle, 'uploadFileObject')).toEqual([
      { attempt: 2, lastFailureType: 'StorageUnavailable', nextRetryDelaySeconds: 2 },
    ]);
    const [first, second] = standIn.requests.filter((r) => r.route === 'object-upload');
    // A lower bound only: the retry cannot come early (the default backoff would retry after 1 s).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1900);
  });

  it('resumes a 30 MB TUS upload dropped at 60%, re-sending at most one chunk', async () => {
    const size = 30_000_000;
    const file = await importFile(importDir, 'big.bin', size);
    standIn.inject({ route: 'tus-patch', dropAtOffset: Math.floor(size * 0.6) });
    const handle = await startUpload(stack.client, env, tenantId, BUCKET, file);
    const result = await handle.result();

    expect(standIn.object(BUCKET, result.path)?.equals(file.bytes)).toBe(true);
    // One upload, resumed: the retry asked the server for its offset instead of creating another.
    expect(standIn.count('tus-create')).toBe(1);
    expect(standIn.count('tus-head')).toBeGreaterThanOrEqual(1);
    expect(standIn.requests.filter((r) => r.status === 'dropped')).toHaveLength(1);
    const resent = standIn.bodyBytes('tus-patch') - size;
    expect(resent).toBeGreaterThan(0);
    expect(resent).toBeLessThanOrEqual(CHUNK);
    expect(await activityAttempts(handle, 'uploadFileObject')).toEqual([
      { attempt: 2, lastFailureType: 'StorageUnavailable', nextRetryDelaySeconds: undefined },
    ]);
    expect(await fileRow(result.fileId)).toMatchObject({ status: 'uploaded', attempts: 2 });
  });

  it.each([
    [
      'EntityTooLarge',
      {
        statusCode: '413',
        error: 'Payload too large',
        message: 'The object exceeded the maximum allowed size',
      },
    ],
    [
      'AccessDenied',
      {
        statusCode: '403',
        code: 'AccessDenied',
        error: 'Unauthorized',
        message: 'new row violates row-level security policy',
      },
    ],
  ])('fails fast on %s after exactly one attempt', async (type, body) => {
    const file = await importFile(importDir, `${type}.bin`, 64 * 1024);
    // HTTP 400 with the meaning in the body, as the real service answers.
    standIn.inject({ route: 'object-upload', status: 400, body }, 5);
    const handle = await startUpload(stack.client, env, tenantId, BUCKET, file);
    const err = await handle.result().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(describeFailure(err)).toEqual({ type, message: body.message });
    expect(standIn.count('object-upload')).toBe(1);
    expect(await activityAttempts(handle, 'uploadFileObject')).toEqual([
      { attempt: 1, lastFailureType: undefined, nextRetryDelaySeconds: undefined },
    ]);
    const [row] =
      await sql`select status, error, attempts from public.files where tenant_id = ${tenantId} and sha256 = ${file.sha256}`;
    expect(row).toMatchObject({ status: 'failed', attempts: 1, error: `${type}: ${body.message}` });
  });

  it('checks bucket rules before sending a byte, and sends nothing for bytes already stored', async () => {
    await setBucketRules(sql, tenantId, 'images', { sizeLimitBytes: 1000, allowedMimeTypes: ['image/*'] });
    standIn.buckets.add('images');
    const big = await importFile(importDir, 'big-image.bin', 2000);
    const err = await (await startUpload(stack.client, env, tenantId, 'images', big))
      .result()
      .catch((e: unknown) => e);
    expect(describeFailure(err).type).toBe('EntityTooLarge');

    // 8 bytes of PNG signature: detected as image/png whatever the declared type says.
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    const text = await importFile(importDir, 'notes.txt', Buffer.from('plain text, not an image'));
    const refused = await (
      await startUpload(stack.client, env, tenantId, 'images', text, { declaredMime: 'text/plain' })
    )
      .result()
      .catch((e: unknown) => e);
    expect(describeFailure(refused)).toMatchObject({ type: 'InvalidMimeType' });
    expect(standIn.count('object-upload') + standIn.count('tus-create')).toBe(0);

    const image = await importFile(importDir, 'pixel.png', png);
    const first = await (
      await startUpload(stack.client, env, tenantId, 'images', image, { declaredMime: 'image/jpeg' })
    ).result();
    expect(first).toMatchObject({ deduplicated: false, detectedMime: 'image/png', mimeMismatch: true });
    const requestsAfterFirst = standIn.requests.length;

    const again = await (await startUpload(stack.client, env, tenantId, 'images', image)).result();
    expect(again).toMatchObject({ deduplicated: true, fileId: first.fileId, path: first.path });
    expect(standIn.requests.length).toBe(requestsAfterFirst);
    const rows =
      await sql`select declared_mime, detected_mime, mime_mismatch from public.files where id = ${first.fileId}`;
    expect(rows).toEqual([{ declared_mime: 'image/jpeg', detected_mime: 'image/png', mime_mismatch: true }]);
  });

  it('classifies what sniffing cannot name: HTML declared image/png and a scripted SVG stay out of image/*', async () => {
    await setBucketRules(sql, tenantId, 'images', { sizeLimitBytes: null, allowedMimeTypes: ['image/*'] });
    const html = await importFile(
      importDir,
      'pixel-html.png',
      Buffer.from('<!DOCTYPE html><script>alert(1)</script>'),
    );
    const svg = await importFile(importDir, 'scripted.svg', Buffer.from(SCRIPTED_SVG));
    const refusedHtml = await (
      await startUpload(stack.client, env, tenantId, 'images', html, { declaredMime: 'image/png' })
    )
      .result()
      .catch((e: unknown) => e);
    expect(describeFailure(refusedHtml)).toEqual({
      type: 'InvalidMimeType',
      message:
        'bucket "images" allows image/*, and this file is text/html by its content (declared image/png); ' +
        'active content passes only a rule that names its type exactly',
    });
    const refusedSvg = await (
      await startUpload(stack.client, env, tenantId, 'images', svg, { declaredMime: 'image/svg+xml' })
    )
      .result()
      .catch((e: unknown) => e);
    expect(describeFailure(refusedSvg)).toEqual({
      type: 'InvalidMimeType',
      message:
        'bucket "images" allows image/*, and this file is image/svg+xml by its content; ' +
        'active content passes only a rule that names its type exactly',
    });
    expect(standIn.count('object-upload') + standIn.count('tus-create')).toBe(0);
  });

  it('an SVG where the bucket names image/svg+xml: stored and served as a download, never as an image', async () => {
    await setBucketRules(sql, tenantId, 'vectors', {
      sizeLimitBytes: null,
      allowedMimeTypes: ['image/svg+xml'],
    });
    const svg = await importFile(importDir, 'logo.svg', Buffer.from(SCRIPTED_SVG));
    const stored = await (
      await startUpload(stack.client, env, tenantId, 'vectors', svg, { declaredMime: 'image/svg+xml' })
    ).result();
    expect(stored).toMatchObject({ detectedMime: 'image/svg+xml', mimeMismatch: false });
    // The headers sent with the object, which Storage keeps and serves.
    const upload = standIn.requests.filter((r) => r.route === 'object-upload');
    expect(upload.map((r) => [r.status, r.contentType, r.contentDisposition])).toEqual([
      [200, 'application/octet-stream', 'attachment; filename="logo.svg"'],
    ]);
    const served = await fetch(`${standIn.url}/storage/v1/object/vectors/${stored.path}`, {
      headers: { authorization: `Bearer ${standIn.serviceKey}` },
    });
    expect([
      served.status,
      served.headers.get('content-type'),
      served.headers.get('content-disposition'),
    ]).toEqual([200, 'application/octet-stream', 'attachment; filename="logo.svg"']);
    expect(Buffer.from(await served.arrayBuffer()).equals(svg.bytes)).toBe(true);
  });

  it('a bucket Storage does not have is NoSuchBucket, worded as on the filesystem', async () => {
    const file = await importFile(importDir, 'nowhere.txt', Buffer.from('no bucket for me'));
    const err = await (await startUpload(stack.client, env, tenantId, 'nowhere', file))
      .result()
      .catch((e: unknown) => e);
    expect(describeFailure(err)).toEqual({
      type: 'NoSuchBucket',
      message: 'bucket "nowhere" does not exist',
    });
    expect(standIn.buckets.has('nowhere')).toBe(false);
    const [row] = await sql`
      select status, error from public.files where tenant_id = ${tenantId} and bucket = 'nowhere'`;
    expect(row).toEqual({ status: 'failed', error: 'NoSuchBucket: bucket "nowhere" does not exist' });
  });

  it('cancelling the workflow aborts the upload in flight and records why', async () => {
    const file = await importFile(importDir, 'cancel-me.bin', 20 * MB);
    let release!: () => void;
    standIn.inject({ route: 'tus-patch', fromOffset: CHUNK, hold: new Promise<void>((r) => (release = r)) });
    const handle = await startUpload(stack.client, env, tenantId, BUCKET, file);
    expect(await waitForUploadProgress(handle, CHUNK)).toBe(CHUNK);

    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    release();
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const [row] =
      await sql`select status, error from public.files where tenant_id = ${tenantId} and sha256 = ${file.sha256}`;
    expect(row).toEqual({ status: 'failed', error: 'Canceled: the upload was cancelled' });
    expect([...standIn.objects.keys()].some((k) => k.includes(file.sha256))).toBe(false);
    // The held (second) chunk settles either way once let through; nothing was sent after it.
    const held = standIn.requests.filter((r) => r.route === 'tus-patch').at(-1)!;
    for (let i = 0; i < 50 && held.status === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(held.status).not.toBe(0);
    expect(standIn.count('tus-patch')).toBe(2);
  });

  it('cancelling aborts a standard (single request) upload too', async () => {
    const file = await importFile(importDir, 'cancel-small.bin', 2 * MB);
    let release!: () => void;
    standIn.inject({ route: 'object-upload', hold: new Promise<void>((r) => (release = r)) });
    const handle = await startUpload(stack.client, env, tenantId, BUCKET, file);
    for (let i = 0; i < 100 && standIn.count('object-upload') === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(standIn.count('object-upload')).toBe(1);

    await handle.cancel();
    // The request is still held by the stand-in: the run can only end because the request was aborted.
    const err = await handle.result().catch((e: unknown) => e);
    release();
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const [row] =
      await sql`select status, error from public.files where tenant_id = ${tenantId} and sha256 = ${file.sha256}`;
    expect(row).toEqual({ status: 'failed', error: 'Canceled: the upload was cancelled' });
  });

  it('upload_file over stdio reports bytes sent while the upload runs', async () => {
    const file = await importFile(importDir, 'progress.bin', 20 * MB);
    let release!: () => void;
    standIn.inject({
      route: 'tus-patch',
      fromOffset: 2 * CHUNK,
      hold: new Promise<void>((r) => (release = r)),
    });
    const mcp = await connectStdio(env);
    try {
      const progress: number[] = [];
      const result = (await mcp.callTool(
        { name: 'upload_file', arguments: { bucket: BUCKET, filename: 'progress.bin', path: file.path } },
        undefined,
        {
          onprogress: (p) => {
            progress.push(p.progress);
            // The held chunk is released once the client has seen the first two chunks reported.
            if (p.progress >= 2 * CHUNK) release();
          },
        },
      )) as CallToolResult;
      expect(result.isError).toBeFalsy();
      // Mid-upload progress from the heartbeat; the final notification can race the result in the SDK
      // client, so it is not demanded.
      expect(progress).toContain(2 * CHUNK);
      expect(Math.max(...progress)).toBeLessThanOrEqual(file.bytes.length);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    } finally {
      release();
      await mcp.close();
    }
  });

  it('the backend reads, heads and deletes through supabase-js, and maps a missing bucket', async () => {
    const backend = createSupabaseBackend({ url: standIn.url, serviceRoleKey: standIn.serviceKey });
    const bytes = Buffer.from('hello storage');
    const source = { size: bytes.length, open: () => Readable.from([bytes]) };
    await backend.uploadObject(BUCKET, 'misc/hello.txt', source, { contentType: 'text/plain' });
    expect(await backend.headObject(BUCKET, 'misc/hello.txt')).toEqual({ size: bytes.length });
    expect((await buffer(await backend.getObject(BUCKET, 'misc/hello.txt'))).equals(bytes)).toBe(true);
    // A second upload to the same key is Storage's "Duplicate", which counts as already there.
    expect(
      await backend.uploadObject(BUCKET, 'misc/hello.txt', source, { contentType: 'text/plain' }),
    ).toEqual({
      alreadyExisted: true,
      bytesSent: 0,
      resumedFrom: 0,
    });
    await backend.deleteObjects(BUCKET, ['misc/hello.txt']);
    expect(await backend.headObject(BUCKET, 'misc/hello.txt')).toBeNull();
    const err = await backend
      .uploadObject('no-such-bucket', 'x.txt', source, { contentType: 'text/plain' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      kind: 'fatal',
      type: 'NoSuchBucket',
      message: 'bucket "no-such-bucket" does not exist',
    });
  });

  it('TUS: a stale upload URL starts a new upload, and an object already there counts as done', async () => {
    const backend = createSupabaseBackend({ url: standIn.url, serviceRoleKey: standIn.serviceKey });
    const file = await importFile(importDir, 'tus-edge.bin', 7 * MB);
    const source = {
      size: file.bytes.length,
      open: (start = 0) => Readable.from([file.bytes.subarray(start)]),
    };
    const urls: string[] = [];
    const stale = `${standIn.url}/storage/v1/upload/resumable/expired-upload`;
    const outcome = await backend.uploadObject(BUCKET, 'tus/edge.bin', source, {
      contentType: 'application/octet-stream',
      resume: { bytesSent: 6 * MB, uploadUrl: stale },
      onUploadUrl: async (url) => void urls.push(url),
    });
    expect(outcome).toEqual({ alreadyExisted: false, bytesSent: file.bytes.length, resumedFrom: 0 });
    expect(urls).toHaveLength(1);
    expect(urls[0]).not.toBe(stale);
    expect(standIn.object(BUCKET, 'tus/edge.bin')?.equals(file.bytes)).toBe(true);

    const again = await backend.uploadObject(BUCKET, 'tus/edge.bin', source, {
      contentType: 'application/octet-stream',
    });
    expect(again).toEqual({ alreadyExisted: true, bytesSent: 0, resumedFrom: 0 });
    expect(standIn.count('tus-create')).toBe(2);
    expect(standIn.bodyBytes('tus-patch')).toBe(file.bytes.length);
  });
});
