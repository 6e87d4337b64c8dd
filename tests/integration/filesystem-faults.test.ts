/**
 * Local disk faults on the filesystem backend are classified where they happen (issue 14): permission
 * denied and a full or read-only disk are StorageUnavailable, retryable a few times only, and the caller's
 * message names the bucket and the cause, never the server's paths.
 *
 * What is real here: EACCES, from a writer run as an unprivileged user (`nobody`) against a chmod 000
 * bucket: as root, chmod stops nothing. ENOTDIR, from a file where the bucket's directory must be: it
 * blocks root too. A full disk cannot be made without mounting a small filesystem (not possible here), so
 * ENOSPC, EDQUOT and EROFS are checked as the errno errors Node raises.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { describeFailure, givesUp, toApplicationFailure } from '../../core/failure.js';
import {
  classifyFsError,
  createFilesystemBackend,
  FS_FAULT_ATTEMPTS,
} from '../../supabase/storage/filesystem.js';

function errnoError(code: string, syscall: string, file: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: failure, ${syscall} '${file}'`) as NodeJS.ErrnoException;
  err.code = code;
  err.syscall = syscall;
  err.path = file;
  return err;
}

const source = (text: string) => {
  const bytes = Buffer.from(text);
  return {
    size: bytes.length,
    open: () =>
      (async function* () {
        yield bytes;
      })() as unknown as import('node:stream').Readable,
  };
};

describe('filesystem faults', () => {
  it.each([
    ['EACCES', 'PermissionDenied', 'permission denied'],
    ['EPERM', 'PermissionDenied', 'operation not permitted'],
    ['ENOSPC', 'DiskFull', 'no space left on the device'],
    ['EDQUOT', 'DiskFull', 'disk quota exceeded'],
    ['EROFS', 'ReadOnlyFilesystem', 'the filesystem is read-only'],
  ])(
    '%s is StorageUnavailable with a short schedule, naming the bucket and not the path',
    (code, type, cause) => {
      const err = classifyFsError(
        errnoError(code, 'open', '/abs/server/path/storage/attachments/x'),
        'attachments',
        'writing the object',
      );
      const described = describeFailure(err);
      expect(described.type).toBe('StorageUnavailable');
      expect(described.message).toBe(
        `storage kept failing (${type}): bucket "attachments": writing the object failed: ${cause} (${code})`,
      );
      expect(described.message).not.toContain('/abs/');
      // Retried, but only FS_FAULT_ATTEMPTS times in all, whatever the activity's retry policy says.
      for (let attempt = 1; attempt < FS_FAULT_ATTEMPTS; attempt++) {
        const failure = toApplicationFailure(err, { attempt }) as ApplicationFailure;
        expect(failure).toBeInstanceOf(ApplicationFailure);
        expect([failure.type, failure.nonRetryable]).toEqual(['StorageUnavailable', false]);
        expect(givesUp(err, attempt)).toBe(false);
      }
      const last = toApplicationFailure(err, { attempt: FS_FAULT_ATTEMPTS }) as ApplicationFailure;
      expect([last.type, last.nonRetryable]).toEqual(['StorageUnavailable', true]);
      expect(givesUp(err, FS_FAULT_ATTEMPTS)).toBe(true);
    },
  );

  it('other errors pass through unclassified', () => {
    const err = errnoError('EIO', 'write', '/x');
    expect(classifyFsError(err, 'b', 'writing')).toBe(err);
  });

  it('a real EACCES: an unprivileged writer and a chmod 000 bucket', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'di-fs-denied-'));
    mkdirSync(path.join(root, 'locked'));
    chmodSync(root, 0o755);
    const asRoot = process.getuid?.() === 0;
    const nobody = asRoot ? Number(execFileSync('id', ['-u', 'nobody']).toString()) : undefined;
    if (nobody !== undefined) {
      // `nobody` owns the root (it may create .tmp there) but the bucket is closed to everyone.
      chownSync(root, nobody, nobody);
      chownSync(path.join(root, 'locked'), nobody, nobody);
    }
    chmodSync(path.join(root, 'locked'), 0o000);
    const script = path.resolve('tests/support/fs-denied-writer.ts');
    const args = ['--import', 'tsx', script, root, 'locked'];
    const result = asRoot
      ? spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, ...args], {
          env: { PATH: process.env.PATH, TMPDIR: root },
          encoding: 'utf8',
        })
      : spawnSync(process.execPath, args, { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout);
    expect(out).toEqual({
      type: 'StorageUnavailable',
      message:
        'storage kept failing (PermissionDenied): bucket "locked": writing the object failed: permission denied (EACCES)',
      name: 'StorageFailure',
      kind: 'retry',
      maxAttempts: FS_FAULT_ATTEMPTS,
    });
  });

  it('a real ENOTDIR: a file where the bucket directory must be', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'di-fs-notdir-'));
    writeFileSync(path.join(root, 'attachments'), 'not a directory');
    const storage = createFilesystemBackend({ root });
    const err = await storage
      .uploadObject('attachments', 'tenant/ab/object.txt', source('bytes'), { contentType: 'text/plain' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const described = describeFailure(err);
    expect(described).toEqual({
      type: 'StorageUnavailable',
      message:
        'storage kept failing (StorageMisconfigured): bucket "attachments": writing the object failed: a file is where a directory must be (ENOTDIR)',
    });
    expect(described.message).not.toContain(root);
  });
});
