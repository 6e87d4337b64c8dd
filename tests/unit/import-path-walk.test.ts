/**
 * The import-path walk does the same filesystem work for a missing name and for a name that exists
 * only in another tenant's folder, and never touches that folder: not for a plain name, not for a
 * symlink that points into it (to a file that exists or not). The calls are recorded through the
 * walk's filesystem seam, on real files.
 */
import { lstat, mkdir, mkdtemp, readlink, realpath, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PathFs, resolveImportPath } from '../../core/import-path.js';

describe('import paths: one timing class for missing and foreign names', () => {
  let importDir: string;
  let folderA: string;
  let folderB: string;

  beforeAll(async () => {
    importDir = path.join(await mkdtemp(path.join(os.tmpdir(), 'import-walk-')), 'import');
    folderA = path.join(importDir, 'tenant-a');
    folderB = path.join(importDir, 'tenant-b');
    await mkdir(path.join(folderA, 'sub'), { recursive: true });
    await mkdir(folderB, { recursive: true });
    await writeFile(path.join(folderB, 'b-only.txt'), 'tenant b');
    await writeFile(path.join(folderA, 'sub', 'mine.txt'), 'tenant a');
    await symlink(path.join(folderB, 'b-only.txt'), path.join(folderA, 'to-b.txt'));
    await symlink(path.join(folderB, 'not-there.txt'), path.join(folderA, 'to-b-missing.txt'));
    await symlink('../tenant-b', path.join(folderA, 'b-dir'));
    await symlink('sub/../sub/mine.txt', path.join(folderA, 'relative-inside.txt'));
  });

  /** The calls one resolution makes, with the tenant's folder shown as A and the other's as B. */
  async function traced(requested: string): Promise<{ calls: string[]; outcome: string }> {
    const calls: string[] = [];
    const show = (p: string) => p.replace(folderA, 'A').replace(folderB, 'B');
    const record =
      <T>(name: string, call: (p: string) => Promise<T>) =>
      (p: string): Promise<T> => {
        calls.push(`${name} ${show(p)}`);
        return call(p);
      };
    const fs: PathFs = {
      realpath: record('realpath', (p) => realpath(p)),
      lstat: record('lstat', (p) => lstat(p)),
      readlink: record('readlink', (p) => readlink(p)),
    };
    const outcome = await resolveImportPath(importDir, 'tenant-a', requested, fs).then(
      (file) => `ok ${show(file)}`,
      (err: { type: string; message: string }) => `${err.type}: ${err.message}`,
    );
    return { calls, outcome };
  }

  it("a missing name and another tenant's name: the same answer and the same calls", async () => {
    const missing = await traced('b-missing.txt');
    const foreign = await traced('b-only.txt');
    expect(missing).toEqual({
      calls: ['realpath A', 'lstat A/b-missing.txt'],
      outcome: 'NotFound: no file "b-missing.txt" in your import folder',
    });
    expect(foreign).toEqual({
      calls: ['realpath A', 'lstat A/b-only.txt'],
      outcome: 'NotFound: no file "b-only.txt" in your import folder',
    });
  });

  it("a symlink into another tenant's folder is refused by its text: B is never looked at", async () => {
    const existing = await traced('to-b.txt');
    const missing = await traced('to-b-missing.txt');
    const viaDir = await traced('b-dir/b-only.txt');
    for (const [name, trace] of [
      ['to-b.txt', existing],
      ['to-b-missing.txt', missing],
      ['b-dir/b-only.txt', viaDir],
    ] as const) {
      expect(trace.outcome).toBe(
        `InvalidPath: path "${name}" is refused: it resolves outside your import folder`,
      );
      expect(trace.calls.some((c) => c.includes(' B'))).toBe(false);
    }
    expect(existing.calls).toEqual(['realpath A', 'lstat A/to-b.txt', 'readlink A/to-b.txt']);
    expect(missing.calls).toEqual(['realpath A', 'lstat A/to-b-missing.txt', 'readlink A/to-b-missing.txt']);
  });

  it('symlinks that stay inside are followed, segment by segment', async () => {
    expect((await traced('relative-inside.txt')).outcome).toBe('ok A/sub/mine.txt');
    expect((await traced('./sub//mine.txt')).outcome).toBe('ok A/sub/mine.txt');
  });

  it('a loop of symlinks is InvalidPath, not a hang', async () => {
    await symlink('loop-b', path.join(folderA, 'loop-a')).catch(() => {});
    await symlink('loop-a', path.join(folderA, 'loop-b')).catch(() => {});
    expect((await traced('loop-a')).outcome).toBe(
      'InvalidPath: path "loop-a" is refused: it has too many symbolic links',
    );
  });
});
