/**
 * Path safety for everything that turns caller input into a storage key or a filesystem path: file
 * names, bucket names, object keys and import paths. Every check fails with a readable type
 * (InvalidKey for names and keys, InvalidPath for import paths) rather than quietly "fixing" the input,
 * except sanitiseFileName, whose job is to produce a safe key segment from a name already accepted.
 */
import path from 'node:path';
import { ErrorType, UserFacingError } from '../../core/errors.js';

/** Names longer than this (in UTF-8 bytes) are refused: most filesystems cap a name at 255 bytes. */
export const MAX_NAME_BYTES = 255;
/** Supabase Storage caps object names at 1024 bytes. */
export const MAX_KEY_BYTES = 1024;

const invalidKey = (message: string) => new UserFacingError(ErrorType.InvalidKey, message);

/** A file name as given by a caller: one segment, no traversal, no NUL, at most 255 bytes. */
export function assertFileName(name: string): void {
  if (name.length === 0) throw invalidKey('the file name is empty');
  if (name.includes('\0')) throw invalidKey('the file name contains a NUL byte');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES)
    throw invalidKey(`the file name is longer than ${MAX_NAME_BYTES} bytes`);
  if (/[/\\]/.test(name)) throw invalidKey(`the file name "${name}" contains a path separator`);
  if (name === '.' || name === '..') throw invalidKey(`"${name}" is not a file name`);
}

/**
 * A key segment derived from an accepted file name: letters, digits, '.', '_' and '-' only (the set
 * every storage backend and URL accepts unescaped), no leading dot, at most 100 characters, keeping the
 * extension. The SHA-256 in the key keeps it unique, so collapsing characters loses nothing.
 */
export function sanitiseFileName(name: string): string {
  assertFileName(name);
  const ext = path
    .extname(name)
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 16);
  const stem = name
    .slice(0, name.length - path.extname(name).length)
    .normalize('NFKD')
    // drop the accents NFKD split off, so "Résumé" keeps its letters
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 80);
  return `${stem || 'file'}${ext ? `.${ext.toLowerCase()}` : ''}`;
}

/** Bucket names: lower-case letters, digits, '_' and '-'; no dots, so never '.' or '..'. */
export function assertBucketName(bucket: string): void {
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(bucket)) {
    throw invalidKey(`bucket "${bucket.slice(0, 70)}" must be 1-63 lower-case letters, digits, "_" or "-"`);
  }
}

/** An object key: relative, '/'-separated, no empty, '.' or '..' segments, no NUL or backslash. */
export function assertObjectKey(key: string): void {
  if (key.length === 0) throw invalidKey('the object key is empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw invalidKey(`the object key is over ${MAX_KEY_BYTES} bytes`);
  if (key.includes('\0') || key.includes('\\')) throw invalidKey('the object key contains NUL or "\\"');
  if (key.startsWith('/')) throw invalidKey('the object key must be relative');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      throw invalidKey(`the object key "${key}" has an empty, "." or ".." segment`);
    if (segment.startsWith('.tmp-')) throw invalidKey('object key segments may not start with ".tmp-"');
  }
}

/** The storage key of a file: derived from tenant, content hash and the sanitised name. */
export function storageKeyFor(tenantId: string, sha256: string, fileName: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw invalidKey('sha256 must be 64 lower-case hex digits');
  if (!/^[0-9a-zA-Z-]{1,64}$/.test(tenantId)) throw invalidKey('the tenant id is not a valid key segment');
  return `${tenantId}/${sha256.slice(0, 2)}/${sha256}/${sanitiseFileName(fileName)}`;
}

/**
 * Import paths (a caller's path inside the import directory, symlinks resolved, never outside it) are
 * guarded by core/import-path.ts, shared with the mailbox import; re-exported so every path guard an
 * upload uses is reachable from here.
 */
export { resolveImportPath, tenantImportDir } from '../../core/import-path.js';
