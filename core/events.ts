/**
 * The outbox's vocabulary (migration 20261203007100_events.sql): event types, the row as sinks read it,
 * and which MCP resources an event changes. Pure: the workflow bundle may import it.
 */

export const EVENT_TYPES = [
  'email.received',
  'email.analyzed',
  'attachment.failed',
  'upload.completed',
  'upload.failed',
  'mailbox.imported',
  'rollout.stage_changed',
  'rollout.completed',
  'rollout.rolled_back',
  'retention.completed',
  'run.failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The NOTIFY channel the outbox wakes its readers on (payload: the tenant id). */
export const EVENTS_CHANNEL = 'durable_inbox_events';

export interface OutboxEvent {
  /** Ordered within a transaction; across transactions the order is (txid, id). */
  id: string;
  /** The writing transaction (xid8, as text). */
  txid: string;
  tenantId: string;
  type: EventType;
  subjectId: string;
  /** Ids, subject line, sender, category, priority, summary: never bodies. */
  payload: Record<string, unknown>;
  createdAt: string;
}

/** Where a reader stands: the (txid, id) of the last event it handled. */
export interface EventCursor {
  txid: string;
  id: string;
}

export const RESOURCE = {
  email: (id: string) => `email://${id}`,
  thread: (id: string) => `thread://${encodeURIComponent(id)}`,
  run: (workflowId: string) => `run://${encodeURIComponent(workflowId)}`,
  inbox: 'inbox://recent',
} as const;

/** The MCP resources whose contents an event changes; `listChanged` when the resource list moved. */
export function resourcesChangedBy(event: OutboxEvent): { uris: string[]; listChanged: boolean } {
  const p = event.payload;
  const uris: string[] = [];
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const emailId = str(p.emailId);
  const threadId = str(p.threadId);
  const workflowId = str(p.workflowId);
  if (emailId) uris.push(RESOURCE.email(emailId));
  if (threadId) uris.push(RESOURCE.thread(threadId));
  if (workflowId) uris.push(RESOURCE.run(workflowId));
  const inboxChanged = event.type === 'email.received' || event.type === 'email.analyzed';
  if (inboxChanged) uris.push(RESOURCE.inbox);
  return { uris, listChanged: event.type === 'email.received' };
}
