/**
 * The inbound-parse webhooks of Mailgun, Postmark and SendGrid, as pure functions: check a request's
 * signature or credentials, and take out of its body the raw message and the recipients. Verification
 * reads the bytes exactly as they arrived; every comparison of a secret is constant-time.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { ErrorType, UserFacingError } from './errors.js';

export const INBOUND_PROVIDERS = ['mailgun', 'postmark', 'sendgrid'] as const;
export type InboundProvider = (typeof INBOUND_PROVIDERS)[number];

/** Mailgun signs timestamp + token; a request older than this (or as far in the future) is refused. */
export const MAILGUN_MAX_AGE_SECONDS = 120;

export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What a provider delivered: the message as the sender's MTA sent it, and who it was for. */
export interface WebhookMessage {
  raw: Uint8Array;
  recipients: string[];
  sender?: string;
  /** Mailgun's token, remembered so the same signature cannot carry another message. */
  replayToken?: string;
}

function header(req: WebhookRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function refused(message: string): UserFacingError {
  return new UserFacingError(ErrorType.InvalidSignature, message);
}

function invalid(message: string): UserFacingError {
  return new UserFacingError(ErrorType.InvalidInput, message);
}

export function constantTimeEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Compare equal lengths always, so the time says nothing about where they differ.
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}

/** A multipart/form-data or urlencoded body, parsed by the platform's own parser (undici). */
async function formOf(req: WebhookRequest): Promise<FormData> {
  const type = header(req, 'content-type') ?? '';
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(type)) {
    throw invalid(
      `expected a form (multipart/form-data or urlencoded), got ${JSON.stringify(type.slice(0, 80))}`,
    );
  }
  try {
    return await new Response(new Uint8Array(req.body), { headers: { 'content-type': type } }).formData();
  } catch {
    throw invalid('the form body cannot be parsed');
  }
}

async function fieldBytes(form: FormData, name: string): Promise<Uint8Array | null> {
  const value = form.get(name);
  if (value === null) return null;
  if (typeof value === 'string') return new TextEncoder().encode(value);
  return new Uint8Array(await value.arrayBuffer());
}

function fieldText(form: FormData, name: string): string | undefined {
  const value = form.get(name);
  return typeof value === 'string' ? value : undefined;
}

/** Addresses out of a header-style list: `A <a@x>, b@y` → [a@x, b@y]. */
export function addressesIn(list: string | undefined): string[] {
  if (!list) return [];
  return [...list.matchAll(/<([^<>\s]+@[^<>\s]+)>|([^\s<>,;"]+@[^\s<>,;"]+)/g)].map((m) =>
    (m[1] ?? m[2]!).toLowerCase(),
  );
}

// ---- Mailgun: routes forwarding to a URL ending in "mime" post `body-mime` ----------------------------

export async function mailgunMessage(
  req: WebhookRequest,
  signingKey: string,
  nowMs: number,
): Promise<WebhookMessage> {
  const form = await formOf(req);
  const timestamp = fieldText(form, 'timestamp') ?? '';
  const token = fieldText(form, 'token') ?? '';
  const signature = fieldText(form, 'signature') ?? '';
  if (!timestamp || !token || !signature) throw refused('the Mailgun signature fields are missing');
  const expected = createHmac('sha256', signingKey)
    .update(timestamp + token)
    .digest('hex');
  if (!constantTimeEqual(signature.toLowerCase(), expected))
    throw refused('the Mailgun signature does not verify');
  const age = nowMs / 1000 - Number(timestamp);
  if (!Number.isFinite(age) || Math.abs(age) > MAILGUN_MAX_AGE_SECONDS) {
    throw refused(`the Mailgun timestamp is more than ${MAILGUN_MAX_AGE_SECONDS} s from now`);
  }
  const raw = await fieldBytes(form, 'body-mime');
  if (!raw)
    throw invalid('no body-mime field: forward the route to a URL ending in "mime" (…/inbound/mailgun/mime)');
  return {
    raw,
    recipients: addressesIn(fieldText(form, 'recipient')),
    sender: fieldText(form, 'sender'),
    replayToken: token,
  };
}

// ---- Postmark: JSON, `RawEmail` when "include raw email content" is on --------------------------------

export function postmarkAuthorized(req: WebhookRequest, username: string, password: string): void {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header(req, 'authorization') ?? '');
  if (!match)
    throw refused('Postmark webhooks must carry basic auth: https://user:password@host/inbound/postmark');
  const given = Buffer.from(match[1]!, 'base64').toString('utf8');
  const ok = constantTimeEqual(given, `${username}:${password}`);
  if (!ok) throw refused('the Postmark basic-auth credentials are wrong');
}

interface PostmarkAddress {
  Email?: string;
}

interface PostmarkPayload {
  RawEmail?: string;
  OriginalRecipient?: string;
  From?: string;
  To?: string;
  Cc?: string;
  Subject?: string;
  Date?: string;
  MessageID?: string;
  TextBody?: string;
  HtmlBody?: string;
  Headers?: { Name?: string; Value?: string }[];
  ToFull?: PostmarkAddress[];
  CcFull?: PostmarkAddress[];
  BccFull?: PostmarkAddress[];
  Attachments?: { Name?: string; Content?: string; ContentType?: string }[];
}

