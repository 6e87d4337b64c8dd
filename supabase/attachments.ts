/**
 * Email attachments (migration 20261123001100): one row per part, claimed once, settled per upload.
 */
import { visibleFileName } from '../core/file-name.js';
import type { StoredAttachment } from '../core/records.js';
import type { Queryable, Sql } from './db.js';

export interface NewAttachment {
  partIndex: number;
  filename: string;
  declaredMime: string;
  sizeBytes: number;
  sha256: string;
  inline: boolean;
  contentId: string | null;
}

export async function claimAttachments(
  sql: Queryable,
  tenantId: string,
  emailId: string,
  parts: NewAttachment[],
): Promise<void> {
  if (parts.length === 0) return;
  const rows = parts.map((p) => ({
    tenant_id: tenantId,
    email_id: emailId,
    part_index: p.partIndex,
    filename: p.filename,
    declared_mime: p.declaredMime,
    size_bytes: p.sizeBytes,
    sha256: p.sha256,
    inline: p.inline,
    content_id: p.contentId,
  }));
  await sql`insert into public.email_attachments ${sql(rows)} on conflict (email_id, part_index) do nothing`;
}

export async function listAttachments(
  sql: Queryable,
  tenantId: string,
  emailId: string,
): Promise<StoredAttachment[]> {
  const rows = await sql<StoredAttachment[]>`
    select part_index as "partIndex", filename, declared_mime as "declaredMime", size_bytes::int as "sizeBytes",
           sha256, inline, content_id as "contentId", status, file_id as "fileId",
           detected_mime as "detectedMime", error
    from public.email_attachments where tenant_id = ${tenantId} and email_id = ${emailId}
    order by part_index`;
  // Every name a tool returns passes the cleaner, whatever wrote the row (core/file-name.ts).
  return rows.map((row) => ({ ...row, filename: visibleFileName(row.filename) }));
}

export async function settleAttachment(
  sql: Sql,
  tenantId: string,
  emailId: string,
  partIndex: number,
  outcome:
    | { status: 'stored'; fileId: string; detectedMime: string | null }
    | { status: 'failed'; error: string },
): Promise<void> {
  const stored = outcome.status === 'stored';
  // A stored attachment stays stored: a late failure report from an older attempt cannot undo it.
  await sql`
    update public.email_attachments
    set status = ${outcome.status},
        file_id = ${stored ? outcome.fileId : null},
        detected_mime = ${stored ? outcome.detectedMime : null},
        error = ${stored ? null : outcome.error},
        updated_at = now()
    where tenant_id = ${tenantId} and email_id = ${emailId} and part_index = ${partIndex} and status <> 'stored'`;
}
