/**
 * Where the bytes of an upload come from. A workflow input names a source, never carries the bytes:
 * - `import`: a path relative to the import directory (DURABLE_INBOX_IMPORT_DIR), resolved with
 *   symlinks followed and refused if it lands outside;
 * - `staged`: content staged in Postgres under its SHA-256 (small inline uploads; email attachments can
 *   stage theirs the same way).
 * Both open at any offset, which is what a resumed upload needs.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ErrorType, UserFacingError } from '../core/errors.js';
import type { Sql } from '../supabase/db.js';
import { loadContent } from '../supabase/staged-content.js';
import type { UploadSource } from '../supabase/storage/backend.js';
import { resolveImportPath } from '../supabase/storage/secure-path.js';
import { tenantSlug } from '../supabase/tenants.js';

export type FileSource = { kind: 'import'; path: string } | { kind: 'staged'; sha256: string };

export interface SourceDeps {
  sql: Sql;
  importDir: string;
}

export async function openFileSource(
  deps: SourceDeps,
  tenantId: string,
  source: FileSource,
): Promise<UploadSource> {
  if (source.kind === 'import') {
    // Relative to the tenant's own import folder, resolved here again: never another tenant's.
    const file = await resolveImportPath(deps.importDir, await tenantSlug(deps.sql, tenantId), source.path);
    const info = await stat(file);
    if (!info.isFile())
      throw new UserFacingError(ErrorType.InvalidPath, `"${source.path}" is not a regular file`);
    return {
      size: info.size,
      open: (start = 0) => createReadStream(file, { start, highWaterMark: 256 * 1024 }),
    };
  }
  const content = await loadContent(deps.sql, tenantId, source.sha256);
  if (!content) {
    throw new UserFacingError(ErrorType.SourceMissing, `no staged content ${source.sha256} for this tenant`);
  }
  return stagedSource(content);
}

/** Bytes already read from staging, as a source that opens at any offset. */
export function stagedSource(content: Buffer): UploadSource {
  return { size: content.length, open: (start = 0) => Readable.from([content.subarray(start)]) };
}