export function postmarkMessage(req: WebhookRequest): WebhookMessage {
  let payload: PostmarkPayload;
  try {
    payload = JSON.parse(req.body.toString('utf8')) as PostmarkPayload;
  } catch {
    throw invalid('the Postmark body is not JSON');
  }
  if (typeof payload !== 'object' || payload === null)
    throw invalid('the Postmark body is not a JSON object');
  const full = [...(payload.ToFull ?? []), ...(payload.CcFull ?? []), ...(payload.BccFull ?? [])];
  const recipients = [
    ...(payload.OriginalRecipient ? [payload.OriginalRecipient.toLowerCase()] : []),
    ...full.map((a) => a.Email?.toLowerCase()).filter((a): a is string => Boolean(a)),
  ];
  const raw =
    typeof payload.RawEmail === 'string' && payload.RawEmail.length > 0
      ? new TextEncoder().encode(payload.RawEmail)
      : new TextEncoder().encode(mimeFromPostmark(payload));
  return { raw, recipients, sender: payload.From };
}

/** Without RawEmail, the message rebuilt from Postmark's parsed fields (its headers, bodies and files). */
function mimeFromPostmark(p: PostmarkPayload): string {
  const clean = (v: string | undefined) => (v ?? '').replace(/[\r\n]+/g, ' ');
  const boundary = `durable-inbox-${Math.random().toString(36).slice(2)}`;
  const own = new Set(['from', 'to', 'cc', 'subject', 'date', 'mime-version', 'content-type']);
  // The sender's Message-ID is among Headers; Postmark's MessageID is its own id, the fallback only.
  const hasMessageId = (p.Headers ?? []).some((h) => h.Name?.toLowerCase() === 'message-id');
  const lines = [
    `From: ${clean(p.From)}`,
    ...(p.To ? [`To: ${clean(p.To)}`] : []),
    ...(p.Cc ? [`Cc: ${clean(p.Cc)}`] : []),
    `Subject: ${clean(p.Subject)}`,
    ...(p.Date ? [`Date: ${clean(p.Date)}`] : []),
    ...(p.MessageID && !hasMessageId ? [`Message-ID: <${clean(p.MessageID).replace(/^<|>$/g, '')}>`] : []),
    ...(p.Headers ?? [])
      .filter((h) => h.Name && !own.has(h.Name.toLowerCase()) && /^[\x21-\x39\x3b-\x7e]+$/.test(h.Name))
      .map((h) => `${h.Name}: ${clean(h.Value)}`),
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
  ];
  const part = (type: string, body: string) => [
    `--${boundary}`,
    `Content-Type: ${type}`,
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(body, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n'),
  ];
  if (p.TextBody) lines.push(...part('text/plain; charset=utf-8', p.TextBody));
  if (p.HtmlBody) lines.push(...part('text/html; charset=utf-8', p.HtmlBody));
  for (const a of p.Attachments ?? []) {
    lines.push(
      `--${boundary}`,
      `Content-Type: ${clean(a.ContentType) || 'application/octet-stream'}`,
      `Content-Disposition: attachment; filename="${clean(a.Name).replace(/"/g, '')}"`,
      'Content-Transfer-Encoding: base64',
      '',
      (a.Content ?? '').replace(/\s+/g, '').replace(/.{76}/g, '$&\r\n'),
    );
  }
  lines.push(`--${boundary}--`, '');
  return lines.join('\r\n');
}

// ---- SendGrid Inbound Parse, "POST the raw, full MIME message" ----------------------------------------

export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/** ECDSA (P-256, SHA-256) over timestamp + body, with the public key SendGrid shows (base64 DER, or PEM). */
export function sendgridVerified(req: WebhookRequest, publicKey: string): void {
  const signature = header(req, SENDGRID_SIGNATURE_HEADER);
  const timestamp = header(req, SENDGRID_TIMESTAMP_HEADER);
  if (!signature || !timestamp) throw refused('the SendGrid signature headers are missing');
  let ok = false;
  try {
    const key = publicKey.includes('BEGIN')
      ? createPublicKey(publicKey)
      : createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    ok = verify(
      'sha256',
      Buffer.concat([Buffer.from(timestamp, 'utf8'), req.body]),
      key,
      Buffer.from(signature, 'base64'),
    );
  } catch {
    ok = false;
  }
  if (!ok) throw refused('the SendGrid signature does not verify');
}

export async function sendgridMessage(req: WebhookRequest): Promise<WebhookMessage> {
  const form = await formOf(req);
  const raw = await fieldBytes(form, 'email');
  if (!raw)
    throw invalid('no email field: turn on "POST the raw, full MIME message" in the Inbound Parse settings');
  let envelope: { to?: unknown; from?: unknown } = {};
  try {
    envelope = JSON.parse(fieldText(form, 'envelope') ?? '{}') as typeof envelope;
  } catch {}
  const to = Array.isArray(envelope.to) ? envelope.to.filter((a): a is string => typeof a === 'string') : [];
  return {
    raw,
    recipients: to.length > 0 ? to.map((a) => a.toLowerCase()) : addressesIn(fieldText(form, 'to')),
    sender: typeof envelope.from === 'string' ? envelope.from : fieldText(form, 'from'),
  };
}
