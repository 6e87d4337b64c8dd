/**
 * SSRF rules at the door, with WEBHOOK_ALLOW_PRIVATE off (as in production): create_webhook refuses
 * plain http and every URL whose host is, or resolves to, a non-public address, saying so exactly; no
 * endpoint row is written.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useHttpStack } from '../support/http-stack.js';
import { callError } from '../support/mcp-clients.js';

const HINT =
  'webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE=true allows others, for tests and local use)';

describe('create_webhook refuses private destinations (SSRF) unless WEBHOOK_ALLOW_PRIVATE', () => {
  const t = useHttpStack('admin', {
    WEBHOOK_ALLOW_PRIVATE: 'false',
    MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
  });

  it('refuses each with the exact reason', async () => {
    const cases: [string, string][] = [
      ['http://example.com/hook', 'WebhookUrlRefused: only https:// URLs are allowed (got http://)'],
      [
        'https://user:pw@example.com/hook',
        'WebhookUrlRefused: a URL with a user name or password is not allowed',
      ],
      ['https://127.0.0.1/hook', `WebhookUrlRefused: 127.0.0.1 is a loopback address: ${HINT}`],
      [
        'https://localhost:8443/hook',
        `WebhookUrlRefused: localhost resolves to 127.0.0.1, which is a loopback address: ${HINT}`,
      ],
      ['https://[::1]/hook', `WebhookUrlRefused: ::1 is a loopback address: ${HINT}`],
      ['https://10.1.2.3/hook', `WebhookUrlRefused: 10.1.2.3 is a private address: ${HINT}`],
      [
        'https://169.254.169.254/latest/meta-data',
        `WebhookUrlRefused: 169.254.169.254 is a link-local address: ${HINT}`,
      ],
      ['https://100.64.0.7/hook', `WebhookUrlRefused: 100.64.0.7 is a carrier-grade NAT address: ${HINT}`],
      ['https://[fd00::1]/hook', `WebhookUrlRefused: fd00::1 is a unique-local address: ${HINT}`],
      [
        'https://[::ffff:192.168.0.1]/hook',
        `WebhookUrlRefused: ::ffff:c0a8:1 is a private (IPv4 inside IPv6) address: ${HINT}`,
      ],
      ['https://0.0.0.0/hook', `WebhookUrlRefused: 0.0.0.0 is an unspecified address: ${HINT}`],
    ];
    const seen: Record<string, string> = {};
    for (const [url] of cases) seen[url] = await callError(t.mcp, 'create_webhook', { url });
    expect(seen).toEqual(Object.fromEntries(cases));
    const [row] = await t.stack.sql<{ count: number }[]>`
      select count(*)::int as count from public.webhook_endpoints where tenant_id = ${t.stack.defaultTenant.id}`;
    expect(row?.count).toBe(0);
  });
});
