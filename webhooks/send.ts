/**
 * One webhook request: POST to the checked address (webhooks/destination.ts), no redirects followed,
 * the answer read up to a cap, the whole exchange bounded by a timeout. Never throws for what the
 * receiver or the network did: the answer says it, for the attempt log. Secrets are in the headers the
 * caller signed; nothing here logs them.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { describeFailure } from '../core/failure.js';
import { retryDelayFromHeaders } from '../core/retry-after.js';
import { resolveDestination } from './destination.js';

export interface WebhookPolicy {
  allowPrivate: boolean;
  timeoutMs: number;
  maxResponseBytes: number;
}

export interface WebhookAnswer {
  /** The receiver's status, or null when none came (refused, network error, timeout). */
  status: number | null;
  /** The answer's first characters, or what went wrong. */
  text: string;
  /** What went wrong, when nothing or a non-2xx came back. */
  error: string | null;
  /** Retry-After (or like it) on a 429 or 503. */
  retryAfterMs?: number;
  durationMs: number;
}

const SHOWN_CHARS = 500;
const USER_AGENT = 'durable-inbox-webhooks/1';

export async function sendWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  policy: WebhookPolicy,
): Promise<WebhookAnswer> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  let destination: Awaited<ReturnType<typeof resolveDestination>>;
  try {
    destination = await resolveDestination(target, policy.allowPrivate);
  } catch (err) {
    const { type, message } = describeFailure(err);
    return { status: null, text: '', error: `${type}: ${message}`, durationMs: took() };
  }
  const { url, hostname, address } = destination;
  const secure = url.protocol === 'https:';
  return new Promise<WebhookAnswer>((resolve) => {
    let settled = false;
    const finish = (answer: Omit<WebhookAnswer, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve({ ...answer, durationMs: took() });
    };
    const request = (secure ? https : http).request({
      host: address,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      // TLS checks the certificate against the name, though the socket goes to the checked address.
      ...(secure && !isIP(hostname) ? { servername: hostname } : {}),
      headers: {
        ...headers,
        host: url.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': USER_AGENT,
      },
      agent: false,
    });
    const timer = setTimeout(
      () => finish({ status: null, text: '', error: `no answer within ${policy.timeoutMs} ms (timeout)` }),
      policy.timeoutMs,
    );
    request.on('error', (err: NodeJS.ErrnoException) =>
      finish({ status: null, text: '', error: `network error: ${err.code ?? err.message}` }),
    );
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, SHOWN_CHARS);
        const get = (name: string) => {
          const v = response.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        const ok = status >= 200 && status < 300;
        const location = get('location');
        const error = ok
          ? null
          : status >= 300 && status < 400
            ? `HTTP ${status}: redirects are not followed${location ? ` (to ${location.slice(0, 200)})` : ''}`
            : `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
        const retryAfterMs = ok ? undefined : retryDelayFromHeaders(get, Date.now());
        finish({ status, text, error, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      };
      response.on('data', (chunk: Buffer) => {
        if (size >= policy.maxResponseBytes) return;
        chunks.push(chunk.subarray(0, policy.maxResponseBytes - size));
        size += chunk.length;
        // Enough read: whatever else the receiver sends is not waited for.
        if (size >= policy.maxResponseBytes) done();
      });
      response.on('end', done);
      response.on('error', done);
    });
    request.end(body);
  });
}
