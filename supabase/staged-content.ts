/**
 * Staged content: the claim check. Bytes that a workflow needs (a raw message, an uploaded mailbox, an
 * inline upload, an attachment) are stored once per tenant under their SHA-256, and workflows carry that
 * reference instead of the bytes.
 */
import type { Queryable } from './db.js';

/**
 * Stage many at once. Idempotent: the same bytes are stored once per tenant; staging them again renews
 * `last_staged_at`, so the retention cleanup never drops bytes a new workflow is about to read.
 */
export async function stageContents(
  sql: Queryable,
  tenantId: string,
  items: { sha256: string; content: Uint8Array }[],
): Promise<void> {
  if (items.length === 0) return;
  const seen = new Set<string>();
  const rows = items
    .filter((m) => !seen.has(m.sha256) && seen.add(m.sha256))
    .map((m) => ({
      tenant_id: tenantId,
      sha256: m.sha256,
      content: Buffer.from(m.content.buffer, m.content.byteOffset, m.content.byteLength),
      size_bytes: m.content.byteLength,
    }));
  await sql`
    insert into public.staged_content ${sql(rows)}
    on conflict (tenant_id, sha256) do update set last_staged_at = now()`;
}

export async function loadContents(
  sql: Queryable,
  tenantId: string,
  sha256s: string[],
): Promise<Map<string, Buffer>> {
  if (sha256s.length === 0) return new Map();
  const rows = await sql<{ sha256: string; content: Buffer }[]>`
    select sha256, content from public.staged_content
    where tenant_id = ${tenantId} and sha256 = any(${[...new Set(sha256s)]})`;
  return new Map(rows.map((r) => [r.sha256, r.content]));
}

/**
 * Renew the staged bytes of these hashes (as staging them again would, without sending them) and return
 * the hashes that are still staged; a missing one was dropped by the retention cleanup.
 */
export async function renewContents(
  sql: Queryable,
  tenantId: string,
  sha256s: string[],
): Promise<Set<string>> {
  if (sha256s.length === 0) return new Set();
  const rows = await sql<{ sha256: string }[]>`
    update public.staged_content set last_staged_at = now()
    where tenant_id = ${tenantId} and sha256 = any(${[...new Set(sha256s)]})
    returning sha256`;
  return new Set(rows.map((r) => r.sha256));
}

export function stageContent(
  sql: Queryable,
  tenantId: string,
  sha256: string,
  content: Uint8Array,
): Promise<void> {
  return stageContents(sql, tenantId, [{ sha256, content }]);
}

export async function loadContent(sql: Queryable, tenantId: string, sha256: string): Promise<Buffer | null> {
  return (await loadContents(sql, tenantId, [sha256])).get(sha256) ?? null;
}
