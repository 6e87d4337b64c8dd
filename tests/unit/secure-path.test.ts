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

describe('resolveImportPath', () => {
  let root: string;
  let outside: string;
  beforeAll(async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'secure-path-'));
    root = path.join(base, 'import');
    outside = path.join(base, 'secret.txt');
    await mkdir(path.join(root, 'sub'), { recursive: true });
    await writeFile(path.join(root, 'sub', 'ok.txt'), 'ok');
    await writeFile(outside, 'secret');
    await symlink(outside, path.join(root, 'escape.txt'));
    await symlink(path.join(root, 'sub', 'ok.txt'), path.join(root, 'inside-link.txt'));
  });

  it('resolves files inside, following symlinks that stay inside', async () => {
    expect(await resolveImportPath(root, 'sub/ok.txt')).toBe(path.join(root, 'sub', 'ok.txt'));
    expect(await resolveImportPath(root, 'inside-link.txt')).toBe(path.join(root, 'sub', 'ok.txt'));
  });

  it.each([
    ['../secret.txt', 'InvalidPath', /must not contain "\.\."/],
    ['sub/../../secret.txt', 'InvalidPath', /must not contain "\.\."/],
    ['/etc/passwd', 'InvalidPath', /must be relative/],
    ['a\0b', 'InvalidPath', /NUL/],
    ['escape.txt', 'InvalidPath', /resolves outside the import directory/],
    ['missing.txt', 'NotFound', /no file "missing.txt"/],
  ])('refuses %j', async (relative, type, message) => {
    const err = await resolveImportPath(root, relative).catch((e: unknown) => e);
    expect(err).toMatchObject({ type });
    expect(String((err as Error).message)).toMatch(message);
  });
});
