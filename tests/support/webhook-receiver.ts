/**
 * A webhook receiver on loopback: a real HTTP server that records every request (headers, body, time)
 * and answers by a script the test sets (status, body, headers; default 200 "thanks"), so outages,
 * 410s and slow answers are driven at the wire.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
  /** The status this request was answered with. */
  answered: number;
}

export interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Answer the next requests with these, in order, then with `fallback`. */
  script(answers: Answer[], fallback?: Answer): void;
  /** Requests answered 2xx, in arrival order. */
  accepted(): Received[];
  /** Answer by the request instead of the script (a protocol stand-in). */
  respond?: (path: string, body: string) => Answer;
  waitFor(count: (r: WebhookReceiver) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = '/hooks/inbox'): Promise<WebhookReceiver> {
  const received: Received[] = [];
  let queue: Answer[] = [];
  let fallback: Answer = { status: 200, body: 'thanks' };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const answer = receiver.respond?.(req.url ?? '', body) ?? queue.shift() ?? fallback;
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
      );
      received.push({
        path: req.url ?? '',
        headers,
        body,
        at: Date.now(),
        answered: answer.status,
      });
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    script(answers, next) {
      queue = [...answers];
      if (next) fallback = next;
    },
    accepted: () => received.filter((r) => r.answered >= 200 && r.answered < 300),
    async waitFor(done, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (!done(receiver)) {
        if (Date.now() > until) {
          throw new Error(
            `webhook receiver: still waiting after ${timeoutMs} ms (${received.length} requests)`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}
