/**
 * The filesystem backend on real files: upload, content-addressed "already exists", atomic commit
 * (a process killed between the temp write and the rename leaves no object), and path safety.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { beforeEach, describe, expect, it } from 'vitest';
import type { UploadSource } from '../../supabase/storage/backend.js';
import { createFilesystemBackend } from '../../supabase/storage/filesystem.js';

const sourceOf = (file: string, size: number): UploadSource => ({
  size,
  open: (start = 0) => createReadStream(file, { start }),
});

describe('filesystem storage backend', () => {
  let root: string;
  let file: string;
  let bytes: Buffer;
  let sha256: string;

  beforeEach(async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'fs-backend-'));
    root = path.join(base, 'storage');
    file = path.join(base, 'source.bin');
    bytes = randomBytes(3 * 1024 * 1024 + 17);
    sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(file, bytes);
    // Buckets exist because someone made them (the workers at start); no upload creates one.
    await createFilesystemBackend({ root }).ensureBucket('docs');
  });

  it('stores the bytes under bucket/key, reports progress, and treats a second upload as existing', async () => {
    const backend = createFilesystemBackend({ root });
    const progress: number[] = [];
    const outcome = await backend.uploadObject(
      'docs',
      `t/${sha256}/source.bin`,
      sourceOf(file, bytes.length),
      {
        contentType: 'application/octet-stream',
        sha256,
        onProgress: (p) => progress.push(p.bytesSent),
      },
    );
    expect(outcome).toEqual({ alreadyExisted: false, bytesSent: bytes.length, resumedFrom: 0 });
    expect(progress.at(-1)).toBe(bytes.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect((await readFile(path.join(root, 'docs', 't', sha256, 'source.bin'))).equals(bytes)).toBe(true);
    expect(await backend.headObject('docs', `t/${sha256}/source.bin`)).toEqual({ size: bytes.length });
    expect(await backend.headObject('docs', 't/missing')).toBeNull();

    const again = await backend.uploadObject('docs', `t/${sha256}/source.bin`, sourceOf(file, bytes.length), {
      contentType: 'application/octet-stream',
    });
    expect(again).toEqual({ alreadyExisted: true, bytesSent: 0, resumedFrom: 0 });
    expect(await readdir(path.join(root, '.tmp'))).toEqual([]);

    // Only the server's user reads them: the object 0600, every folder made for it 0700.
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    expect(await mode(path.join(root, 'docs', 't', sha256, 'source.bin'))).toBe(0o600);
    for (const dir of [
      root,
      path.join(root, '.tmp'),
      path.join(root, 'docs'),
      path.join(root, 'docs', 't'),
    ]) {
      expect(await mode(dir)).toBe(0o700);
    }
    expect(await mode(path.join(root, 'docs', 't', sha256))).toBe(0o700);
    await backend.ensureBucket('fresh');
    expect(await mode(path.join(root, 'fresh'))).toBe(0o700);

    const read = await backend.getObject('docs', `t/${sha256}/source.bin`);
    expect((await text(read)).length).toBeGreaterThan(0);
    await backend.deleteObjects('docs', [`t/${sha256}/source.bin`]);
    expect(await backend.headObject('docs', `t/${sha256}/source.bin`)).toBeNull();
  });

  it('never commits bytes that do not match the expected hash', async () => {
    const backend = createFilesystemBackend({ root });
    const err = await backend
      .uploadObject('docs', 'k/source.bin', sourceOf(file, bytes.length), {
        contentType: 'application/octet-stream',
        sha256: '0'.repeat(64),
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'fatal', type: 'SourceChanged' });
    expect(await backend.headObject('docs', 'k/source.bin')).toBeNull();
    expect(await readdir(path.join(root, '.tmp'))).toEqual([]);
  });

  it('leaves no visible object when the writer is killed between the temp write and the rename', async () => {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'tests/support/fs-crash-writer.ts', root, 'docs', 'k/crash.bin', file],
      { encoding: 'utf8' },
    );
    expect(child.signal).toBe('SIGKILL');
    const tempPath = child.stdout.trim();
    expect(child.stdout).not.toContain('committed');
    // The complete temp file is there (the kill came after the write) but the object is not.
    expect((await stat(tempPath)).size).toBe(bytes.length);
    const backend = createFilesystemBackend({ root });
    expect(await backend.headObject('docs', 'k/crash.bin')).toBeNull();
    expect(await readdir(path.join(root, 'docs')).catch(() => [])).toEqual([]);

    // The stray temp file is swept; a new upload then commits normally.
    expect(await backend.sweepTempFiles(0)).toBe(1);
    await backend.uploadObject('docs', 'k/crash.bin', sourceOf(file, bytes.length), {
      contentType: 'application/octet-stream',
      sha256,
    });
    expect((await readFile(path.join(root, 'docs', 'k', 'crash.bin'))).equals(bytes)).toBe(true);
  });

  it.each([
    ['../outside', 'k', /bucket/],
    ['docs', '../../etc/passwd', /segment/],
    ['docs', '/abs/key', /relative/],
    ['docs', 'a/\0b', /NUL/],
    ['docs', 'a\\..\\b', /NUL or/],
  ])('refuses bucket %j key %j', async (bucket, key, message) => {
    const backend = createFilesystemBackend({ root });
    const err = await backend
      .uploadObject(bucket, key, sourceOf(file, bytes.length), { contentType: 'text/plain' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'InvalidKey' });
    expect(String((err as Error).message)).toMatch(message);
    expect(await readdir(root)).toEqual(['docs']);
    expect(await readdir(path.join(root, 'docs'))).toEqual([]);
  });

  it('refuses a bucket nobody created with NoSuchBucket, for every operation, and creates nothing', async () => {
    const backend = createFilesystemBackend({ root });
    const refused = { kind: 'fatal', type: 'NoSuchBucket', message: 'bucket "typo" does not exist' };
    const upload = backend.uploadObject('typo', 't/k.bin', sourceOf(file, bytes.length), {
      contentType: 'application/octet-stream',
    });
    await expect(upload).rejects.toMatchObject(refused);
    await expect(backend.headObject('typo', 't/k.bin')).rejects.toMatchObject(refused);
    await expect(backend.getObject('typo', 't/k.bin')).rejects.toMatchObject(refused);
    await expect(backend.deleteObjects('typo', ['t/k.bin'])).rejects.toMatchObject(refused);
    expect(await readdir(root)).toEqual(['docs']);
    // Once created (as the workers do at start), the same upload succeeds.
    expect(await backend.ensureBucket('typo')).toBe('created');
    await backend.uploadObject('typo', 't/k.bin', sourceOf(file, bytes.length), {
      contentType: 'application/octet-stream',
    });
    expect(await backend.headObject('typo', 't/k.bin')).toEqual({ size: bytes.length });
  });

  it('keeps the serving headers of active content with the object, and drops them with it', async () => {
    const backend = createFilesystemBackend({ root });
    const svg = Buffer.from('<svg onload="alert(1)"/>');
    const svgFile = path.join(path.dirname(file), 'logo.svg');
    await writeFile(svgFile, svg);
    const served = {
      contentType: 'application/octet-stream',
      contentDisposition: 'attachment; filename="logo.svg"',
    };
    await backend.uploadObject('docs', 't/s/logo.svg', sourceOf(svgFile, svg.length), served);
    expect(await backend.headObject('docs', 't/s/logo.svg')).toEqual({ size: svg.length, ...served });
    const meta = path.join(root, '.meta', 'docs', 't', 's', 'logo.svg.json');
    expect((await stat(meta)).mode & 0o777).toBe(0o600);
    await backend.deleteObjects('docs', ['t/s/logo.svg']);
    expect(await backend.headObject('docs', 't/s/logo.svg')).toBeNull();
    await expect(stat(meta)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
