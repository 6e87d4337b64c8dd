/**
 * Outgoing webhooks (migration 20261203009000_webhooks): endpoints, their encrypted URL and secrets,
 * deliveries and attempts. Every read and write is scoped by tenant. The delivery workflow's claim
 * (`claimDeliveries`) reads the tenant's outbox after the endpoint's cursor in (txid, id) order, only of
 * finished transactions (as supabase/events.ts does), and writes the matching deliveries and the new
 * cursor in one transaction.
 */
import type { EventCursor, OutboxEvent } from '../core/events.js';
import { eventMatches, type WebhookFilter, type WebhookKind } from '../core/webhook-messages.js';
import type { Queryable, Sql } from './db.js';

export type EndpointStatus = 'active' | 'needs_attention' | 'disabled';

export interface WebhookEndpointRow {
  id: string;
  tenantId: string;
  kind: WebhookKind;
  urlShown: string;
  description: string;
  eventTypes: string[];
  minPriority: number | null;
  categories: string[] | null;
  status: EndpointStatus;
  statusReason: string | null;
  statusChangedAt: Date | null;
  workflowId: string;
  createdAt: Date;
}

const ENDPOINT_COLUMNS = `id, tenant_id as "tenantId", kind, url_shown as "urlShown", description,
  event_types as "eventTypes", min_priority::float8 as "minPriority", categories, status,
  status_reason as "statusReason", status_changed_at as "statusChangedAt", workflow_id as "workflowId",
  created_at as "createdAt"`;

export function filterOf(row: Pick<WebhookEndpointRow, 'eventTypes' | 'minPriority' | 'categories'>) {
  return {
    eventTypes: row.eventTypes,
    minPriority: row.minPriority,
    categories: row.categories,
  } as WebhookFilter;
}

export interface NewEndpoint {
  id: string;
  tenantId: string;
  kind: WebhookKind;
  urlShown: string;
  description: string;
  filter: WebhookFilter;
  workflowId: string;
  createdBy: string;
  ciphertext: string;
}

