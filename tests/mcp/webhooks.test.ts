/**
 * Signed webhooks from the door: an admin creates endpoints over MCP HTTP, emails are ingested through
 * the same door, and real HTTP receivers on loopback get the outbox's events. Asserted: what the
 * receivers got (order, once, signatures verified with the `standardwebhooks` package), the rows
 * (deliveries, attempts), and the exact text the tools answer. Retries are quick here
 * (WEBHOOK_RETRY_FIRST=100ms, WEBHOOK_MAX_ATTEMPTS=4).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRegistry } from '../../core/metrics.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { webhookWakeSignal } from '../../workflows/webhook-delivery.contract.js';
import { FIXTURES, replayOptions, uniqueName } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { callError, callOk, connectHttp } from '../support/mcp-clients.js';
import { uniqueMessage } from '../support/subscriptions.js';
import { type Received, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

interface Created {
  webhook: { endpointId: string; status: string; url: string; workflowId: string };
  secret: string;
}
interface Delivery {
  deliveryId: string;
  webhookId: string;
  status: string;
  attempts: number;
  replays: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

const scheduledAttempts = (history: temporal.api.history.v1.IHistory) =>
  (history.events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'attemptWebhookDelivery',
  ).length;

const subjectOf = (r: Received) => (JSON.parse(r.body) as { data: { subject: string } }).data.subject;

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`still waiting: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('signed webhooks, from the door', () => {
  const t = useHttpStack('admin', {
    WEBHOOK_RETRY_FIRST: '100ms',
    WEBHOOK_MAX_ATTEMPTS: '4',
    WEBHOOK_SECRET_GRACE: '1h',
    MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
  });
  const receivers: WebhookReceiver[] = [];
  let other: McpClient;

  const receiver = async () => {
    const r = await startWebhookReceiver();
    receivers.push(r);
    return r;
  };
  const create = (url: string, extra: Record<string, unknown> = {}) =>
    callOk<Created>(t.mcp, 'create_webhook', { url, eventTypes: ['email.received'], ...extra });
  const ingest = async (subjects: string[], client: McpClient = t.mcp) => {
    for (const subject of subjects) await callOk(client, 'ingest_email', { raw: uniqueMessage(subject) });
  };
  const deliveries = async (endpointId: string) =>
    (await callOk<{ deliveries: Delivery[] }>(t.mcp, 'list_webhook_deliveries', { endpointId })).deliveries;
  const webhookOf = async (endpointId: string) =>
    (
      await callOk<{ webhooks: { endpointId: string; status: string; statusReason: string | null }[] }>(
        t.mcp,
        'list_webhooks',
        {},
      )
    ).webhooks.find((w) => w.endpointId === endpointId)!;
  const remove = (endpointId: string) => callOk(t.mcp, 'delete_webhook', { endpointId });

  beforeAll(async () => {
    const org = await ensureOrganization(t.stack.sql, uniqueName('webhooks-b'));
    const key = generateApiKey();
    await registerApiKey(t.stack.sql, org.id, uniqueName('key'), key, 'admin');
    other = await connectHttp(t.http.url, key);
  });
  afterAll(async () => {
    await other?.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('delivers every event once, in order, signed by the Standard Webhooks spec; the secret is shown once', async () => {
    const r = await receiver();
    const { webhook, secret } = await create(r.url, { description: 'order test' });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(webhook).toMatchObject({
      status: 'active',
      workflowId: `webhooks/${t.stack.defaultTenant.id}/${webhook.endpointId}`,
    });
    const listed = await callOk<{ webhooks: Record<string, unknown>[] }>(t.mcp, 'list_webhooks', {});
    expect(JSON.stringify(listed)).not.toContain(secret);

    const subjects = ['one', 'two', 'three', 'four', 'five'].map((s) => `Order ${s}`);
    await ingest(subjects);
    await r.waitFor((x) => x.accepted().length >= 5);
    const got = r.accepted();
    expect(got.map(subjectOf)).toEqual(subjects);
    const verifier = new Webhook(secret);
    for (const message of got) {
      const verified = verifier.verify(message.body, message.headers) as {
        type: string;
        data: Record<string, unknown>;
      };
      expect(verified).toMatchObject({
        type: 'email.received',
        data: { tenantId: t.stack.defaultTenant.id },
      });
      expect(message.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    }
    expect(new Set(got.map((m) => m.headers['webhook-id'])).size).toBe(5);

    const rows = await until(
      () => deliveries(webhook.endpointId),
      (d) => d.every((x) => x.status === 'delivered'),
    );
    expect(rows.map((d) => [d.status, d.attempts, d.lastStatusCode])).toEqual(
      Array(5).fill(['delivered', 1, 200]),
    );
    expect(rows.map((d) => d.webhookId).reverse()).toEqual(got.map((m) => m.headers['webhook-id']));
    // Paged, newest first: 2 + 2 + 1, the last page without a cursor.
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await callOk<{ deliveries: Delivery[]; nextCursor: string | null }>(
        t.mcp,
        'list_webhook_deliveries',
        { endpointId: webhook.endpointId, limit: 2, ...(cursor ? { cursor } : {}) },
      );
      pages.push(page.deliveries.map((d) => d.deliveryId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(rows.map((d) => d.deliveryId));
    expect(
      await callError(t.mcp, 'list_webhook_deliveries', { endpointId: webhook.endpointId, cursor: 'bogus' }),
    ).toBe('InvalidArgument: cursor: give the nextCursor of a previous page');
    // Nothing more arrives (once): a late duplicate would show here.
    await new Promise((res) => setTimeout(res, 500));
    expect(r.received).toHaveLength(5);
    await remove(webhook.endpointId);
  });

  it('hears of events committed after its creation only, though an older transaction still runs', async () => {
    const r = await receiver();
    const long = await t.stack.sql.reserve();
    try {
      await long`begin`;
      await long`select pg_current_xact_id()`;
      await ingest(['Before the webhook']);
      const { webhook } = await create(r.url);
      await ingest(['After the webhook']);
      await long`commit`;
      await r.waitFor((x) => x.accepted().length >= 1);
      await new Promise((res) => setTimeout(res, 500));
      expect(r.received.map(subjectOf)).toEqual(['After the webhook']);
      await remove(webhook.endpointId);
    } finally {
      long.release();
    }
  });

  it('rides out a receiver outage (503 + Retry-After): everything once, in order, every attempt logged', async () => {
    const r = await receiver();
    const { webhook } = await create(r.url);
    const down = { status: 503, body: 'maintenance', headers: { 'retry-after': '1' } };
    r.script([down, down, down]);
    await ingest(['Outage a', 'Outage b', 'Outage c']);
    await r.waitFor((x) => x.accepted().length >= 3);
    expect(r.accepted().map(subjectOf)).toEqual(['Outage a', 'Outage b', 'Outage c']);
    expect(r.received.map((x) => x.answered)).toEqual([503, 503, 503, 200, 200, 200]);
    // The same message each time: one webhook-id for the four attempts of the first delivery.
    expect(new Set(r.received.slice(0, 4).map((x) => x.headers['webhook-id'])).size).toBe(1);
    // The receiver answers before the attempt is recorded: wait for the rows.
    await until(
      () => deliveries(webhook.endpointId),
      (d) => d.length === 3 && d.every((x) => x.status === 'delivered'),
    );
    const attempts = await t.stack.sql<{ status_code: number; outcome: string; error: string | null }[]>`
      select a.status_code, a.outcome, a.error from public.webhook_attempts a
      join public.webhook_deliveries d on d.id = a.delivery_id
      where d.endpoint_id = ${webhook.endpointId} order by a.id`;
    expect(attempts.map((a) => [a.status_code, a.outcome, a.error])).toEqual([
      [503, 'retry', 'HTTP 503: maintenance'],
      [503, 'retry', 'HTTP 503: maintenance'],
      [503, 'retry', 'HTTP 503: maintenance'],
      [200, 'delivered', null],
      [200, 'delivered', null],
      [200, 'delivered', null],
    ]);
    // Retry-After: 1 was honoured between attempts (a durable timer, not the 100 ms schedule).
    const gaps = r.received.slice(1, 4).map((x, i) => x.at - r.received[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
    // The metrics: attempts by kind and outcome, durations by answer class (no ids in labels).
    const counted = await metricsRegistry.getSingleMetricAsString('durable_inbox_webhook_attempts_total');
    expect(counted).toMatch(
      /durable_inbox_webhook_attempts_total\{kind="standard",outcome="retry",tenant="all"\} [1-9]/,
    );
    const timed = await metricsRegistry.getSingleMetricAsString(
      'durable_inbox_webhook_attempt_duration_seconds',
    );
    expect(timed).toMatch(/_count\{kind="standard",answer="5xx"\} [1-9]/);
    await remove(webhook.endpointId);
  });

  it('410 disables the endpoint; resume_webhook sends the delivery that stopped it, then the rest', async () => {
    const r = await receiver();
    const { webhook } = await create(r.url);
    r.script([{ status: 410, body: 'gone' }]);
    await ingest(['Gone a']);
    const disabled = await until(
      () => webhookOf(webhook.endpointId),
      (w) => w.status === 'disabled',
    );
    expect(disabled.statusReason).toBe(
      'the receiver answered HTTP 410: gone: disabled, nothing more is sent until resume_webhook',
    );
    await ingest(['Gone b']);
    await new Promise((res) => setTimeout(res, 500));
    expect(r.received).toHaveLength(1);
    const resumed = await callOk<{ webhook: { status: string } }>(t.mcp, 'resume_webhook', {
      endpointId: webhook.endpointId,
    });
    expect(resumed.webhook.status).toBe('active');
    await r.waitFor((x) => x.accepted().length >= 2);
    expect(r.accepted().map(subjectOf)).toEqual(['Gone a', 'Gone b']);
    await remove(webhook.endpointId);
  });

  it('repeated failures put it in needs_attention (after WEBHOOK_MAX_ATTEMPTS); resume delivers in order', async () => {
    const r = await receiver();
    const { webhook } = await create(r.url);
    r.script([], { status: 500, body: 'boom' });
    await ingest(['Attention a']);
    const paused = await until(
      () => webhookOf(webhook.endpointId),
      (w) => w.status === 'needs_attention',
    );
    expect(paused.statusReason).toBe(
      '4 attempts in a row failed, the last: HTTP 500: boom; resume_webhook tries again',
    );
    const [failed] = await deliveries(webhook.endpointId);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 4,
      lastStatusCode: 500,
      lastError: 'HTTP 500: boom',
    });
    await ingest(['Attention b']);
    await new Promise((res) => setTimeout(res, 500));
    expect(r.received).toHaveLength(4);

    r.script([], { status: 204 });
    await callOk(t.mcp, 'resume_webhook', { endpointId: webhook.endpointId });
    await r.waitFor((x) => x.accepted().length >= 2);
    expect(r.accepted().map(subjectOf)).toEqual(['Attention a', 'Attention b']);
    expect((await webhookOf(webhook.endpointId)).status).toBe('active');
    // Its history (attempts, retry timers, the resume update) replays deterministically.
    const history = await t.stack.client.workflow.getHandle(webhook.workflowId).fetchHistory();
    await Worker.runReplayHistory(replayOptions(), history);
    // Attempts are local activities: in the workflow task, never a trip through the task queue.
    expect(scheduledAttempts(history)).toBe(0);
    const markers = (history.events ?? []).filter(
      (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    );
    expect(markers.length).toBeGreaterThanOrEqual(6); // the 6 attempts, besides claims and the resume
    await remove(webhook.endpointId);
  });

  it('a history from before local attempts (attempts as task-queue activities) still replays', async () => {
    // Recorded by the code before WEBHOOK_LOCAL_ATTEMPT_PATCH: two events, the first refused once (503).
    const history = temporal.api.history.v1.History.decode(
      readFileSync(path.join(FIXTURES, 'histories', 'webhook-delivery-remote-attempts.binpb')),
    );
    expect(scheduledAttempts(history)).toBe(3);
    await Worker.runReplayHistory(replayOptions(), history);
  });

  it('replay_webhook_delivery sends a delivered message again with the same webhook-id', async () => {
    const r = await receiver();
    const { webhook } = await create(r.url);
    await ingest(['Replay me']);
    await r.waitFor((x) => x.accepted().length >= 1);
    const [delivery] = await until(
      () => deliveries(webhook.endpointId),
      (d) => d[0]?.status === 'delivered',
    );
    const replay = await callOk<Delivery & { note: string }>(t.mcp, 'replay_webhook_delivery', {
      deliveryId: delivery!.deliveryId,
    });
    expect(replay).toMatchObject({ status: 'pending', replays: 1 });
    expect(replay.note).toBe('Queued: sent again with the same webhook-id, before any newer delivery.');
    await r.waitFor((x) => x.accepted().length >= 2);
    expect(r.received.map((x) => x.headers['webhook-id'])).toEqual([
      delivery!.webhookId,
      delivery!.webhookId,
    ]);
    expect(r.received[1]!.body).toBe(r.received[0]!.body);
    await remove(webhook.endpointId);
  });

  it('delete_webhook answers while wake-ups keep arriving: the task that ends the run is rewound, the update sent again', async () => {
    // A wake signal that lands while the task running `remove` also completes the run makes the server
    // refuse that completion (UnhandledCommand) and abort the update (FAILED_PRECONDITION); the app
    // sends it again (app/workflows.ts executeUpdate). The signals come as fast as the client sends them.
    const rewound: number[] = [];
    for (let round = 0; round < 6 && rewound.length === 0; round++) {
      const r = await receiver();
      const { webhook } = await create(r.url);
      const handle = t.stack.client.workflow.getHandle(webhook.workflowId);
      let flooding = true;
      const flood = (async () => {
        while (flooding) await handle.signal(webhookWakeSignal).catch(() => undefined);
      })();
      await new Promise((done) => setTimeout(done, 200));
      const answer = await callOk<Record<string, unknown>>(t.mcp, 'delete_webhook', {
        endpointId: webhook.endpointId,
      }).finally(() => {
        flooding = false;
      });
      await flood;
      expect(answer).toEqual({ endpointId: webhook.endpointId, deleted: true });
      const events = (await handle.fetchHistory()).events ?? [];
      expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
      const failedTasks = events.filter((e) => e.workflowTaskFailedEventAttributes);
      expect(failedTasks.map((e) => e.workflowTaskFailedEventAttributes?.cause)).toEqual(
        failedTasks.map(
          () => temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        ),
      );
      if (failedTasks.length > 0) rewound.push(round);
      expect(await webhookOf(webhook.endpointId)).toBeUndefined();
    }
    // The race happened at least once in these rounds, so the retry was exercised, not only the quiet path.
    expect(rewound.length).toBe(1);
  });

  it('test_webhook sends a signed ping and reports the answer, or what went wrong', async () => {
    const r = await receiver();
    const { webhook, secret } = await create(r.url);
    const ok = await callOk<Record<string, unknown>>(t.mcp, 'test_webhook', {
      endpointId: webhook.endpointId,
    });
    expect(ok).toMatchObject({ ok: true, statusCode: 200, response: 'thanks', error: null });
    const ping = new Webhook(secret).verify(r.received[0]!.body, r.received[0]!.headers) as { type: string };
    expect(ping.type).toBe('webhook.ping');

    r.script([{ status: 500, body: 'nope' }]);
    const failed = await callOk<Record<string, unknown>>(t.mcp, 'test_webhook', {
      endpointId: webhook.endpointId,
    });
    expect(failed).toMatchObject({ ok: false, statusCode: 500, response: 'nope', error: 'HTTP 500: nope' });

    r.script([{ status: 302, body: '', headers: { location: 'http://169.254.169.254/latest' } }]);
    const redirected = await callOk<Record<string, unknown>>(t.mcp, 'test_webhook', {
      endpointId: webhook.endpointId,
    });
    expect(redirected).toMatchObject({
      ok: false,
      statusCode: 302,
      error: 'HTTP 302: redirects are not followed (to http://169.254.169.254/latest)',
    });
    expect(r.received).toHaveLength(3);

    await r.close();
    const refused = await callOk<Record<string, unknown>>(t.mcp, 'test_webhook', {
      endpointId: webhook.endpointId,
    });
    expect(refused).toMatchObject({ ok: false, statusCode: null, error: 'network error: ECONNREFUSED' });
    await remove(webhook.endpointId);
  });

  it('rotate_webhook_secret: during the grace period messages verify with the old and the new secret', async () => {
    const r = await receiver();
    const { webhook, secret: old } = await create(r.url);
    const rotated = await callOk<{ secret: string; previousSecretValidUntil: string }>(
      t.mcp,
      'rotate_webhook_secret',
      {
        endpointId: webhook.endpointId,
      },
    );
    expect(rotated.secret).not.toBe(old);
    await ingest(['After rotation']);
    await r.waitFor((x) => x.accepted().length >= 1);
    const [message] = r.accepted();
    expect(message!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(rotated.secret).verify(message!.body, message!.headers)).toBeTruthy();
    expect(new Webhook(old).verify(message!.body, message!.headers)).toBeTruthy();
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(24, 1).toString('base64')}`).verify(message!.body, message!.headers),
    ).toThrow();
    await remove(webhook.endpointId);
  });

  it("tenants never see each other's events or endpoints; another tenant's endpoint reads like a missing one", async () => {
    const mine = await receiver();
    const theirs = await receiver();
    const a = await create(mine.url);
    const b = await callOk<Created>(other, 'create_webhook', {
      url: theirs.url,
      eventTypes: ['email.received'],
    });
    await ingest(['Tenant A only']);
    await ingest(['Tenant B only'], other);
    await mine.waitFor((x) => x.accepted().length >= 1);
    await theirs.waitFor((x) => x.accepted().length >= 1);
    await new Promise((res) => setTimeout(res, 500));
    expect(mine.received.map(subjectOf)).toEqual(['Tenant A only']);
    expect(theirs.received.map(subjectOf)).toEqual(['Tenant B only']);

    const id = a.webhook.endpointId;
    for (const tool of [
      'test_webhook',
      'delete_webhook',
      'list_webhook_deliveries',
      'rotate_webhook_secret',
      'resume_webhook',
    ]) {
      expect(await callError(other, tool, { endpointId: id })).toBe(
        `NotFound: no webhook ${id} in this organization`,
      );
    }
    const [delivery] = await until(
      () => deliveries(id),
      (d) => d.length > 0,
    );
    expect(await callError(other, 'replay_webhook_delivery', { deliveryId: delivery!.deliveryId })).toBe(
      `NotFound: no webhook delivery ${delivery!.deliveryId} in this organization`,
    );
    const theirList = await callOk<{ webhooks: { endpointId: string }[] }>(other, 'list_webhooks', {});
    expect(theirList.webhooks.map((w) => w.endpointId)).toEqual([b.webhook.endpointId]);
    await remove(id);
    await callOk(other, 'delete_webhook', { endpointId: b.webhook.endpointId });
    expect(await callError(t.mcp, 'test_webhook', { endpointId: id })).toBe(
      `NotFound: no webhook ${id} in this organization`,
    );
  });
});
