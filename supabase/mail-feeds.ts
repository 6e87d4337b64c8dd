/**
 * Reads behind the MCP resources (mcp/resources.ts): a thread, the latest emails, id completion. Callers
 * pass a transaction running as the caller (caller.ts), so RLS applies on top of the tenant filter.
 */
import type { Queryable } from './db.js';

export interface MailListItem {
  emailId: string;
  threadId: string | null;
  subject: string | null;
  from: string | null;
  sentAt: string;
  receivedAt: string;
  status: string;
  category: string | null;
  priority: number | null;
}

type Row = Omit<MailListItem, 'sentAt' | 'receivedAt'> & { sentAt: Date; receivedAt: Date };

const toItem = (r: Row): MailListItem => ({
  ...r,
  sentAt: new Date(r.sentAt).toISOString(),
  receivedAt: new Date(r.receivedAt).toISOString(),
  priority: r.priority === null ? null : Number(r.priority),
});

/** The emails of one thread, oldest first (at most `limit`). */
export async function threadEmails(
  tx: Queryable,
  tenantId: string,
  threadId: string,
  limit: number,
): Promise<MailListItem[]> {
  const rows = await tx<Row[]>`
    select id as "emailId", thread_id as "threadId", subject, from_address as "from", sent_at as "sentAt",
           received_at as "receivedAt", status, ai_analysis ->> 'category' as category,
           (ai_analysis ->> 'priority')::numeric as priority
    from public.emails where tenant_id = ${tenantId} and thread_id = ${threadId}
    order by sent_at, id limit ${limit}`;
  return rows.map(toItem);
}

/** The latest received emails, newest first. */
export async function recentEmails(tx: Queryable, tenantId: string, limit: number): Promise<MailListItem[]> {
  const rows = await tx<Row[]>`
    select id as "emailId", thread_id as "threadId", subject, from_address as "from", sent_at as "sentAt",
           received_at as "receivedAt", status, ai_analysis ->> 'category' as category,
           (ai_analysis ->> 'priority')::numeric as priority
    from public.emails where tenant_id = ${tenantId}
    order by received_at desc, id desc limit ${limit}`;
  return rows.map(toItem);
}

/** Email or thread ids of recent mail starting with `prefix`, for resource-template completion. */
export async function completeMailIds(
  tx: Queryable,
  tenantId: string,
  kind: 'email' | 'thread',
  prefix: string,
  limit: number,
): Promise<string[]> {
  const like = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows =
    kind === 'email'
      ? await tx<{ v: string }[]>`
          select id::text as v from public.emails
          where tenant_id = ${tenantId} and id::text like ${like}
          order by received_at desc limit ${limit}`
      : await tx<{ v: string }[]>`
          select thread_id as v from public.emails
          where tenant_id = ${tenantId} and thread_id like ${like}
          group by thread_id order by max(received_at) desc limit ${limit}`;
  return rows.map((r) => r.v);
}

/** The staged raw message of an email (the claim check keeps it until it is archived and aged out). */
export async function stagedRawMessage(
  sql: Queryable,
  tenantId: string,
  rawSha256: string,
): Promise<Buffer | null> {
  const [row] = await sql<{ content: Buffer }[]>`
    select content from public.staged_content where tenant_id = ${tenantId} and sha256 = ${rawSha256}`;
  return row?.content ?? null;
}
