/** The inbound doors' configuration: off by default, whole or refused, secrets registered. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { redactText } from '../../core/redact.js';

describe('inbound configuration', () => {
  it('is off by default, with localhost domains on for loopback listeners only', () => {
    const { inbound } = loadConfig({});
    expect(inbound).toEqual({
      localhostDomains: true,
      recoveryEveryMs: 30_000,
      recoveryGraceMs: 10_000,
      maxBodyBytes: 3 * 25 * 1024 * 1024 + 1024 * 1024,
      smtp: undefined,
      mailgun: undefined,
      postmark: undefined,
      sendgrid: undefined,
    });
    const exposed = loadConfig({ SMTP_INBOUND_HOST: '0.0.0.0', SMTP_INBOUND_PORT: '25' }).inbound;
    expect(exposed.localhostDomains).toBe(false);
    expect(exposed.smtp).toMatchObject({ host: '0.0.0.0', port: 25, maxClients: 100 });
    expect(loadConfig({ SMTP_INBOUND_PORT: '' }).inbound.smtp).toBeUndefined();
    expect(loadConfig({ SMTP_INBOUND_PORT: '0' }).inbound.smtp?.port).toBe(0);
  });

  it('refuses half a TLS pair, half a credential pair, and AUTH required without credentials', () => {
    expect(() => loadConfig({ SMTP_TLS_CERT: '/c.pem' })).toThrow(
      'Invalid configuration: SMTP_TLS_KEY: required when SMTP_TLS_CERT is set',
    );
    expect(() => loadConfig({ POSTMARK_INBOUND_PASSWORD: 'p4ssword-long' })).toThrow(
      'Invalid configuration: POSTMARK_INBOUND_USERNAME: required when POSTMARK_INBOUND_PASSWORD is set',
    );
    expect(() => loadConfig({ SMTP_AUTH_REQUIRED: 'true' })).toThrow(
      'Invalid configuration: SMTP_AUTH_REQUIRED: needs SMTP_AUTH_USERNAME and SMTP_AUTH_PASSWORD',
    );
    expect(() => loadConfig({ MAILGUN_INBOUND_TENANT: 'not a slug!' })).toThrow(/MAILGUN_INBOUND_TENANT/);
  });

  it('turns each webhook on by its secret, and registers the secrets for redaction', () => {
    const { inbound } = loadConfig({
      MAILGUN_WEBHOOK_SIGNING_KEY: 'mailgun-signing-key-123',
      POSTMARK_INBOUND_USERNAME: 'pm',
      POSTMARK_INBOUND_PASSWORD: 'postmark-password-123',
      SENDGRID_INBOUND_UNSIGNED: 'true',
      SENDGRID_INBOUND_TENANT: 'acme',
    });
    expect(inbound.mailgun).toEqual({ signingKey: 'mailgun-signing-key-123', tenant: undefined });
    expect(inbound.postmark).toEqual({
      username: 'pm',
      password: 'postmark-password-123',
      tenant: undefined,
    });
    expect(inbound.sendgrid).toEqual({ publicKey: undefined, tenant: 'acme' });
    expect(redactText('key mailgun-signing-key-123 pass postmark-password-123')).toBe(
      'key [redacted] pass [redacted]',
    );
  });
});
