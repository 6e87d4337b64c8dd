/**
 * Slack endpoints through a stand-in that speaks Slack's incoming-webhook protocol
 * (tests/support/slack-stand-in.ts): the default filter lets an urgent support email through and not a
 * newsletter, the message is Block Kit (sender, subject, summary, priority, a link); Slack's 429 is
 * waited out, its 404 `no_service` disables the endpoint.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useHttpStack } from '../support/http-stack.js';
import { callError, callOk } from '../support/mcp-clients.js';
import { type SlackStandIn, startSlackStandIn } from '../support/slack-stand-in.js';
import { uniqueMessage } from '../support/subscriptions.js';

const newsletter = () =>
  uniqueMessage('Weekly digest', 'News <news@example.net>').replace(
    'Hello, the invoice portal is down and we cannot pay. Please help urgently.',
    'This week in gardening: tulips and roses. Unsubscribe from this newsletter at any time.',
  );

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`still waiting: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Slack webhooks, through a stand-in for Slack', () => {
  const t = useHttpStack('admin', {
    WEBHOOK_RETRY_FIRST: '100ms',
    WEBHOOK_MAX_ATTEMPTS: '4',
    WEBHOOK_EMAIL_URL_TEMPLATE: 'https://inbox.example.com/emails/{emailId}',
    MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
  });
  let slack: SlackStandIn;
  beforeAll(async () => {
    slack = await startSlackStandIn();
  });
  afterAll(() => slack?.close());

  it('posts urgent support mail as Block Kit, skips the newsletter, waits out a 429', async () => {
    const { webhook } = await callOk<{ webhook: Record<string, unknown> & { endpointId: string } }>(
      t.mcp,
      'create_webhook',
      { url: slack.url, kind: 'slack', description: '#support' },
    );
    expect(webhook).toMatchObject({
      kind: 'slack',
      url: slack.url.replace(/[^/]+$/, '…'),
      eventTypes: ['email.analyzed'],
      filter: { minPriority: 4, categories: ['support'] },
    });
    slack.inject('rate_limited');
    await callOk(t.mcp, 'ingest_email', { raw: newsletter() });
    const { emailId } = await callOk<{ emailId: string }>(t.mcp, 'ingest_email', {
      raw: uniqueMessage('Portal down, urgent'),
    });
    await slack.receiver.waitFor((r) => r.accepted().length >= 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.receiver.received.map((r) => r.answered)).toEqual([429, 200]);
    const [message] = slack.messages();
    expect(message!.text).toMatch(
      /^email\.analyzed: Portal down, urgent \(from ada@example\.com, priority \d\)$/,
    );
    const blocks = message!.blocks!;
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Portal down, urgent', emoji: false },
    });
    const fields = (blocks[1] as { fields: { text: string }[] }).fields.map((f) => f.text);
    expect(fields[0]).toBe('*From*\nada@example.com');
    expect(fields[1]).toMatch(/^\*Priority\*\n[45]$/);
    expect(fields[3]).toBe('*Event*\nemail.analyzed');
    expect((blocks[2] as { text: { text: string } }).text.text.length).toBeGreaterThan(0);
    expect(blocks[3]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<https://inbox.example.com/emails/${emailId}|Open the email>` }],
    });
    await callOk(t.mcp, 'delete_webhook', { endpointId: webhook.endpointId });
  });

  it("Slack's 404 no_service: test_webhook says so, and a delivery disables the endpoint", async () => {
    const { webhook } = await callOk<{ webhook: { endpointId: string } }>(t.mcp, 'create_webhook', {
      url: slack.unknownUrl,
      kind: 'slack',
      filter: { minPriority: null, categories: null },
    });
    const test = await callOk<Record<string, unknown>>(t.mcp, 'test_webhook', {
      endpointId: webhook.endpointId,
    });
    expect(test).toMatchObject({
      ok: false,
      statusCode: 404,
      response: 'no_service',
      error: 'HTTP 404: no_service',
    });
    await callOk(t.mcp, 'ingest_email', { raw: newsletter() });
    const disabled = await until(
      async () =>
        (
          await callOk<{ webhooks: { endpointId: string; status: string; statusReason: string }[] }>(
            t.mcp,
            'list_webhooks',
            {},
          )
        ).webhooks.find((w) => w.endpointId === webhook.endpointId)!,
      (w) => w.status === 'disabled',
    );
    expect(disabled.statusReason).toBe(
      'the receiver answered HTTP 404: no_service: disabled, nothing more is sent until resume_webhook',
    );
  });

  it('refuses a URL that is not an incoming-webhook URL', async () => {
    expect(
      await callError(t.mcp, 'create_webhook', {
        url: slack.url.replace('/services/', '/hooks/'),
        kind: 'slack',
      }),
    ).toBe(
      'WebhookUrlRefused: a Slack incoming-webhook URL looks like https://hooks.slack.com/services/T…/B…/… (Slack: Apps → Incoming Webhooks)',
    );
  });
});
