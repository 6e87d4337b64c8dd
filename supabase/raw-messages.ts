/**
 * Staged raw messages: the claim check. A message is stored once per tenant under its SHA-256, and
 * workflows carry that reference instead of the message.
 */
import type { Sql } from './db.js';

export async function stageRawMessages(
  sql: Sql,
  tenantId: string,
  messages: { sha256: string; raw: Uint8Array }[],
): Promise<void> {
  if (messages.length === 0) return;
  const seen = new Set<string>();
  const rows = messages
    .filter((m) => !seen.has(m.sha256) && seen.add(m.sha256))
    .map((m) => ({
      tenant_id: tenantId,
      sha256: m.sha256,
      content: Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength),
      size_bytes: m.raw.byteLength,
    }));
  await sql`insert into public.raw_messages ${sql(rows)} on conflict (tenant_id, sha256) do nothing`;
}

export async function loadRawMessages(
  sql: Sql,
  tenantId: string,
  sha256s: string[],
): Promise<Map<string, Uint8Array>> {
  if (sha256s.length === 0) return new Map();
  const rows = await sql<{ sha256: string; content: Buffer }[]>`
    select sha256, content from public.raw_messages
    where tenant_id = ${tenantId} and sha256 = any(${[...new Set(sha256s)]})`;
  return new Map(rows.map((r) => [r.sha256, new Uint8Array(r.content)]));
}

/** Stage one message. Idempotent: the same bytes are stored once per tenant. */
export function stageRawMessage(sql: Sql, tenantId: string, sha256: string, raw: Uint8Array): Promise<void> {
  return stageRawMessages(sql, tenantId, [{ sha256, raw }]);
}

export async function loadRawMessage(sql: Sql, tenantId: string, sha256: string): Promise<Uint8Array | null> {
  return (await loadRawMessages(sql, tenantId, [sha256])).get(sha256) ?? null;
}
