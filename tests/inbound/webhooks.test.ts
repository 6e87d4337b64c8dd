/**
 * Inbound-parse webhooks over real HTTP, with payloads shaped like each provider's documented ones and
 * real signatures: Mailgun (multipart form, `body-mime`, HMAC-SHA256 of timestamp + token), Postmark
 * (JSON, `RawEmail`, basic auth in the URL) and SendGrid Inbound Parse raw mode (multipart, `email`,
 * ECDSA P-256 signature over timestamp + body, with a key pair made here). Each: stored → 200 and the
 * email row; bad signature → 401 and nothing stored; repeat delivery → the same email.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { addInboundAddress } from '../../supabase/inbound.js';
import { ensureOrganization, type Tenant } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { message, waitForEmails } from '../support/inbound.js';

const MAILGUN_KEY = 'key-mailgun-signing-0123456789abcdef';
const POSTMARK = { user: 'postmark', pass: 'postmark-inbound-password-42' };
const MAX_BODY = 300_000;
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_PUBLIC = keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

describe('inbound webhooks', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let base: string;
  let routed: Tenant;

  beforeAll(async () => {
    const env = testEnv({
      MCP_HTTP_PORT: '0',
      MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
      POSTMARK_INBOUND_USERNAME: POSTMARK.user,
      POSTMARK_INBOUND_PASSWORD: POSTMARK.pass,
      SENDGRID_INBOUND_PUBLIC_KEY: SENDGRID_PUBLIC,
      INBOUND_MAX_BODY_BYTES: String(MAX_BODY),
    });
    env.POSTMARK_INBOUND_TENANT = env.DURABLE_INBOX_TENANT!;
    stack = await startTestStack(env);
    http = await startMcpHttp(stack, createLogger('warn'));
    base = http.url.replace(/\/mcp$/, '');
    routed = await ensureOrganization(stack.sql, uniqueName('hooks'));
    await addInboundAddress(stack.sql, routed.id, 'address', `support@${routed.slug}.example`);
  });
  afterAll(async () => {
    await http?.close();
    await stack?.shutdown();
  });

  const post = async (path: string, body: RequestInit['body'], headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', body, headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const storedCount = async (tenantId: string, id: string) =>
    (
      await stack.sql<{ n: number }[]>`
        select count(*)::int as n from public.emails
        where tenant_id = ${tenantId} and message_id = ${`${id}@remote.example`}`
    )[0]!.n;
  const ledgerCount = async (id: string) =>
    (
      await stack.sql<{ n: number }[]>`
        select count(*)::int as n from public.inbound_messages m join public.staged_content s
          on s.tenant_id = m.tenant_id and s.sha256 = m.raw_sha256
        -- Searched as bytes: other files' staged messages in the shared database may not be UTF-8.
        where position(${Buffer.from(`${id}@remote.example`)}::bytea in s.content) > 0`
    )[0]!.n;

  describe('Mailgun', () => {
    const to = () => `support@${routed.slug}.example`;
    function mailgunForm(raw: string, opts: { timestamp?: number; token?: string; key?: string } = {}) {
      const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
      const token = opts.token ?? randomBytes(25).toString('hex');
      const signature = createHmac('sha256', opts.key ?? MAILGUN_KEY)
        .update(timestamp + token)
        .digest('hex');
      const form = new FormData();
      for (const [k, v] of Object.entries({
        recipient: to(),
        sender: 'sender@remote.example',
        from: 'Sender <sender@remote.example>',
        subject: 'Inbound',
        'body-mime': raw,
        timestamp,
        token,
        signature,
      }))
        form.append(k, v);
      return { form, token };
    }

    it('stores a signed message for the organization of its recipient: 200', async () => {
      const id = uniqueName('mg');
      const res = await post('/inbound/mailgun/mime', mailgunForm(message(id, { to: to() })).form);
      expect(res).toEqual({
        status: 200,
        body: { stored: true, messageId: `${id}@remote.example`, tenants: 1 },
      });
      const [email] = await waitForEmails(stack.sql, routed.id, `${id}@`, 1);
      expect(email).toMatchObject({ subject: `Inbound ${id}`, from_address: 'sender@remote.example' });
    });

    it('refuses a wrong signature and a stale timestamp with 401, storing nothing', async () => {
      const id = uniqueName('mg-bad');
      const raw = message(id, { to: to() });
      const wrong = await post('/inbound/mailgun', mailgunForm(raw, { key: 'another-key-entirely' }).form);
      expect(wrong).toEqual({
        status: 401,
        body: {
          error: 'InvalidSignature',
          message: 'InvalidSignature: the Mailgun signature does not verify',
        },
      });
      const stale = await post(
        '/inbound/mailgun',
        mailgunForm(raw, { timestamp: Math.floor(Date.now() / 1000) - 180 }).form,
      );
      expect(stale).toEqual({
        status: 401,
        body: {
          error: 'InvalidSignature',
          message: 'InvalidSignature: the Mailgun timestamp is more than 120 s from now',
        },
      });
      expect(await ledgerCount(id)).toBe(0);
      expect(await storedCount(routed.id, id)).toBe(0);
    });

    it('refuses a replayed token carrying another message; the same delivery again is the same email', async () => {
      const id = uniqueName('mg-replay');
      const token = randomBytes(25).toString('hex');
      const timestamp = Math.floor(Date.now() / 1000);
      const first = mailgunForm(message(id, { to: to() }), { token, timestamp }).form;
      expect((await post('/inbound/mailgun', first)).status).toBe(200);
      // The provider's retry: the very same request.
      expect(
        (await post('/inbound/mailgun', mailgunForm(message(id, { to: to() }), { token, timestamp }).form))
          .status,
      ).toBe(200);
      const forged = uniqueName('mg-forged');
      const replay = await post(
        '/inbound/mailgun',
        mailgunForm(message(forged, { to: to() }), { token, timestamp }).form,
      );
      expect(replay).toEqual({
        status: 401,
        body: { error: 'InvalidSignature', message: 'InvalidSignature: this mailgun token was already used' },
      });
      await waitForEmails(stack.sql, routed.id, `${id}@`, 1);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await storedCount(routed.id, id)).toBe(1);
      expect(await ledgerCount(forged)).toBe(0);
    });
  });

  describe('Postmark', () => {
    const auth = (user: string, pass: string) => ({
      authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
      'content-type': 'application/json',
    });
    const payload = (id: string, raw: boolean) =>
      JSON.stringify({
        FromName: 'Sender',
        MessageStream: 'inbound',
        From: 'sender@remote.example',
        FromFull: { Email: 'sender@remote.example', Name: 'Sender', MailboxHash: '' },
        To: 'abc123@inbound.postmarkapp.com',
        ToFull: [{ Email: 'abc123@inbound.postmarkapp.com', Name: '', MailboxHash: '' }],
        OriginalRecipient: 'abc123@inbound.postmarkapp.com',
        Subject: `Postmark ${id}`,
        MessageID: '73e6d360-66eb-11e1-8e72-a8904824019b',
        Date: 'Thu, 3 Dec 2026 10:00:00 +0000',
        TextBody: `Text of ${id}`,
        HtmlBody: `<p>Text of ${id}</p>`,
        Headers: [
          { Name: 'Message-ID', Value: `<${id}@remote.example>` },
          { Name: 'X-Spam-Status', Value: 'No' },
        ],
        Attachments: [],
        ...(raw
          ? { RawEmail: message(id, { to: 'abc123@inbound.postmarkapp.com', subject: `Postmark ${id}` }) }
          : {}),
      });

    it('stores RawEmail for the endpoint tenant, behind basic auth; a repeat is the same email', async () => {
      const id = uniqueName('pm');
      const res = await post('/inbound/postmark', payload(id, true), auth(POSTMARK.user, POSTMARK.pass));
      expect(res.status).toBe(200);
      expect(
        (await post('/inbound/postmark', payload(id, true), auth(POSTMARK.user, POSTMARK.pass))).status,
      ).toBe(200);
      const [email] = await waitForEmails(stack.sql, stack.defaultTenant.id, `${id}@`, 1);
      expect(email?.subject).toBe(`Postmark ${id}`);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await storedCount(stack.defaultTenant.id, id)).toBe(1);
    });

    it('without RawEmail, stores the message rebuilt from the parsed fields', async () => {
      const id = uniqueName('pm-fields');
      expect(
        (await post('/inbound/postmark', payload(id, false), auth(POSTMARK.user, POSTMARK.pass))).status,
      ).toBe(200);
      const [email] = await waitForEmails(stack.sql, stack.defaultTenant.id, `${id}@`, 1);
      expect(email).toMatchObject({ subject: `Postmark ${id}`, from_address: 'sender@remote.example' });
    });

    it('refuses wrong or missing credentials with 401, storing nothing', async () => {
      const id = uniqueName('pm-bad');
      const wrong = await post('/inbound/postmark', payload(id, true), auth(POSTMARK.user, 'guess'));
      expect(wrong).toEqual({
        status: 401,
        body: {
          error: 'InvalidSignature',
          message: 'InvalidSignature: the Postmark basic-auth credentials are wrong',
        },
      });
      const none = await post('/inbound/postmark', payload(id, true), { 'content-type': 'application/json' });
      expect(none.status).toBe(401);
      expect(await ledgerCount(id)).toBe(0);
    });
  });

  describe('SendGrid Inbound Parse (raw)', () => {
    async function signed(form: FormData, privateKey = keys.privateKey) {
      // Sign exactly the bytes that will be sent: serialise the form first.
      const req = new Request('http://x/', { method: 'POST', body: form });
      const body = Buffer.from(await req.arrayBuffer());
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), body]), privateKey).toString(
        'base64',
      );
      return {
        body,
        headers: {
          'content-type': req.headers.get('content-type')!,
          'x-twilio-email-event-webhook-signature': signature,
          'x-twilio-email-event-webhook-timestamp': timestamp,
        },
      };
    }
    const form = (id: string, to: string) => {
      const f = new FormData();
      f.append('to', to);
      f.append('from', 'Sender <sender@remote.example>');
      f.append('subject', `SendGrid ${id}`);
      f.append('envelope', JSON.stringify({ to: [to], from: 'sender@remote.example' }));
      f.append('charsets', JSON.stringify({ to: 'UTF-8', subject: 'UTF-8', from: 'UTF-8' }));
      f.append('SPF', 'pass');
      f.append('email', message(id, { to, subject: `SendGrid ${id}` }));
      return f;
    };

    it('stores a signed raw message for its recipient: 200', async () => {
      const id = uniqueName('sg');
      const { body, headers } = await signed(form(id, `support@${routed.slug}.example`));
      expect((await post('/inbound/sendgrid', body, headers)).status).toBe(200);
      const [email] = await waitForEmails(stack.sql, routed.id, `${id}@`, 1);
      expect(email?.subject).toBe(`SendGrid ${id}`);
    });

    it('refuses another key and a changed body with 401, storing nothing', async () => {
      const id = uniqueName('sg-bad');
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const byOther = await signed(form(id, `support@${routed.slug}.example`), other.privateKey);
      expect(await post('/inbound/sendgrid', byOther.body, byOther.headers)).toEqual({
        status: 401,
        body: {
          error: 'InvalidSignature',
          message: 'InvalidSignature: the SendGrid signature does not verify',
        },
      });
      const good = await signed(form(id, `support@${routed.slug}.example`));
      const tampered = Buffer.from(
        good.body.toString('latin1').replace(`SendGrid ${id}`, `SendGrid ${id}!`),
        'latin1',
      );
      expect((await post('/inbound/sendgrid', tampered, good.headers)).status).toBe(401);
      expect(await ledgerCount(id)).toBe(0);
    });

    it('answers 400 for a recipient no organization receives mail for', async () => {
      const id = uniqueName('sg-nobody');
      const { body, headers } = await signed(form(id, 'nobody@unknown.example'));
      expect(await post('/inbound/sendgrid', body, headers)).toEqual({
        status: 400,
        body: {
          error: 'UnknownRecipient',
          message: 'UnknownRecipient: no recipient of this message is served here (nobody@unknown.example)',
        },
      });
    });
  });

  it('caps the body (413) and knows its providers (404)', async () => {
    const big = await post('/inbound/sendgrid', Buffer.alloc(MAX_BODY + 1, 97), {
      'content-type': 'multipart/form-data; boundary=x',
    });
    expect(big).toEqual({
      status: 413,
      body: { error: 'payload_too_large', message: `the request body is over ${MAX_BODY} bytes` },
    });
    const unknown = await post('/inbound/mandrill', 'x');
    expect(unknown.status).toBe(404);
  });
});
