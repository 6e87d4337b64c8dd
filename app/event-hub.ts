/**
 * One outbox reader per process, fanned out to the sinks in it (each MCP session): a subscriber names
 * the tenants it may hear of and only ever receives their events. The reader starts at "now": live
 * sinks want what happens from here on (durable ones keep their own cursor).
 */
import type { OutboxEvent } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { Sql } from '../supabase/db.js';
import { type EventListener, startEventListener } from '../supabase/event-listener.js';

export type EventHandler = (event: OutboxEvent) => void;

export interface EventHub {
  /** Hear of the events of these tenants; returns the unsubscribe. */
  subscribe(tenantIds: readonly string[], handler: EventHandler): () => void;
  /** Subscribers now (for tests and metrics). */
  size(): number;
  stop(): Promise<void>;
}

export interface EventHubOptions {
  sql: Sql;
  /** LISTEN/NOTIFY on a real Postgres; polling on the embedded database. */
  notify: boolean;
  pollMs: number;
  log: Logger;
}

export async function startEventHub(opts: EventHubOptions): Promise<EventHub> {
  const subscribers = new Map<number, { tenants: Set<string>; handler: EventHandler }>();
  let next = 0;
  const listener: EventListener = await startEventListener({
    sql: opts.sql,
    notify: opts.notify,
    pollMs: opts.pollMs,
    log: opts.log,
    onEvents: (events) => {
      for (const event of events) {
        for (const s of subscribers.values()) {
          if (!s.tenants.has(event.tenantId)) continue;
          try {
            s.handler(event);
          } catch (err) {
            opts.log.warn('an event subscriber failed', { error: err, type: event.type });
          }
        }
      }
    },
  });
  return {
    subscribe(tenantIds, handler) {
      const id = next++;
      subscribers.set(id, { tenants: new Set(tenantIds), handler });
      return () => {
        subscribers.delete(id);
      };
    },
    size: () => subscribers.size,
    stop: () => listener.stop(),
  };
}
