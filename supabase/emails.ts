/**
 * Email storage: the raw-message claim check, the one-transaction upsert, and recorded failures.
 */
import type { ParsedEmail } from '../core/email.js';
import type { Queryable, Sql } from './db.js';

/** Stage raw bytes under their SHA-256. Idempotent: the same bytes are stored once per tenant. */
export async function stageRawMessage(
  sql: Sql,
  tenantId: string,
  sha256: string,
  raw: Uint8Array,
): Promise<void> {
  await sql`
    insert into public.raw_messages (tenant_id, sha256, content, size_bytes)
    values (${tenantId}, ${sha256}, ${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)}, ${raw.byteLength})
    on conflict (tenant_id, sha256) do nothing`;
}

export async function loadRawMessage(sql: Sql, tenantId: string, sha256: string): Promise<Uint8Array | null> {
  const [row] = await sql<{ content: Buffer }[]>`
    select content from public.raw_messages where tenant_id = ${tenantId} and sha256 = ${sha256}`;
  return row ? new Uint8Array(row.content) : null;
}

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