/** A new endpoint, its cursor at "now" (it hears of events from here on), and its sealed secrets. */
export async function insertEndpoint(sql: Sql, e: NewEndpoint): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      insert into public.webhook_endpoints
        (id, tenant_id, kind, url_shown, description, event_types, min_priority, categories, cursor_txid,
         workflow_id, created_by)
      values (${e.id}, ${e.tenantId}, ${e.kind}, ${e.urlShown}, ${e.description}, ${[...e.filter.eventTypes]},
              ${e.filter.minPriority ?? null}, ${e.filter.categories ? [...e.filter.categories] : null},
              pg_snapshot_xmin(pg_current_snapshot()), ${e.workflowId}, ${e.createdBy})`;
    await tx`
      insert into public.webhook_endpoint_secrets (endpoint_id, tenant_id, ciphertext)
      values (${e.id}, ${e.tenantId}, ${e.ciphertext})`;
  });
}

export async function findEndpoint(
  sql: Queryable,
  tenantId: string,
  endpointId: string,
): Promise<WebhookEndpointRow | null> {
  const [row] = await sql<WebhookEndpointRow[]>`
    select ${sql.unsafe(ENDPOINT_COLUMNS)} from public.webhook_endpoints
    where tenant_id = ${tenantId} and id = ${endpointId}`;
  return row ?? null;
}

export function listEndpoints(sql: Queryable, tenantId: string): Promise<WebhookEndpointRow[]> {
  return sql<WebhookEndpointRow[]>`
    select ${sql.unsafe(ENDPOINT_COLUMNS)} from public.webhook_endpoints
    where tenant_id = ${tenantId} order by created_at, id`;
}

/** Active endpoints of these tenants (the waker's question), or of every tenant. */
export function activeEndpoints(
  sql: Queryable,
  tenantIds: readonly string[] | null,
): Promise<{ tenantId: string; id: string }[]> {
  return sql<{ tenantId: string; id: string }[]>`
    select tenant_id as "tenantId", id from public.webhook_endpoints
    where status = 'active' and (${tenantIds === null} or tenant_id = any(${tenantIds ?? []}::uuid[]))`;
}

export async function deleteEndpoint(sql: Queryable, tenantId: string, endpointId: string): Promise<void> {
  await sql`delete from public.webhook_endpoints where tenant_id = ${tenantId} and id = ${endpointId}`;
}

export async function loadSealed(
  sql: Queryable,
  tenantId: string,
  endpointId: string,
): Promise<string | null> {
  const [row] = await sql<{ ciphertext: string }[]>`
    select ciphertext from public.webhook_endpoint_secrets
    where tenant_id = ${tenantId} and endpoint_id = ${endpointId}`;
  return row?.ciphertext ?? null;
}

export async function saveSealed(sql: Queryable, tenantId: string, endpointId: string, ciphertext: string) {
  await sql`
    update public.webhook_endpoint_secrets set ciphertext = ${ciphertext}, updated_at = now()
    where tenant_id = ${tenantId} and endpoint_id = ${endpointId}`;
}

export async function setEndpointStatus(
  sql: Queryable,
  tenantId: string,
  endpointId: string,
  status: EndpointStatus,
  reason: string | null,
): Promise<void> {
  await sql`
    update public.webhook_endpoints set status = ${status}, status_reason = ${reason},
      status_changed_at = now(), updated_at = now()
    where tenant_id = ${tenantId} and id = ${endpointId}`;
}

// ---- Deliveries ----------------------------------------------------------------------------------

export interface QueuedDelivery {
  deliveryId: string;
  eventId: string;
  eventType: string;
}

/** Events read per claim: the cursor moves past them all, matching or not. */
const EVENTS_PER_CLAIM = 500;

/**
 * Move the endpoint's cursor over the tenant's next finished events, writing a delivery for each one
 * that matches, in one transaction; then the undelivered deliveries, oldest event first.
 */
export async function claimDeliveries(
  sql: Sql,
  tenantId: string,
  endpointId: string,
  limit: number,
): Promise<{ deliveries: QueuedDelivery[]; status: EndpointStatus | null; more: boolean }> {
  const claimed = await sql.begin(async (tx) => {
    const [endpoint] = await tx<(WebhookEndpointRow & { cursorTxid: string; cursorId: string })[]>`
      select ${tx.unsafe(ENDPOINT_COLUMNS)}, cursor_txid::text as "cursorTxid", cursor_id::text as "cursorId"
      from public.webhook_endpoints where tenant_id = ${tenantId} and id = ${endpointId} for update`;
    if (!endpoint) return null;
    const cursor: EventCursor = { txid: endpoint.cursorTxid, id: endpoint.cursorId };
    const events = await tx<Pick<OutboxEvent, 'id' | 'txid' | 'type' | 'payload'>[]>`
      select e.id::text as id, e.txid::text as txid, e.type, e.payload from public.events e
      where e.tenant_id = ${tenantId}
        and (e.txid, e.id) > (${cursor.txid}::xid8, ${cursor.id}::bigint)
        and e.txid < pg_snapshot_xmin(pg_current_snapshot())
      order by e.txid, e.id limit ${EVENTS_PER_CLAIM}`;
    // Committed before the endpoint existed (its txid past the cursor only because an older
    // transaction was still running then): moved past, not delivered.
    const [{ older } = { older: [] as string[] }] = await tx<{ older: string[] }[]>`
      select coalesce(array_agg(x.id::text), '{}') as older
      from unnest(${events.map((e) => e.id)}::bigint[], ${events.map((e) => e.txid)}::xid8[]) as x(id, txid),
           public.webhook_endpoints w
      where w.id = ${endpointId} and pg_visible_in_snapshot(x.txid, w.start_snapshot)`;
    const before = new Set(older);
    const matching = events.filter((e) => !before.has(e.id) && eventMatches(filterOf(endpoint), e));
    if (matching.length > 0) {
      const rows = matching.map((e) => ({
        tenant_id: tenantId,
        endpoint_id: endpointId,
        event_id: e.id,
        event_txid: e.txid,
        event_type: e.type,
      }));
      await tx`insert into public.webhook_deliveries ${tx(rows)} on conflict (endpoint_id, event_id) do nothing`;
    }
    const last = events.at(-1);
    if (last) {
      await tx`
        update public.webhook_endpoints set cursor_txid = ${last.txid}::xid8, cursor_id = ${last.id}::bigint
        where id = ${endpointId}`;
    }
    return { status: endpoint.status, more: events.length === EVENTS_PER_CLAIM };
  });
  if (!claimed) return { deliveries: [], status: null, more: false };
  const deliveries = await sql<QueuedDelivery[]>`
    select id as "deliveryId", event_id::text as "eventId", event_type as "eventType"
    from public.webhook_deliveries
    where endpoint_id = ${endpointId} and tenant_id = ${tenantId} and status <> 'delivered'
    order by event_txid, event_id limit ${limit}`;
  return { deliveries, status: claimed.status, more: claimed.more };
}

export interface DeliveryToSend {
  deliveryId: string;
  status: 'pending' | 'delivered' | 'failed';
  event: OutboxEvent;
}

export async function deliveryToSend(
  sql: Queryable,
  tenantId: string,
  deliveryId: string,
): Promise<DeliveryToSend | null> {
  const [row] = await sql<
    (Omit<DeliveryToSend, 'event'> & Omit<OutboxEvent, 'createdAt'> & { createdAt: Date })[]
  >`
    select d.id as "deliveryId", d.status, e.id::text as id, e.txid::text as txid, e.tenant_id as "tenantId",
           e.type, e.subject_id as "subjectId", e.payload, e.created_at as "createdAt"
    from public.webhook_deliveries d join public.events e on e.id = d.event_id
    where d.tenant_id = ${tenantId} and d.id = ${deliveryId}`;
  if (!row) return null;
  const { deliveryId: id, status, createdAt, ...event } = row;
  return { deliveryId: id, status, event: { ...event, createdAt: new Date(createdAt).toISOString() } };
}

export interface AttemptRecord {
  tenantId: string;
  deliveryId: string;
  attemptKey: string;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  response: string;
  outcome: 'delivered' | 'retry' | 'needs_attention' | 'disabled';
  nextAttemptAt: Date | null;
}

/** The outcome an attempt key already recorded (a retried activity), or null. */
export async function recordedAttempt(
  sql: Queryable,
  attemptKey: string,
): Promise<AttemptRecord['outcome'] | null> {
  const [row] = await sql<{ outcome: AttemptRecord['outcome'] }[]>`
    select outcome from public.webhook_attempts where attempt_key = ${attemptKey}`;
  return row?.outcome ?? null;
}

/** One attempt, and the delivery as it then stands, in one transaction. */
export async function recordAttempt(sql: Sql, a: AttemptRecord): Promise<void> {
  await sql.begin(async (tx) => {
    const inserted = await tx`
      insert into public.webhook_attempts
        (tenant_id, delivery_id, attempt_key, started_at, duration_ms, status_code, error, response, outcome)
      values (${a.tenantId}, ${a.deliveryId}, ${a.attemptKey}, ${a.startedAt}, ${a.durationMs}, ${a.statusCode},
              ${a.error}, ${a.response}, ${a.outcome})
      on conflict (attempt_key) do nothing`;
    if (inserted.count === 0) return;
    const status = a.outcome === 'delivered' ? 'delivered' : a.outcome === 'retry' ? 'pending' : 'failed';
    await tx`
      update public.webhook_deliveries set status = ${status}, attempts = attempts + 1,
        last_status_code = ${a.statusCode}, last_error = ${a.error}, last_attempt_at = ${a.startedAt},
        next_attempt_at = ${a.nextAttemptAt},
        delivered_at = ${a.outcome === 'delivered' ? tx`now()` : tx`delivered_at`}
      where tenant_id = ${a.tenantId} and id = ${a.deliveryId}`;
  });
}

/** replay_webhook_delivery: queued again (the workflow sends it before newer ones). */

export interface DeliveryRow {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  replays: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
  /** For paging: the (txid, id) of the event. */
  position: string;
}

const DELIVERY_COLUMNS = `id as "deliveryId", endpoint_id as "endpointId", event_id::text as "eventId",
  event_type as "eventType", status, attempts, replays, last_status_code as "lastStatusCode",
  last_error as "lastError", last_attempt_at as "lastAttemptAt", next_attempt_at as "nextAttemptAt",
  delivered_at as "deliveredAt", created_at as "createdAt", event_txid::text || ':' || event_id::text as position`;

/** Queue a delivery to be sent again; the row as queued (null: no such delivery). */
export async function queueReplay(
  sql: Queryable,
  tenantId: string,
  endpointId: string,
  deliveryId: string,
): Promise<DeliveryRow | null> {
  const [row] = await sql<DeliveryRow[]>`
    update public.webhook_deliveries set status = 'pending', replays = replays + 1, next_attempt_at = now()
    where tenant_id = ${tenantId} and endpoint_id = ${endpointId} and id = ${deliveryId}
    returning ${sql.unsafe(DELIVERY_COLUMNS)}`;
  return row ?? null;
}

export async function findDelivery(
  sql: Queryable,
  tenantId: string,
  deliveryId: string,
): Promise<DeliveryRow | null> {
  const [row] = await sql<DeliveryRow[]>`
    select ${sql.unsafe(DELIVERY_COLUMNS)} from public.webhook_deliveries
    where tenant_id = ${tenantId} and id = ${deliveryId}`;
  return row ?? null;
}

/** Newest first, `limit` after the position `before` (a previous page's last). */
export function listDeliveries(
  sql: Queryable,
  tenantId: string,
  endpointId: string,
  opts: { status?: DeliveryRow['status']; before?: { txid: string; id: string }; limit: number },
): Promise<DeliveryRow[]> {
  const before = opts.before;
  return sql<DeliveryRow[]>`
    select ${sql.unsafe(DELIVERY_COLUMNS)} from public.webhook_deliveries
    where tenant_id = ${tenantId} and endpoint_id = ${endpointId}
      and (${opts.status ?? null}::text is null or status = ${opts.status ?? null})
      and (${before === undefined} or (event_txid, event_id) < (${before?.txid ?? '0'}::xid8, ${before?.id ?? '0'}::bigint))
    order by event_txid desc, event_id desc limit ${opts.limit}`;
}
