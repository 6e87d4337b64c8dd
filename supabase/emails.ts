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
