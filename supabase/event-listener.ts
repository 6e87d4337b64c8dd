/**
 * Wakes on the outbox's NOTIFY and catches up from the last event it handled, so a missed notification,
 * a dropped connection or a slow handler loses nothing: notifications only say "read now"; the rows say
 * what happened. Without LISTEN (the embedded PGlite serves one connection, which the pool holds) it
 * polls instead. It also polls, more slowly, beside LISTEN: a notification sent while the listening
 * connection was reconnecting is never delivered, and events that wait behind a long transaction are
 * read again a moment later.
 */
import { EVENTS_CHANNEL, type EventCursor, type OutboxEvent } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { Sql } from './db.js';
import { cursorNow, readEventsAfter } from './events.js';

export interface EventListenerOptions {
  sql: Sql;
  /** LISTEN for notifications (a real Postgres); false: poll every `pollMs`. */
  notify: boolean;
  /** Safety poll beside LISTEN, or the only wake-up without it. */
  pollMs: number;
  /** Start after this cursor (a durable reader's saved position); default: now. */
  from?: EventCursor;
  batchSize?: number;
  log: Logger;
  /** Handles a batch in order; the cursor moves past it once this resolves. */
  onEvents: (events: OutboxEvent[]) => Promise<void> | void;
}

export interface EventListener {
  /** Where it stands: the last event handed to onEvents. */
  cursor(): EventCursor;
  /** Read now (tests, and writers in this process that know they just committed). */
  wake(): void;
  stop(): Promise<void>;
}

/** Read again this soon when events wait behind a transaction that is still running. */
const BLOCKED_RETRY_MS = 10;

export async function startEventListener(opts: EventListenerOptions): Promise<EventListener> {
  const { sql, log } = opts;
  const batchSize = opts.batchSize ?? 500;
  let cursor = opts.from ?? (await cursorNow(sql));
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (ms: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(wake, ms);
    timer.unref();
  };

  const drain = async () => {
    let retryIn = opts.pollMs;
    try {
      for (;;) {
        const { events, blocked } = await readEventsAfter(sql, cursor, batchSize);
        if (events.length > 0) {
          await opts.onEvents(events);
          const last = events.at(-1)!;
          cursor = { txid: last.txid, id: last.id };
        }
        if (events.length < batchSize) {
          if (blocked) retryIn = BLOCKED_RETRY_MS;
          break;
        }
      }
    } catch (err) {
      if (!stopped) log.warn('reading the event outbox failed; retrying', { error: err });
      retryIn = Math.max(opts.pollMs, 1000);
    }
    schedule(retryIn);
  };

  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drain().finally(() => {
      running = null;
      if (again) {
        again = false;
        wake();
      }
    });
  }

  let unlisten: (() => Promise<void>) | undefined;
  if (opts.notify) {
    // postgres.js holds a dedicated connection for LISTEN and re-listens after a reconnect; onlisten
    // runs each time, and reading then covers whatever was sent while it was away.
    const listening = await sql.listen(EVENTS_CHANNEL, () => wake(), wake);
    unlisten = listening.unlisten;
  }
  wake();

  return {
    cursor: () => cursor,
    wake,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await unlisten?.().catch(() => {});
      await running?.catch(() => {});
    },
  };
}
