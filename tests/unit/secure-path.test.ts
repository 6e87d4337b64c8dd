import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  assertBucketName,
  assertFileName,
  assertObjectKey,
  resolveImportPath,
  sanitiseFileName,
  storageKeyFor,
  tenantImportDir,
} from '../../supabase/storage/secure-path.js';

const SHA = 'ab'.repeat(32);

describe('file names and keys', () => {
  it.each([
    ['', /empty/],
    ['a\0b', /NUL/],
    ['x'.repeat(256), /255 bytes/],
    // 128 two-byte characters: 256 bytes although only 128 characters
    ['é'.repeat(128), /255 bytes/],
    ['../etc/passwd', /path separator/],
    ['a\\b', /path separator/],
    ['..', /not a file name/],
  ])('refuses the name %j', (name, message) => {
    expect(() => assertFileName(name)).toThrow(message);
    expect(() => assertFileName(name)).toThrow(expect.objectContaining({ type: 'InvalidKey' }));
  });

  it('accepts 255-byte names and sanitises them into safe key segments', () => {
    expect(() => assertFileName('x'.repeat(255))).not.toThrow();
    expect(sanitiseFileName('Quarterly Report (final).PDF')).toBe('Quarterly_Report_final.pdf');
    expect(sanitiseFileName('.bashrc')).toBe('bashrc');
    expect(sanitiseFileName('Résumé.docx')).toBe('Resume.docx');
    expect(sanitiseFileName('日本語.txt')).toBe('file.txt');
  });

  it('derives the key from tenant, hash and name', () => {
    const tenant = '3f0e7c4a-1111-4222-8333-944445555666';
    expect(storageKeyFor(tenant, SHA, 'a b.png')).toBe(`${tenant}/ab/${SHA}/a_b.png`);
    expect(() => storageKeyFor('../x', SHA, 'a')).toThrow(/tenant id/);
    expect(() => storageKeyFor(tenant, 'nothex', 'a')).toThrow(/sha256/);
  });

  it.each(['', '/abs', 'a//b', 'a/../b', './a', 'a\\b', 'a/\0', 'a/.tmp-1'])('refuses the key %j', (key) => {
    expect(() => assertObjectKey(key)).toThrow(expect.objectContaining({ type: 'InvalidKey' }));
  });

  it.each(['..', '.', 'UPPER', 'has.dot', 'a/b', '', 'x'.repeat(64)])('refuses the bucket %j', (bucket) => {
    expect(() => assertBucketName(bucket)).toThrow(expect.objectContaining({ type: 'InvalidKey' }));
  });
});

describe("resolveImportPath, inside the tenant's own import folder", () => {
  let base: string;
  let importDir: string;
  let root: string;
  beforeAll(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'secure-path-'));
    importDir = path.join(base, 'import');
    root = path.join(importDir, 'tenant-a');
    const other = path.join(importDir, 'tenant-b');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await mkdir(other, { recursive: true });
    await writeFile(path.join(root, 'sub', 'ok.txt'), 'ok');
    await writeFile(path.join(other, 'b-only.txt'), 'tenant b');
    await writeFile(path.join(base, 'secret.txt'), 'secret');
    await symlink(path.join(base, 'secret.txt'), path.join(root, 'escape.txt'));
    await symlink(path.join(other, 'b-only.txt'), path.join(root, 'to-b.txt'));
    await symlink(path.join(root, 'sub', 'ok.txt'), path.join(root, 'inside-link.txt'));
  });

  it('resolves files inside, following symlinks that stay inside', async () => {
    expect(await resolveImportPath(importDir, 'tenant-a', 'sub/ok.txt')).toBe(
      path.join(root, 'sub', 'ok.txt'),
    );
    expect(await resolveImportPath(importDir, 'tenant-a', 'inside-link.txt')).toBe(
      path.join(root, 'sub', 'ok.txt'),
    );
    expect(await resolveImportPath(importDir, 'tenant-b', 'b-only.txt')).toBe(
      path.join(importDir, 'tenant-b', 'b-only.txt'),
    );
  });

  it.each([
    ['../secret.txt', 'InvalidPath', 'path "../secret.txt" is refused: it must not contain ".."'],
    [
      '../tenant-b/b-only.txt',
      'InvalidPath',
      'path "../tenant-b/b-only.txt" is refused: it must not contain ".."',
    ],
    [
      'sub/../../secret.txt',
      'InvalidPath',
      'path "sub/../../secret.txt" is refused: it must not contain ".."',
    ],
    [
      '/etc/passwd',
      'InvalidPath',
      'path "/etc/passwd" is refused: it must be relative to your import folder',
    ],
    ['a\0b', 'InvalidPath', 'path "a\0b" is refused: it contains a NUL byte'],
    ['escape.txt', 'InvalidPath', 'path "escape.txt" is refused: it resolves outside your import folder'],
    ['to-b.txt', 'InvalidPath', 'path "to-b.txt" is refused: it resolves outside your import folder'],
    ['missing.txt', 'NotFound', 'no file "missing.txt" in your import folder'],
    // Another tenant's file reads exactly like a missing one.
    ['b-only.txt', 'NotFound', 'no file "b-only.txt" in your import folder'],
  ])('refuses %j', async (relative, type, message) => {
    const err = await resolveImportPath(importDir, 'tenant-a', relative).catch((e: unknown) => e);
    expect(err).toMatchObject({ type, message });
    expect((err as Error).message).not.toContain(base);
  });

  it('a tenant whose folder does not exist yet reads NotFound, naming no server path', async () => {
    const err = await resolveImportPath(importDir, 'tenant-c', 'b-only.txt').catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'NotFound', message: 'no file "b-only.txt" in your import folder' });
  });

  it('never makes a folder of something that is not a slug', () => {
    expect(() => tenantImportDir(importDir, '../x')).toThrow(/not an organization slug/);
  });
});
