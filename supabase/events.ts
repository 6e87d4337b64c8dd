/**
 * Reading the outbox (migration 20261203007100): events in (txid, id) order, only of transactions older
 * than every transaction still running, so a reader that moves its cursor past an event can never meet
 * an earlier one later. The service connection reads all tenants; sinks filter by tenant themselves.
 */
import type { EventCursor, EventType, OutboxEvent } from '../core/events.js';
import type { Queryable } from './db.js';

/** The cursor of a reader starting now: it will see every event not yet committed, and none before. */
export async function cursorNow(sql: Queryable): Promise<EventCursor> {
  const [row] = await sql<{ txid: string }[]>`
    select pg_snapshot_xmin(pg_current_snapshot())::text as txid`;
  return { txid: row!.txid, id: '0' };
}

export interface EventBatch {
  events: OutboxEvent[];
  /** Events past the cursor exist but wait for an older transaction to end: read again soon. */
  blocked: boolean;
}

export async function readEventsAfter(
  sql: Queryable,
  cursor: EventCursor,
  limit: number,
): Promise<EventBatch> {
  // One round trip: the batch, and whether events past it wait for an older transaction (those with
  // txid at or past the snapshot's xmin; the index is entered at whichever comes later, that xmin or the
  // cursor, so a reader far behind does not walk its backlog twice). Both under one snapshot.
  const rows = await sql<
    ({ blocked: boolean } & (Omit<OutboxEvent, 'createdAt'> & { createdAt: Date | null }))[]
  >`
    with snap as (select pg_snapshot_xmin(pg_current_snapshot()) as xmin)
    select s.blocked, e.id::text as id, e.txid::text as txid, e.tenant_id as "tenantId", e.type,
           e.subject_id as "subjectId", e.payload, e.created_at as "createdAt"
    from (select exists (
            select 1 from public.events b, snap
            where (b.txid, b.id) > (greatest(${cursor.txid}::xid8, snap.xmin),
                                    case when snap.xmin > ${cursor.txid}::xid8 then -1
                                         else ${cursor.id}::bigint end)) as blocked) s
    left join lateral (
      select e.* from public.events e, snap
      where (e.txid, e.id) > (${cursor.txid}::xid8, ${cursor.id}::bigint) and e.txid < snap.xmin
      order by e.txid, e.id limit ${limit}) e on true
    order by e.txid, e.id`;
  const events = rows
    .filter((r) => r.id !== null)
    .map(({ blocked: _, createdAt, ...r }) => ({ ...r, createdAt: new Date(createdAt!).toISOString() }));
  return { events, blocked: events.length < limit && rows[0]!.blocked };
}

/** Events of one tenant after an id, newest last: what a caller may read of its own stream (as caller, RLS). */
export async function listTenantEvents(
  tx: Queryable,
  tenantId: string,
  afterId: string,
  limit: number,
): Promise<OutboxEvent[]> {
  const rows = await tx<(Omit<OutboxEvent, 'createdAt'> & { createdAt: Date })[]>`
    select id::text as id, txid::text as txid, tenant_id as "tenantId", type, subject_id as "subjectId",
           payload, created_at as "createdAt"
    from public.events where tenant_id = ${tenantId} and id > ${afterId}::bigint
    order by id limit ${limit}`;
  return rows.map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString() }));
}

/**
 * Record an event no table change carries (public.record_event), in the caller's transaction, once per
 * run: `payload.runId` with the subject identifies it, so a retried activity records nothing new.
 */
export async function recordRunEvent(
  tx: Queryable,
  tenantId: string,
  type: EventType,
  subjectId: string,
  payload: Record<string, unknown> & { runId: string },
): Promise<boolean> {
  const rows = await tx`
    select public.record_event(${tenantId}, ${type}, ${subjectId}, ${tx.json(payload as never)})
    where not exists (
      select 1 from public.events
      where tenant_id = ${tenantId} and type = ${type} and subject_id = ${subjectId}
        and payload ->> 'runId' = ${payload.runId})`;
  return rows.length > 0;
}
