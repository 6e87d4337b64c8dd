/**
 * Inbound mail (SMTP listener, inbound-parse webhooks): which tenant a recipient belongs to, the ledger
 * of accepted messages (written with their staged bytes, in one transaction) and the webhook replay store.
 */
import type { Queryable, Sql } from './db.js';
import { stageContent } from './staged-content.js';

export type InboundSource = 'smtp' | 'mailgun' | 'postmark' | 'sendgrid';

export interface InboundAddress {
  id: string;
  tenantId: string;
  kind: 'address' | 'domain';
  value: string;
  createdAt: Date;
}

/**
 * The tenant an address is routed to: an address row first, then a domain row, then (when allowed) a
 * `<slug>.localhost` domain naming an organization. Null for a recipient nobody receives mail for.
 */
export async function tenantForRecipient(
  sql: Queryable,
  address: string,
  localhostDomains: boolean,
): Promise<string | null> {
  const lower = address.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at <= 0 || at === lower.length - 1) return null;
  const domain = lower.slice(at + 1);
  const rows = await sql<{ tenant_id: string }[]>`
    select tenant_id from public.inbound_addresses
    where (kind = 'address' and value = ${lower}) or (kind = 'domain' and value = ${domain})
    order by (kind = 'address') desc
    limit 1`;
  if (rows[0]) return rows[0].tenant_id;
  const local = localhostDomains ? /^([a-z0-9][a-z0-9-]{0,62})\.localhost$/.exec(domain) : null;
  if (!local) return null;
  const [org] = await sql<{ id: string }[]>`select id from public.organizations where slug = ${local[1]!}`;
  return org?.id ?? null;
}

export async function addInboundAddress(
  sql: Queryable,
  tenantId: string,
  kind: 'address' | 'domain',
  value: string,
): Promise<{ address: InboundAddress; created: boolean } | { takenBy: 'other-tenant' }> {
  const [inserted] = await sql<InboundAddress[]>`
    insert into public.inbound_addresses (tenant_id, kind, value) values (${tenantId}, ${kind}, ${value})
    on conflict (kind, value) do nothing
    returning id, tenant_id as "tenantId", kind, value, created_at as "createdAt"`;
  if (inserted) return { address: inserted, created: true };
  const [existing] = await sql<InboundAddress[]>`
    select id, tenant_id as "tenantId", kind, value, created_at as "createdAt"
    from public.inbound_addresses where kind = ${kind} and value = ${value}`;
  if (existing && existing.tenantId === tenantId) return { address: existing, created: false };
  return { takenBy: 'other-tenant' };
}

export function listInboundAddresses(sql: Queryable, tenantId: string): Promise<InboundAddress[]> {
  return sql<InboundAddress[]>`
    select id, tenant_id as "tenantId", kind, value, created_at as "createdAt"
    from public.inbound_addresses where tenant_id = ${tenantId}
    order by kind, value`;
}

export async function removeInboundAddress(
  sql: Queryable,
  tenantId: string,
  kind: 'address' | 'domain',
  value: string,
): Promise<boolean> {
  const rows = await sql`
    delete from public.inbound_addresses
    where tenant_id = ${tenantId} and kind = ${kind} and value = ${value} returning id`;
  return rows.length > 0;
}

export interface AcceptedMessage {
  tenantId: string;
  rawSha256: string;
  dedupKey: string;
  raw: Uint8Array;
  envelope: Record<string, unknown>;
}

/**
 * Stage the bytes and write the ledger rows of one accepted message (one row per tenant) in ONE
 * transaction: when this returns, the message is stored; when it throws, nothing is. Returns the ledger
 * row ids, in the order of `messages`.
 */
export async function recordAccepted(
  sql: Sql,
  source: InboundSource,
  messages: AcceptedMessage[],
  /** Runs inside the same transaction first (the webhook replay check); throwing rolls everything back. */
  before?: (tx: Queryable) => Promise<void>,
): Promise<string[]> {
  return sql.begin(async (tx) => {
    await before?.(tx);
    const ids: string[] = [];
    for (const m of messages) {
      await stageContent(tx, m.tenantId, m.rawSha256, m.raw);
      const [row] = await tx<{ id: string }[]>`
        insert into public.inbound_messages (tenant_id, raw_sha256, dedup_key, source, envelope)
        values (${m.tenantId}, ${m.rawSha256}, ${m.dedupKey}, ${source}, ${tx.json(m.envelope as never)})
        returning id::text`;
      ids.push(row!.id);
    }
    return ids;
  }) as Promise<string[]>;
}

export async function markStarted(sql: Queryable, id: string, workflowId: string): Promise<void> {
  await sql`
    update public.inbound_messages set started_at = now(), workflow_id = ${workflowId}, last_error = null
    where id = ${id}`;
}

/** Record why the run did not start; `final`: it never will (the row leaves the recovery sweep). */
export async function markStartFailed(
  sql: Queryable,
  id: string,
  error: string,
  final = false,
): Promise<void> {
  await sql`
    update public.inbound_messages
    set last_error = ${error}, started_at = case when ${final} then now() else started_at end
    where id = ${id}`;
}

export interface PendingInbound {
  id: string;
  tenantId: string;
  rawSha256: string;
  source: InboundSource;
}

/**
 * Accepted messages whose run was never started, received before `olderThan`. Locked with SKIP LOCKED
 * for the caller's transaction, so two sweeping processes take different rows.
 */
export function claimPending(tx: Queryable, olderThan: Date, limit: number): Promise<PendingInbound[]> {
  return tx<PendingInbound[]>`
    select id::text, tenant_id as "tenantId", raw_sha256 as "rawSha256", source
    from public.inbound_messages
    where started_at is null and received_at < ${olderThan}
    order by received_at
    limit ${limit}
    for update skip locked`;
}

/**
 * Remember a webhook token (the retention workflow purges them after RETENTION_WEBHOOK_TOKENS_DAYS). 'new' the first time; 'same' when the token was seen with the same message
 * (a provider's re-delivery, harmless: it is the same email); 'replayed' when it comes with another.
 */
export async function rememberWebhookToken(
  sql: Queryable,
  provider: string,
  token: string,
  messageSha256: string,
): Promise<'new' | 'same' | 'replayed'> {
  const inserted = await sql`
    insert into public.inbound_webhook_tokens (provider, token, body_sha256)
    values (${provider}, ${token}, ${messageSha256})
    on conflict (provider, token) do nothing returning token`;
  if (inserted.length > 0) return 'new';
  const [seen] = await sql<{ body_sha256: string }[]>`
    select body_sha256 from public.inbound_webhook_tokens where provider = ${provider} and token = ${token}`;
  return seen?.body_sha256 === messageSha256 ? 'same' : 'replayed';
}
