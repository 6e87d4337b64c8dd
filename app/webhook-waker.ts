/**
 * The worker's webhook waker: it LISTENs to the outbox (supabase/event-listener.ts) and, when a tenant's
 * events commit, wakes the delivery workflow of each of that tenant's active endpoints by
 * signal-with-start. At start it wakes every active endpoint once, so a workflow that was lost starts
 * again and catches up from its cursor. It carries no event: the workflows read the outbox themselves,
 * so a missed notification delays a delivery (until the workflows' own poll), it never loses one.
 */
import type { Logger } from '../core/logger.js';
import type { Sql } from '../supabase/db.js';
import { startEventListener } from '../supabase/event-listener.js';
import { activeEndpoints } from '../supabase/webhooks.js';
import type { TemporalAccess } from './deps.js';
import { wakeWebhookDelivery } from './webhook-runs.js';

export interface WebhookWakerOptions {
  sql: Sql;
  temporal: Pick<TemporalAccess, 'client' | 'queues' | 'startTimeoutMs'>;
  notify: boolean;
  pollMs: number;
  log: Logger;
}

export async function startWebhookWaker(opts: WebhookWakerOptions): Promise<{ stop(): Promise<void> }> {
  const { sql, temporal, log } = opts;
  const wake = async (tenantIds: string[] | null) => {
    const endpoints = await activeEndpoints(sql, tenantIds);
    const woken = await Promise.allSettled(
      endpoints.map((e) => wakeWebhookDelivery(temporal, e.tenantId, e.id)),
    );
    const failed = woken.filter((r) => r.status === 'rejected').length;
    if (failed > 0)
      log.warn('could not wake some webhook deliveries; their workflows poll anyway', { failed });
  };
  await wake(null).catch((err: unknown) =>
    log.warn('waking webhook deliveries at start failed', { error: err }),
  );
  const listener = await startEventListener({
    sql,
    notify: opts.notify,
    pollMs: opts.pollMs,
    log,
    onEvents: async (events) => {
      await wake([...new Set(events.map((e) => e.tenantId))]).catch((err: unknown) =>
        log.warn('waking webhook deliveries failed; their workflows poll anyway', { error: err }),
      );
    },
  });
  return { stop: () => listener.stop() };
}
