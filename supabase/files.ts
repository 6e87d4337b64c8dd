/**
 * The `files` table and its neighbours (bucket rules, the deletion queue, inline staging). Every write
 * is keyed by (tenant, bucket, sha256) or the file id and uses ON CONFLICT, because the activities that
 * call these run at least once.
 */
import { visibleFileName } from '../core/file-name.js';
import type { Queryable, Sql } from './db.js';

export type FileStatus = 'pending' | 'uploaded' | 'failed';

export interface FileRow extends NewFile {
  id: string;
  status: FileStatus;
  attempts: number;
  error: string | null;
  uploadUrl: string | null;
}

export interface BucketRules {
  sizeLimitBytes: number | null;
  allowedMimeTypes: string[] | null;
}

const FILE_COLUMNS = `id, tenant_id as "tenantId", bucket, storage_path as "storagePath", filename,
  size_bytes::float8 as "sizeBytes", declared_mime as "declaredMime", detected_mime as "detectedMime",
  mime_mismatch as "mimeMismatch", sha256, status, attempts, error, upload_url as "uploadUrl"`;

/** A row as callers read it: the name through the cleaner, whatever wrote it (core/file-name.ts). */
const readable = <T extends { filename: string }>(row: T): T => ({
  ...row,
  filename: visibleFileName(row.filename),
});

export interface NewFile {
  tenantId: string;
  bucket: string;
  storagePath: string;
  filename: string;
  sizeBytes: number;
  declaredMime: string | null;
  detectedMime: string | null;
  mimeMismatch: boolean;
  sha256: string;
}

/**
 * Claim the row for these bytes. An existing row wins (that is the dedup), except that a failed one is
 * reset to pending so a new attempt can run. `created` is true only for the first claim.
 */
export async function claimFile(sql: Queryable, file: NewFile): Promise<{ row: FileRow; created: boolean }> {
  const [claimed] = await claimFiles(sql, file.tenantId, [file]);
  return claimed!;
}

/** claimFile for many files of one tenant in one statement; the rows come back in no particular order. */
export async function claimFiles(
  sql: Queryable,
  tenantId: string,
  files: Omit<NewFile, 'tenantId'>[],
): Promise<{ row: FileRow; created: boolean }[]> {
  if (files.length === 0) return [];
  const values = files.map((f) => ({
    tenant_id: tenantId,
    bucket: f.bucket,
    storage_path: f.storagePath,
    filename: f.filename,
    size_bytes: f.sizeBytes,
    declared_mime: f.declaredMime,
    detected_mime: f.detectedMime,
    mime_mismatch: f.mimeMismatch,
    sha256: f.sha256,
  }));
  const rows = await sql<(FileRow & { created: boolean })[]>`
    insert into public.files ${sql(values)}
    on conflict (tenant_id, bucket, sha256) do update set
      status = case when files.status = 'failed' then 'pending' else files.status end,
      error = case when files.status = 'failed' then null else files.error end,
      updated_at = now()
    returning ${sql.unsafe(FILE_COLUMNS)}, (xmax = 0) as created`;
  return rows.map(({ created, ...rest }) => ({ row: readable(rest), created }));
}

export async function findFile(sql: Sql, tenantId: string, fileId: string): Promise<FileRow | null> {
  const [row] = await sql<FileRow[]>`
    select ${sql.unsafe(FILE_COLUMNS)} from public.files where tenant_id = ${tenantId} and id = ${fileId}`;
  return row ? readable(row) : null;
}

/** Count an upload attempt (at least once per activity attempt, which is what `attempts` means). */
export function recordUploadAttempt(sql: Sql, tenantId: string, fileId: string): Promise<void> {
  return recordUploadAttempts(sql, tenantId, [fileId]);
}

export async function recordUploadAttempts(sql: Sql, tenantId: string, fileIds: string[]): Promise<void> {
  if (fileIds.length === 0) return;
  await sql`
    update public.files set attempts = attempts + 1, updated_at = now()
    where tenant_id = ${tenantId} and id = any(${fileIds}::uuid[])`;
}

/** Remember the resumable upload's URL, so a retry can resume even without heartbeat details. */
export async function recordUploadUrl(
  sql: Sql,
  tenantId: string,
  fileId: string,
  uploadUrl: string | null,
): Promise<void> {
  await sql`
    update public.files set upload_url = ${uploadUrl}, updated_at = now()
    where tenant_id = ${tenantId} and id = ${fileId}`;
}

export async function markFileUploaded(sql: Sql, tenantId: string, fileId: string): Promise<FileRow> {
  const [row] = await sql<FileRow[]>`
    update public.files set status = 'uploaded', error = null, upload_url = null,
      uploaded_at = coalesce(uploaded_at, now()), updated_at = now()
    where tenant_id = ${tenantId} and id = ${fileId}
    returning ${sql.unsafe(FILE_COLUMNS)}`;
  return readable(row!);
}

/** A failure never overwrites a finished upload (a late duplicate attempt must not undo it). */
export async function markFileFailed(
  sql: Sql,
  tenantId: string,
  fileId: string,
  error: string,
): Promise<void> {
  await sql`
    update public.files set status = 'failed', error = ${error}, updated_at = now()
    where tenant_id = ${tenantId} and id = ${fileId} and status <> 'uploaded'`;
}

export async function bucketRules(sql: Sql, tenantId: string, bucket: string): Promise<BucketRules> {
  const [row] = await sql<BucketRules[]>`
    select size_limit_bytes::float8 as "sizeLimitBytes", allowed_mime_types as "allowedMimeTypes"
    from public.file_bucket_rules where tenant_id = ${tenantId} and bucket = ${bucket}`;
  return row ?? { sizeLimitBytes: null, allowedMimeTypes: null };
}

export async function setBucketRules(
  sql: Sql,
  tenantId: string,
  bucket: string,
  rules: BucketRules,
): Promise<void> {
  await sql`
    insert into public.file_bucket_rules (tenant_id, bucket, size_limit_bytes, allowed_mime_types)
    values (${tenantId}, ${bucket}, ${rules.sizeLimitBytes}, ${rules.allowedMimeTypes})
    on conflict (tenant_id, bucket) do update set
      size_limit_bytes = excluded.size_limit_bytes, allowed_mime_types = excluded.allowed_mime_types`;
}

/** Queue an object for deletion (the retention cleanup works the queue). Idempotent per object. */
export async function queueFileDeletion(
  sql: Sql,
  job: { tenantId: string; fileId: string | null; bucket: string; storagePath: string; reason: string },
): Promise<void> {
  await sql`
    insert into public.file_deletion_jobs (tenant_id, file_id, bucket, storage_path, reason)
    values (${job.tenantId}, ${job.fileId}, ${job.bucket}, ${job.storagePath}, ${job.reason})
    on conflict (bucket, storage_path) do update set status = 'queued', reason = excluded.reason
      where public.file_deletion_jobs.status <> 'queued'`;
}

/**
 * Record that a user uploads these bytes themselves (upload_file), before the upload starts. Retention
 * never deletes a file a user uploaded, even when an expiring email's attachment has the same bytes.
 */
export async function recordUserFile(
  sql: Queryable,
  file: { tenantId: string; bucket: string; sha256: string; filename: string; uploadedBy: string },
): Promise<void> {
  await sql`
    insert into public.user_files (tenant_id, bucket, sha256, filename, uploaded_by)
    values (${file.tenantId}, ${file.bucket}, ${file.sha256}, ${file.filename}, ${file.uploadedBy})
    on conflict (tenant_id, bucket, sha256) do nothing`;
}
