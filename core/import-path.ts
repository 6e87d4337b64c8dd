/**
 * Paths that callers name inside their tenant's import folder, `<import directory>/<tenant slug>/`.
 * Anything that could reach outside that folder is refused (`InvalidPath`): absolute paths, `..`, NUL
 * bytes, and symlinks that point elsewhere, another tenant's folder included. A name that is not in
 * the caller's folder reads as `NotFound` with the same text whether the file is missing, exists only
 * in another tenant's folder, or the folder itself does not exist yet: nobody learns which names exist
 * elsewhere. No text names the server's absolute path.
 *
 * The same timing class too: the path is walked one segment at a time with lstat, inside the caller's
 * folder only. A symlink's target is read (readlink) and judged by its text; one that points outside is
 * refused without looking at what it points to, so whether another tenant's file exists never changes
 * the work done, the answer, or its time: a missing name and another tenant's name both cost the
 * folder's realpath and one lstat that fails; a symlink out, to a file that exists or not, costs one
 * lstat and one readlink.
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType, UserFacingError } from './errors.js';

/** Organization slugs as the database allows them; anything else never becomes a folder name. */
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Symlinks followed in one path at most, as Linux's own limit (ELOOP). */
const MAX_LINKS = 40;

/** The filesystem calls the walk makes: node's by default, a recording one in tests. */
export interface PathFs {
  realpath(file: string): Promise<string>;
  lstat(file: string): Promise<{ isSymbolicLink(): boolean }>;
  readlink(file: string): Promise<string>;
}
const nodeFs: PathFs = { realpath, lstat, readlink };

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
  fs: PathFs = nodeFs,
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
  const folder = tenantImportDir(importDir, tenantSlug);
  const root = await fs.realpath(folder).catch(() => {
    throw notFound();
  });
  const inside = (file: string) => file === root || file.startsWith(root + path.sep);

  let pending = requested.split(/[\\/]/).filter((segment) => segment !== '' && segment !== '.');
  let current = root;
  let links = 0;
  while (pending.length > 0) {
    const next = path.join(current, pending.shift()!);
    const info = await fs.lstat(next).catch(() => {
      throw notFound();
    });
    if (!info.isSymbolicLink()) {
      current = next;
      continue;
    }
    if (++links > MAX_LINKS) throw refuse('it has too many symbolic links');
    // `current` is a real path (every segment so far was no link), so ".." in the target resolves
    // lexically as the kernel would. A target written with the configured folder's path counts as inside.
    const target = path.resolve(current, await fs.readlink(next));
    const mapped = target.startsWith(folder + path.sep) ? root + target.slice(folder.length) : target;
    if (!inside(mapped)) throw refuse('it resolves outside your import folder');
    pending = [...path.relative(root, mapped).split(path.sep).filter(Boolean), ...pending];
    current = root;
  }
  return current;
}

/** `file` (a path resolveImportPath returned) relative to the tenant's folder: what workflows carry. */
export async function importRelative(importDir: string, tenantSlug: string, file: string): Promise<string> {
  return path.relative(await realpath(tenantImportDir(importDir, tenantSlug)), file);
}
