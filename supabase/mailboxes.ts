/**
 * mbox imports: staged uploads and the per-message ledger (see migration 20261123003100_mailboxes).
 */
import type { Queryable, Sql } from './db.js';
import { countRawPendingInMailbox } from './raw-messages.js';

export type LedgerStatus = 'pending' | 'stored' | 'duplicate' | 'failed';

export interface LedgerEntry {
  seq: number;
  byteOffset: number;
  rawSha256: string;
  sizeBytes: number;
  status: 'pending' | 'failed';
  reason?: string;
  detail?: string;
}

export interface MailboxCounts {
  scanned: number;
  pending: number;
  stored: number;
  duplicates: number;
  failed: number;
}

/** Record scanned messages; a re-scan of the same chunk (a retried activity) changes nothing. */
export async function recordLedger(
  sql: Sql,
  tenantId: string,
  mailbox: string,
  entries: LedgerEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => ({
    tenant_id: tenantId,
    mailbox_sha256: mailbox,
    seq: e.seq,
    byte_offset: e.byteOffset,
    raw_sha256: e.rawSha256,
    size_bytes: e.sizeBytes,
    status: e.status,
    reason: e.reason ?? null,
    detail: e.detail ?? null,
  }));
  await sql`insert into public.mailbox_messages ${sql(rows)} on conflict (tenant_id, mailbox_sha256, seq) do nothing`;
}

export async function pendingLedger(
  sql: Sql,
  tenantId: string,
  mailbox: string,
  fromSeq: number,
  toSeq: number,
): Promise<{ seq: number; rawSha256: string }[]> {
  return sql<{ seq: number; rawSha256: string }[]>`
    select seq, raw_sha256 as "rawSha256" from public.mailbox_messages
    where tenant_id = ${tenantId} and mailbox_sha256 = ${mailbox} and status = 'pending'
      and seq >= ${fromSeq} and seq < ${toSeq}
    order by seq`;
}

export interface LedgerOutcome {
  seq: number;
  status: Exclude<LedgerStatus, 'pending'>;
  emailId?: string;
  attachmentCount?: number;
  reason?: string;
  detail?: string;
}

/**
 * Settle pending entries in one statement (a slice's, in the transaction that stored its emails); returns
 * the outcomes that settled a row, leaving out rows already settled (by an earlier attempt).
 */
export async function settleLedger(
  tx: Queryable,
  tenantId: string,
  mailbox: string,
  outcomes: LedgerOutcome[],
): Promise<Set<number>> {
  if (outcomes.length === 0) return new Set();
  const rows = await tx<{ seq: number }[]>`
    update public.mailbox_messages m
    set status = v.status, email_id = v.email_id, reason = v.reason, detail = v.detail,
        attachment_count = v.attachment_count, updated_at = now()
    from unnest(${outcomes.map((o) => o.seq)}::int[], ${outcomes.map((o) => o.status)}::text[],
                ${outcomes.map((o) => o.emailId ?? null)}::uuid[], ${outcomes.map((o) => o.reason ?? null)}::text[],
                ${outcomes.map((o) => o.detail ?? null)}::text[],
                ${outcomes.map((o) => o.attachmentCount ?? 0)}::int[])
         as v(seq, status, email_id, reason, detail, attachment_count)
    where m.tenant_id = ${tenantId} and m.mailbox_sha256 = ${mailbox} and m.seq = v.seq
      and m.status = 'pending'
    returning m.seq`;
  return new Set(rows.map((r) => r.seq));
}

export async function ledgerCounts(sql: Sql, tenantId: string, mailbox: string): Promise<MailboxCounts> {
  const [row] = await sql<Record<keyof MailboxCounts, number>[]>`
    select count(*)::int as scanned,
           (count(*) filter (where status = 'pending'))::int as pending,
           (count(*) filter (where status = 'stored'))::int as stored,
           (count(*) filter (where status = 'duplicate'))::int as duplicates,
           (count(*) filter (where status = 'failed'))::int as failed
    from public.mailbox_messages where tenant_id = ${tenantId} and mailbox_sha256 = ${mailbox}`;
  return row!;
}

