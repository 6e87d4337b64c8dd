/**
 * Paths that callers name inside their tenant's import folder, `<import directory>/<tenant slug>/`.
 * Anything that could reach outside that folder is refused (`InvalidPath`): absolute paths, `..`, NUL
 * bytes, and symlinks that resolve elsewhere, another tenant's folder included. A name that is not in
 * the caller's folder reads as `NotFound` with the same text whether the file is missing, exists only
 * in another tenant's folder, or the folder itself does not exist yet: nobody learns which names exist
 * elsewhere. No text names the server's absolute path.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType, UserFacingError } from './errors.js';

/** Organization slugs as the database allows them; anything else never becomes a folder name. */
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The tenant's import folder. */
export function tenantImportDir(importDir: string, tenantSlug: string): string {
  if (!SLUG.test(tenantSlug)) throw new Error(`not an organization slug: ${JSON.stringify(tenantSlug)}`);
  return path.join(importDir, tenantSlug);
}

/** `requested` inside the tenant's import folder, as a real path; else InvalidPath or NotFound. */
export async function resolveImportPath(
  importDir: string,
  tenantSlug: string,
  requested: string,
): Promise<string> {
  const refuse = (why: string) =>
    new UserFacingError(ErrorType.InvalidPath, `path "${requested}" is refused: ${why}`);
  if (requested.includes('\0')) throw refuse('it contains a NUL byte');
  if (path.isAbsolute(requested) || /^[a-zA-Z]:[\\/]/.test(requested)) {
    throw refuse('it must be relative to your import folder');
  }
  if (requested.split(/[\\/]/).includes('..')) throw refuse('it must not contain ".."');
  const notFound = () =>
    new UserFacingError(ErrorType.NotFound, `no file "${requested}" in your import folder`);
  const root = await realpath(tenantImportDir(importDir, tenantSlug)).catch(() => {
    throw notFound();
  });
  const resolved = await realpath(path.join(root, requested)).catch(() => {
    throw notFound();
  });
  if (resolved !== root && !resolved.startsWith(root + path.sep)) {
    throw refuse('it resolves outside your import folder');
  }
  return resolved;
}

/** `file` (a path resolveImportPath returned) relative to the tenant's folder: what workflows carry. */
export async function importRelative(importDir: string, tenantSlug: string, file: string): Promise<string> {
  return path.relative(await realpath(tenantImportDir(importDir, tenantSlug)), file);
}
