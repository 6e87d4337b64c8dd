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

/** Emails an mbox import stored in [fromSeq, toSeq) whose raw message is not in storage yet. */
export function rawPendingInMailbox(
  sql: Queryable,
  tenantId: string,
  mailbox: string,
  range: { fromSeq: number; toSeq: number },
): Promise<RawPending[]> {
  return sql<RawPending[]>`
    select distinct e.id as "emailId", e.raw_sha256 as "rawSha256"
    from public.mailbox_messages m join public.emails e on e.id = m.email_id
    where m.tenant_id = ${tenantId} and m.mailbox_sha256 = ${mailbox} and m.status = 'stored'
      and m.seq >= ${range.fromSeq} and m.seq < ${range.toSeq} and e.raw_file_id is null`;
}

/** How many emails an mbox import stored whose raw message is still not in storage. */
export async function countRawPendingInMailbox(
  sql: Queryable,
  tenantId: string,
  mailbox: string,
): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(distinct e.id)::int as n
    from public.mailbox_messages m join public.emails e on e.id = m.email_id
    where m.tenant_id = ${tenantId} and m.mailbox_sha256 = ${mailbox} and m.status = 'stored'
      and e.raw_file_id is null`;
  return row?.n ?? 0;
}

/** Point the email at its stored raw message. Idempotent: the same file links once. */
export async function linkRawFile(
  sql: Queryable,
  tenantId: string,
  emailId: string,
  fileId: string,
): Promise<void> {
  await sql`
    update public.emails set raw_file_id = ${fileId}
    where tenant_id = ${tenantId} and id = ${emailId} and raw_file_id is distinct from ${fileId}`;
}
