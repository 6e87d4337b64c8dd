/**
 * Email storage: the one-transaction upsert and recorded failures. Raw messages: staged-content.ts.
 */
import type { ParsedEmail } from '../core/email.js';
import type { Queryable, Sql } from './db.js';

export async function upsertEmail(
  sql: Queryable,
  tenantId: string,
  email: ParsedEmail,
): Promise<{ emailId: string; created: boolean; threadId: string }> {
  const [row] = await sql<{ email_id: string; created: boolean; thread_id: string }[]>`
    select email_id, created, thread_id from public.upsert_email(${tenantId}, ${sql.json(toJson(email))})`;
  return { emailId: row!.email_id, created: row!.created, threadId: row!.thread_id };
}

/**
 * upsert_email for many emails in one statement (one round trip; an mbox slice's, inside the tenant's
 * thread lock), in order: upsert_email is volatile, so each call sees the rows the calls before it wrote,
 * and a reply joins its parent's thread as it would call by call. Results in the order given.
 */
export async function upsertEmails(
  sql: Queryable,
  tenantId: string,
  emails: ParsedEmail[],
): Promise<{ emailId: string; created: boolean; threadId: string }[]> {
  if (emails.length === 0) return [];
  const rows = await sql<{ email_id: string; created: boolean; thread_id: string }[]>`
    select u.email_id, u.created, u.thread_id
    from jsonb_array_elements(${sql.json(emails.map(toJson))}) with ordinality as m(email, n)
    cross join lateral public.upsert_email(${tenantId}, m.email) u
    order by m.n`;
  return rows.map((r) => ({ emailId: r.email_id, created: r.created, threadId: r.thread_id }));
}

export async function recordIngestFailure(
  sql: Queryable,
  tenantId: string,
  sha256: string,
  reason: string,
  detail: string,
): Promise<void> {
  await sql`
    insert into public.ingest_failures (tenant_id, sha256, reason, detail)
    values (${tenantId}, ${sha256}, ${reason}, ${detail})
    on conflict (tenant_id, sha256, reason) do update set detail = excluded.detail`;
}

function toJson(email: ParsedEmail): postgresJson {
  return JSON.parse(JSON.stringify(email)) as postgresJson;
}
type postgresJson = Parameters<Sql['json']>[0];
