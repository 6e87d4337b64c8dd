/**
 * mbox imports: staged uploads and the per-message ledger (see migration 20261123003100_mailboxes).
 */
import type { Queryable, Sql } from './db.js';

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

/** Settle one pending entry; returns false when it was already settled (by an earlier attempt). */
export async function settleLedger(
  tx: Queryable,
  tenantId: string,
  mailbox: string,
  seq: number,
  outcome: {
    status: Exclude<LedgerStatus, 'pending'>;
    emailId?: string;
    attachmentCount?: number;
    reason?: string;
    detail?: string;
  },
): Promise<boolean> {
  const result = await tx`
    update public.mailbox_messages
    set status = ${outcome.status}, email_id = ${outcome.emailId ?? null}, reason = ${outcome.reason ?? null},
        detail = ${outcome.detail ?? null}, attachment_count = ${outcome.attachmentCount ?? 0}, updated_at = now()
    where tenant_id = ${tenantId} and mailbox_sha256 = ${mailbox} and seq = ${seq} and status = 'pending'`;
  return result.count === 1;
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

/** Messages of [fromSeq, toSeq) that this import stored and whose attachments are not all stored yet. */
export async function ledgerAttachmentsPending(
  sql: Sql,
  tenantId: string,
  mailbox: string,
  fromSeq: number,
  toSeq: number,
): Promise<{ emailId: string; rawSha256: string }[]> {
  return sql<{ emailId: string; rawSha256: string }[]>`
    select m.email_id as "emailId", m.raw_sha256 as "rawSha256"
    from public.mailbox_messages m
    where m.tenant_id = ${tenantId} and m.mailbox_sha256 = ${mailbox} and m.status = 'stored'
      and m.seq >= ${fromSeq} and m.seq < ${toSeq} and m.attachment_count > 0 and m.email_id is not null
      and m.attachment_count > (
        select count(*) from public.email_attachments a where a.email_id = m.email_id and a.status = 'stored'
      )
    order by m.seq`;
}
