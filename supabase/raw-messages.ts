/**
 * Raw messages in storage: which stored emails still wait for theirs, and the link once it is there.
 * The bytes are staged in Postgres (staged-content.ts) until the archive activity has put them in the
 * `raw-messages` bucket; `emails.raw_file_id` is null until then.
 */
import type { Queryable } from './db.js';

export interface RawPending {
  emailId: string;
  rawSha256: string;
}

/** The email, if its raw message is not in storage yet. */
export function rawPendingForEmail(sql: Queryable, tenantId: string, emailId: string): Promise<RawPending[]> {
  return sql<RawPending[]>`
    select id as "emailId", raw_sha256 as "rawSha256" from public.emails
    where tenant_id = ${tenantId} and id = ${emailId} and raw_file_id is null`;
}

/** Those of the emails whose raw message is not in storage yet. */
export function rawPendingForEmails(
  sql: Queryable,
  tenantId: string,
  emailIds: string[],
): Promise<RawPending[]> {
  return sql<RawPending[]>`
    select id as "emailId", raw_sha256 as "rawSha256" from public.emails
    where tenant_id = ${tenantId} and id = any(${emailIds}::uuid[]) and raw_file_id is null`;
}

/**
 * Emails of an mbox import's messages in [fromSeq, toSeq), stored by it or already stored before (a
 * duplicate), whose raw message is not in storage yet. An email is the work of its first message in the
 * mailbox only, so a message repeated in the same file is archived once.
 */
export function rawPendingInMailbox(
  sql: Queryable,
  tenantId: string,
  mailbox: string,
  range: { fromSeq: number; toSeq: number },
): Promise<RawPending[]> {
  return sql<RawPending[]>`
    select e.id as "emailId", e.raw_sha256 as "rawSha256"
    from public.mailbox_messages m join public.emails e on e.id = m.email_id
    where m.tenant_id = ${tenantId} and m.mailbox_sha256 = ${mailbox} and m.status in ('stored', 'duplicate')
      and m.seq >= ${range.fromSeq} and m.seq < ${range.toSeq} and e.raw_file_id is null
      and not exists (
        select 1 from public.mailbox_messages p
        where p.tenant_id = m.tenant_id and p.mailbox_sha256 = m.mailbox_sha256 and p.email_id = m.email_id
          and p.seq < m.seq)
    order by m.seq`;
}

/** How many emails of an mbox import's messages (stored by it or before) have no raw message in storage. */
export async function countRawPendingInMailbox(
  sql: Queryable,
  tenantId: string,
  mailbox: string,
): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(distinct e.id)::int as n
    from public.mailbox_messages m join public.emails e on e.id = m.email_id
    where m.tenant_id = ${tenantId} and m.mailbox_sha256 = ${mailbox} and m.status in ('stored', 'duplicate')
      and e.raw_file_id is null`;
  return row?.n ?? 0;
}

/**
 * Mark the files whose objects were just written uploaded, and point each email at its stored raw
 * message, in one statement: an email is never linked to a file still `pending`, and a worker killed
 * before this leaves the objects written and nothing linked (the retry finds the files and links them).
 * Idempotent: a file already uploaded keeps its first upload time; the same link is written once.
 */
export async function completeRawFiles(
  sql: Queryable,
  tenantId: string,
  uploadedFileIds: string[],
  links: { emailId: string; fileId: string }[],
): Promise<void> {
  if (links.length === 0 && uploadedFileIds.length === 0) return;
  await sql`
    with uploaded as (
      update public.files set status = 'uploaded', error = null, upload_url = null,
        uploaded_at = coalesce(uploaded_at, now()), updated_at = now()
      where tenant_id = ${tenantId} and id = any(${uploadedFileIds}::uuid[])
      returning id)
    update public.emails e set raw_file_id = l.file_id
    from unnest(${links.map((l) => l.emailId)}::uuid[], ${links.map((l) => l.fileId)}::uuid[])
      as l(email_id, file_id)
    where e.tenant_id = ${tenantId} and e.id = l.email_id and e.raw_file_id is distinct from l.file_id`;
}

/** Why the raw message with this SHA-256 could not be archived, if its upload gave up. */
export async function rawArchiveFailure(
  sql: Queryable,
  tenantId: string,
  rawSha256: string,
): Promise<string | null> {
  const [row] = await sql<{ error: string | null }[]>`
    select error from public.files
    where tenant_id = ${tenantId} and bucket = 'raw-messages' and sha256 = ${rawSha256} and status = 'failed'`;
  return row?.error ?? null;
}

/**
 * Mark the raw-messages files of these raw SHA-256s failed with the reason, where an archive that gave
 * up left them `pending`. A finished upload is never touched.
 */
export async function failPendingRawFiles(
  sql: Queryable,
  tenantId: string,
  rawSha256s: string[],
  reason: string,
): Promise<number> {
  if (rawSha256s.length === 0) return 0;
  const result = await sql`
    update public.files set status = 'failed', error = ${reason.slice(0, 2000)}, updated_at = now()
    where tenant_id = ${tenantId} and bucket = 'raw-messages' and status = 'pending'
      and sha256 in ${sql(rawSha256s)}`;
  return result.count;
}
