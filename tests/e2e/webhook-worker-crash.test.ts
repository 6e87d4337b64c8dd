/**
 * Crash safety of webhook delivery: the worker process is SIGKILLed while an endpoint's first delivery
 * is in its retry schedule (the receiver answers 503 with Retry-After), a new worker starts and the
 * receiver recovers. The receiver must then have every event, in order, by distinct webhook-id, each
 * request verifying with the `standardwebhooks` package. Delivery is at least once (README, Signed
 * webhooks): a request in flight at the kill may come again with the same webhook-id, so ids are counted
 * distinct. Every attempt is logged: the delivery log counts every request but at most that one.
 * Real dev server, real Postgres, a real HTTP receiver on loopback, MCP over HTTP.
 */
import { randomBytes } from 'node:crypto';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { spawnWatchedWorker, type WatchedWorker } from '../support/chaos.js';
import { startTestStack, testEnv } from '../support/harness.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';
import { uniqueMessage } from '../support/subscriptions.js';
import { type Received, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const subjectOf = (r: Received) => (JSON.parse(r.body) as { data: { subject: string } }).data.subject;
const idOf = (r: Received) => r.headers['webhook-id']!;

describe('webhook delivery survives a killed worker', () => {
  const workers: WatchedWorker[] = [];
  let stack: Stack | undefined;
  let http: RunningHttpServer | undefined;
  let mcp: McpClient | undefined;
  let receiver: WebhookReceiver | undefined;
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await mcp?.close();
    await http?.close();
    await receiver?.close();
    await stack?.shutdown();
  });

  it('a new worker delivers every event once by webhook-id, in order, signed', {
    timeout: 240_000,
  }, async () => {
    const env = testEnv({
      MCP_HTTP_PORT: '0',
      WEBHOOK_RETRY_FIRST: '100ms',
      WEBHOOK_MAX_ATTEMPTS: '100',
      MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
    });
    stack = await startTestStack(env, false); // this process starts and watches; workers run apart
    http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'webhook-crash', key, 'admin');
    mcp = await connectHttp(http.url, key);
    receiver = await startWebhookReceiver();
    const r = receiver;
    r.script([], { status: 503, body: 'down for maintenance', headers: { 'retry-after': '1' } });

    workers.push(await spawnWatchedWorker(env));
    const { webhook, secret } = await callOk<{ webhook: { endpointId: string }; secret: string }>(
      mcp,
      'create_webhook',
      { url: r.url, eventTypes: ['email.received'] },
    );
    const subjects = ['first', 'second', 'third', 'fourth', 'fifth'].map((s) => `Crash ${s}`);
    for (const subject of subjects) await callOk(mcp, 'ingest_email', { raw: uniqueMessage(subject) });

    // Mid-schedule: the first event has been refused twice, its next attempt waits on a durable timer.
    await Promise.race([r.waitFor((x) => x.received.length >= 2), workers[0]!.exit]);
    expect(r.accepted()).toEqual([]);
    workers[0]!.child.kill('SIGKILL');
    await new Promise((resolve) => workers[0]!.child.once('exit', resolve));
    const beforeKill = r.received.length;
    // The retry timer fires with no worker; the receiver recovers; then a new worker takes over.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    r.script([], { status: 200, body: 'thanks' });
    workers.push(await spawnWatchedWorker(env));

    const distinct = (x: WebhookReceiver) => new Set(x.accepted().map(idOf)).size;
    await Promise.race([r.waitFor((x) => distinct(x) >= subjects.length, 120_000), workers[1]!.exit]);
    // Nothing more comes later (no event sent twice once the log says delivered).
    const deliveries = (
      await callOk<{ deliveries: { webhookId: string; status: string; attempts: number }[] }>(
        mcp,
        'list_webhook_deliveries',
        { endpointId: webhook.endpointId },
      )
    ).deliveries;
    expect(deliveries.map((d) => d.status)).toEqual(subjects.map(() => 'delivered'));

    const accepted = r.accepted();
    const firstAccepted = accepted.filter((m, i) => accepted.findIndex((o) => idOf(o) === idOf(m)) === i);
    expect(firstAccepted.map(subjectOf)).toEqual(subjects);
    expect(new Set(firstAccepted.map(idOf))).toEqual(new Set(deliveries.map((d) => d.webhookId)));
    // At least once: a repeat carries the webhook-id (and body) of one already accepted.
    for (const again of accepted.slice(firstAccepted.length))
      expect(firstAccepted.map(idOf)).toContain(idOf(again));
    // Order: no event is sent before the one ahead of it was accepted.
    for (let i = 1; i < subjects.length; i++) {
      const previousAccepted = accepted.find((m) => subjectOf(m) === subjects[i - 1])!;
      const firstSent = r.received.find((m) => subjectOf(m) === subjects[i])!;
      expect(firstSent.at).toBeGreaterThanOrEqual(previousAccepted.at);
    }
    // The first event's schedule went on across the kill: refused before it, accepted after it.
    expect(r.received.slice(0, beforeKill).every((m) => subjectOf(m) === subjects[0])).toBe(true);
    expect(r.received.slice(0, beforeKill).every((m) => m.answered === 503)).toBe(true);

    // Every request, refused or accepted, is signed and verifies; the id is the same on every attempt.
    const verifier = new Webhook(secret);
    for (const m of r.received) {
      const verified = verifier.verify(m.body, m.headers) as { type: string; data: { subject: string } };
      expect(verified.type).toBe('email.received');
    }
    expect(new Set(r.received.filter((m) => subjectOf(m) === subjects[0]).map(idOf)).size).toBe(1);

    // Every attempt is logged: all requests but at most the one in flight at the kill.
    const logged = deliveries.reduce((sum, d) => sum + d.attempts, 0);
    expect(logged).toBeLessThanOrEqual(r.received.length);
    expect(logged).toBeGreaterThanOrEqual(r.received.length - 1);
  });
});
