/**
 * Standard Webhooks signing, checked by the `standardwebhooks` package (what receivers use): one
 * signature verifies, two (rotation) verify with either secret, a changed body or an old timestamp does
 * not. And the pure rules beside it: the SSRF address classes, the retry schedule, Slack's filter.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { refusedAddressReason } from '../../core/webhook-address.js';
import { eventMatches, SLACK_DEFAULT_FILTER } from '../../core/webhook-messages.js';
import { webhookRetryDelayMs, webhookRetrySpanMs } from '../../core/webhook-retry.js';
import { shownUrl } from '../../core/webhook-secrets.js';
import { generateWebhookSecret, signedHeaders } from '../../core/webhook-signing.js';

describe('Standard Webhooks signatures', () => {
  const body = JSON.stringify({ type: 'email.received', data: { emailId: 'e1' } });
  const now = () => Math.floor(Date.now() / 1000);

  it('verify with standardwebhooks; rotation carries both; tampering and replays of old messages fail', () => {
    const [a, b] = [generateWebhookSecret(), generateWebhookSecret()];
    const headers = signedHeaders([a], 'msg_1', now(), body);
    expect(new Webhook(a).verify(body, { ...headers })).toEqual(JSON.parse(body));
    const both = signedHeaders([b, a], 'msg_2', now(), body);
    expect(both['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(a).verify(body, { ...both })).toBeTruthy();
    expect(new Webhook(b).verify(body, { ...both })).toBeTruthy();
    expect(() => new Webhook(b).verify(body, { ...headers })).toThrow('No matching signature found');
    expect(() => new Webhook(a).verify(`${body} `, { ...headers })).toThrow('No matching signature found');
    const old = signedHeaders([a], 'msg_3', now() - 3600, body);
    expect(() => new Webhook(a).verify(body, { ...old })).toThrow('Message timestamp too old');
  });
});

describe('SSRF address classes', () => {
  it('refuses every non-public class, v4 and v6, mapped forms included; allows public unicast', () => {
    const cases: Record<string, string | null> = {
      '8.8.8.8': null,
      '2606:4700:4700::1111': null,
      '127.0.0.53': 'loopback',
      '10.0.0.1': 'private',
      '172.31.255.255': 'private',
      '172.32.0.1': null,
      '192.168.1.1': 'private',
      '169.254.169.254': 'link-local',
      '100.64.0.1': 'carrier-grade NAT',
      '100.128.0.1': null,
      '224.0.0.251': 'multicast',
      '0.0.0.0': 'unspecified',
      '255.255.255.255': 'reserved',
      '::': 'unspecified',
      '::1': 'loopback',
      'fe80::1%eth0': 'link-local',
      'fd12:3456::1': 'unique-local',
      'ff02::1': 'multicast',
      '::ffff:127.0.0.1': 'loopback (IPv4 inside IPv6)',
      '::ffff:7f00:1': 'loopback (IPv4 inside IPv6)',
      '::ffff:8.8.8.8': null,
      '64:ff9b::10.0.0.1': 'private (IPv4 inside IPv6)',
      'not-an-ip': 'not an IP address',
    };
    const got = Object.fromEntries(Object.keys(cases).map((a) => [a, refusedAddressReason(a)]));
    expect(got).toEqual(cases);
  });
});

describe('the retry schedule and Slack filter', () => {
  it('grows fourfold from the first wait to 12 h, Retry-After wins, 13 attempts span about 3 days', () => {
    expect([1, 2, 3, 4, 8, 9].map((n) => webhookRetryDelayMs(n, 5000))).toEqual([
      5000, 20_000, 80_000, 320_000, 43_200_000, 43_200_000,
    ]);
    expect(webhookRetryDelayMs(3, 5000, 1000)).toBe(1000);
    const days = webhookRetrySpanMs(13, 5000) / 86_400_000;
    expect(days).toBeGreaterThan(2.5);
    expect(days).toBeLessThan(3);
  });

  it('Slack by default: email.analyzed with priority ≥ 4 or category support', () => {
    const analyzed = (payload: Record<string, unknown>) => ({ type: 'email.analyzed' as const, payload });
    expect(eventMatches(SLACK_DEFAULT_FILTER, analyzed({ priority: 4, category: 'work' }))).toBe(true);
    expect(eventMatches(SLACK_DEFAULT_FILTER, analyzed({ priority: 2, category: 'Support' }))).toBe(true);
    expect(eventMatches(SLACK_DEFAULT_FILTER, analyzed({ priority: 3, category: 'work' }))).toBe(false);
    expect(eventMatches(SLACK_DEFAULT_FILTER, { type: 'email.received', payload: { priority: 5 } })).toBe(
      false,
    );
  });

  it("lists mask a Slack URL's token and any query", () => {
    expect(shownUrl('https://hooks.slack.com/services/T1/B2/secretToken')).toBe(
      'https://hooks.slack.com/services/T1/B2/…',
    );
    expect(shownUrl('https://example.com/hook?token=abc')).toBe('https://example.com/hook?…');
  });
});
