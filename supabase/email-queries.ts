/**
 * Reads of stored email for MCP tools. Callers pass a transaction running as the caller (caller.ts),
 * so RLS applies on top of the explicit tenant filter.
 */
import type { StoredEmail } from '../core/records.js';
import type { Queryable } from './db.js';

export interface EmailSearchHit {
  emailId: string;
  subject: string | null;
  from: string | null;
  sentAt: string;
  threadId: string | null;
  rank: number;
  snippet: string;
  flags: string[];
  deletedAt: string | null;
}

/** What a search keeps: emails with every flag of `with`, none of `without`; expunged ones only when asked. */
export interface EmailSearchFilter {
  with: string[];
  without: string[];
  includeDeleted: boolean;
}

/** Full-text search (websearch syntax: words, "phrases", -exclusions, or) ranked by ts_rank_cd. */
export async function searchEmails(
  tx: Queryable,
  tenantId: string,
  query: string,
  page: { limit: number; offset: number },
  filter: EmailSearchFilter = { with: [], without: [], includeDeleted: false },
): Promise<{ total: number; hits: EmailSearchHit[] }> {
  // search_tenant_emails checks the caller's membership once and searches on the full-text index; as
  // a plain query under RLS the match could not use it (see its migration).
  const rows = await tx<(EmailSearchHit & { total: string })[]>`
    select email_id as "emailId", subject, from_address as "from", sent_at as "sentAt",
           thread_id as "threadId", rank, snippet, flags, deleted_at as "deletedAt", total
    from public.search_tenant_emails(${tenantId}, ${query}, ${page.limit}, ${page.offset},
                                     ${filter.with}::text[], ${filter.without}::text[], ${filter.includeDeleted})`;
  return {
    total: Number(rows[0]?.total ?? 0),
    hits: rows.map(({ total: _total, ...hit }) => ({
      ...hit,
      sentAt: new Date(hit.sentAt).toISOString(),
      deletedAt: hit.deletedAt ? new Date(hit.deletedAt).toISOString() : null,
      rank: Number(hit.rank),
    })),
  };
}

export async function getEmail(
  tx: Queryable,
  tenantId: string,
  emailId: string,
): Promise<StoredEmail | null> {
  const [row] = await tx<StoredEmail[]>`
    select e.id as "emailId", message_id as "messageId", thread_id as "threadId", subject,
           from_addresses as "from", reply_to_addresses as "replyTo", to_addresses as "to",
           cc_addresses as "cc", bcc_addresses as "bcc", sent_at as "sentAt",
           sent_at_fallback as "sentAtFallback", received_at as "receivedAt", in_reply_to as "inReplyTo",
           reference_ids as "references", text_body as "textBody", html_body as "htmlBody", headers,
           e.size_bytes as "sizeBytes", e.raw_sha256 as "rawSha256", e.status, e.flags,
           e.deleted_at as "deletedAt",
           case when f.id is null then null else jsonb_build_object(
             'fileId', f.id, 'bucket', f.bucket, 'path', f.storage_path, 'sizeBytes', f.size_bytes) end as "rawFile"
    from public.emails e left join public.files f on f.id = e.raw_file_id and f.status = 'uploaded'
    where e.tenant_id = ${tenantId} and e.id = ${emailId}`;
  if (!row) return null;
  return {
    ...row,
    sentAt: new Date(row.sentAt).toISOString(),
    receivedAt: new Date(row.receivedAt).toISOString(),
    deletedAt: row.deletedAt ? new Date(row.deletedAt).toISOString() : null,
  };
}
