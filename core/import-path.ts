/**
 * Paths that callers name inside the configured import directory. Anything that could reach outside it
 * is refused: absolute paths, `..`, NUL bytes, and symlinks that resolve elsewhere.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType, UserFacingError } from './errors.js';

export async function resolveImportPath(importDir: string, requested: string): Promise<string> {
  const refuse = (why: string) =>
    new UserFacingError(ErrorType.InvalidPath, `path "${requested}" is refused: ${why}`);
  if (requested.includes('\0')) throw refuse('it contains a NUL byte');
  if (path.isAbsolute(requested) || /^[a-zA-Z]:[\\/]/.test(requested)) {
    throw refuse('it must be relative to the import directory');
  }
  if (requested.split(/[\\/]/).includes('..')) throw refuse('it must not contain ".."');
  const root = await realpath(importDir).catch(() => {
    throw new UserFacingError(ErrorType.InvalidPath, `the import directory ${importDir} does not exist`);
  });
  const resolved = await realpath(path.join(root, requested)).catch(() => {
    throw new UserFacingError(ErrorType.NotFound, `no file "${requested}" in the import directory`);
  });
  if (resolved !== root && !resolved.startsWith(root + path.sep)) {
    throw refuse('it resolves outside the import directory');
  }
  return resolved;
}
