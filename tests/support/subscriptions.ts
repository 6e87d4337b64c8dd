/**
 * A subscribed MCP client's view of notifications: every `resources/updated` URI and every
 * `list_changed`, in arrival order, and a way to wait for one without polling the server.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

export interface Notifications {
  updated: string[];
  listChanged: number;
  /** Resolves when `uri` has been updated `times` times in all (waits up to timeoutMs). */
  waitForUpdate(uri: string, times?: number, timeoutMs?: number): Promise<void>;
}

export function recordNotifications(client: Client): Notifications {
  const waiters: (() => void)[] = [];
  const n: Notifications = {
    updated: [],
    listChanged: 0,
    waitForUpdate(uri, times = 1, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (n.updated.filter((u) => u === uri).length >= times) {
            clearTimeout(timer);
            resolve();
            return true;
          }
          return false;
        };
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no notifications/resources/updated for ${uri} (saw ${JSON.stringify(n.updated)})`),
            ),
          timeoutMs,
        );
        const waiter = () => {
          if (!check()) waiters.push(waiter);
        };
        waiter();
      });
    },
  };
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (msg) => {
    n.updated.push(msg.params.uri);
    for (const w of waiters.splice(0)) w();
  });
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
    n.listChanged++;
  });
  return n;
}

/** A small, unique RFC 5322 message (its Message-ID makes it a new email each time). */
export function uniqueMessage(subject: string, from = 'Ada <ada@example.com>'): string {
  const id = `${Date.now()}.${Math.random().toString(16).slice(2)}@example.com`;
  return [
    `From: ${from}`,
    'To: support@example.org',
    `Subject: ${subject}`,
    `Message-ID: <${id}>`,
    'Date: Thu, 03 Dec 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello, the invoice portal is down and we cannot pay. Please help urgently.',
    '',
  ].join('\r\n');
}