export async function ledgerFailures(
  sql: Sql,
  tenantId: string,
  mailbox: string,
  limit: number,
): Promise<{ seq: number; reason: string; detail: string | null }[]> {
  return sql<{ seq: number; reason: string; detail: string | null }[]>`
    select seq, reason, detail from public.mailbox_messages
    where tenant_id = ${tenantId} and mailbox_sha256 = ${mailbox} and status = 'failed'
    order by seq limit ${limit}`;
}

/**
 * Emails of the messages in [fromSeq, toSeq) whose attachments are not all stored: the ones this import
 * stored, and the ones stored before (a duplicate) whose attachments failed or are still pending, so a
 * different file with the same messages completes them too. An email is the work of its first message
 * in the mailbox only. The raw SHA-256 is the email's own (a duplicate's bytes may differ).
 */
export async function ledgerAttachmentsPending(
  sql: Sql,
  tenantId: string,
  mailbox: string,
  fromSeq: number,
  toSeq: number,
): Promise<{ emailId: string; rawSha256: string }[]> {
  return sql<{ emailId: string; rawSha256: string }[]>`
    select m.email_id as "emailId", e.raw_sha256 as "rawSha256"
    from public.mailbox_messages m join public.emails e on e.id = m.email_id
    where m.tenant_id = ${tenantId} and m.mailbox_sha256 = ${mailbox} and m.status in ('stored', 'duplicate')
      and m.seq >= ${fromSeq} and m.seq < ${toSeq}
      and not exists (
        select 1 from public.mailbox_messages p
        where p.tenant_id = m.tenant_id and p.mailbox_sha256 = m.mailbox_sha256 and p.email_id = m.email_id
          and p.seq < m.seq)
      and (
        exists (select 1 from public.email_attachments a where a.email_id = m.email_id and a.status <> 'stored')
        -- claimed in the same transaction that stored the email, but counted in case they are missing
        or (m.status = 'stored' and m.attachment_count >
              (select count(*) from public.email_attachments a where a.email_id = m.email_id)))
    order by m.seq`;
}

export interface MailboxAttachmentCounts {
  /** Attachments of the mailbox's emails whose upload failed (importing the same file again retries them). */
  attachmentsFailed: number;
  /** Claimed and not uploaded yet (while the import runs). */
  attachmentsPending: number;
}

/** The attachments of the emails an import stored or found already stored, by upload status. */
export async function ledgerAttachmentCounts(
  sql: Sql,
  tenantId: string,
  mailbox: string,
): Promise<MailboxAttachmentCounts> {
  const [row] = await sql<MailboxAttachmentCounts[]>`
    select (count(*) filter (where a.status = 'failed'))::int as "attachmentsFailed",
           (count(*) filter (where a.status = 'pending'))::int as "attachmentsPending"
    from public.email_attachments a
    where a.tenant_id = ${tenantId} and a.email_id in (
      select m.email_id from public.mailbox_messages m
      where m.tenant_id = ${tenantId} and m.mailbox_sha256 = ${mailbox} and m.status in ('stored', 'duplicate'))`;
  return row ?? { attachmentsFailed: 0, attachmentsPending: 0 };
}

/** What the import's emails still miss in storage: raw messages not archived, attachments not stored. */
export async function mailboxLeftovers(
  sql: Sql,
  tenantId: string,
  mailbox: string,
): Promise<MailboxAttachmentCounts & { rawNotArchived: number }> {
  const rawNotArchived = await countRawPendingInMailbox(sql, tenantId, mailbox);
  return { rawNotArchived, ...(await ledgerAttachmentCounts(sql, tenantId, mailbox)) };
}
