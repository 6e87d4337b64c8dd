/**
 * The inbound-parse webhooks' door: POST /inbound/mailgun (also …/mailgun/mime, the URL form Mailgun
 * needs to post the raw MIME), /inbound/postmark and /inbound/sendgrid. Thin: it reads the body under
 * its cap, calls app/inbound-webhooks.ts and turns the outcome into the status a provider acts on:
 *   200 stored (the provider stops retrying; a repeat delivery is the same email);
 *   401 signature, token or credentials wrong: nothing stored;
 *   404 a provider this server has no configuration for;
 *   406 (Mailgun) / 403 (Postmark) / 400 (SendGrid) permanently refused: unknown recipient, no raw
 *       message, a message the parser refuses (these codes stop the provider's retries);
 *   413 over INBOUND_MAX_BODY_BYTES or MAX_EMAIL_BYTES;
 *   503 storage unreachable: nothing stored, the provider retries.
 */
import type { IncomingMessage } from 'node:http';
import type { InboundDeps } from '../app/inbound.js';
import { receiveWebhook, type WebhookConfig } from '../app/inbound-webhooks.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { describeFailure } from '../core/failure.js';
import { INBOUND_PROVIDERS, type InboundProvider } from '../core/inbound-webhooks.js';

export interface InboundHttp {
  deps: InboundDeps;
  webhooks: WebhookConfig;
  maxBodyBytes: number;
}

export interface InboundAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Runs after the answer is sent: starting the ingestion runs. */
  after?: () => Promise<void>;
}

const REFUSED_STATUS: Record<InboundProvider, number> = { mailgun: 406, postmark: 403, sendgrid: 400 };

export async function handleInbound(
  req: IncomingMessage,
  path: string,
  inbound: InboundHttp,
  readBody: (maxBytes: number) => Promise<Buffer>,
): Promise<InboundAnswer> {
  const match = /^\/inbound\/([a-z]+)(\/mime)?\/?$/.exec(path);
  const provider = INBOUND_PROVIDERS.find((p) => p === match?.[1]);
  if (!provider || (match?.[2] && provider !== 'mailgun')) {
    return {
      status: 404,
      body: {
        error: 'not_found',
        message: `inbound endpoints: ${INBOUND_PROVIDERS.map((p) => `POST /inbound/${p}`).join(', ')}`,
      },
    };
  }
  if (req.method !== 'POST') {
    return {
      status: 405,
      body: { error: 'method_not_allowed', message: 'use POST' },
      headers: { allow: 'POST' },
    };
  }
  try {
    const body = await readBody(inbound.maxBodyBytes);
    const outcome = await receiveWebhook(inbound.deps, inbound.webhooks, provider, {
      headers: req.headers,
      body,
    });
    const { parsed, runs } = outcome.accepted;
    return {
      status: 200,
      body: { stored: true, messageId: parsed.messageId, tenants: runs.length },
      after: outcome.start,
    };
  } catch (err) {
    return failure(err, provider, inbound);
  }
}

function failure(err: unknown, provider: InboundProvider, inbound: InboundHttp): InboundAnswer {
  // The body reader's own refusals (413 over the cap, 503 body budget) carry their status.
  if (err instanceof Error && 'status' in err && typeof err.status === 'number') {
    const e = err as Error & { status: number; code?: string; headers?: Record<string, string> };
    return { status: e.status, body: { error: e.code ?? 'error', message: e.message }, headers: e.headers };
  }
  if (err instanceof UserFacingError) {
    const status =
      err.type === ErrorType.InvalidSignature
        ? 401
        : err.type === ErrorType.NotFound
          ? 404
          : err.type === ErrorType.EmailTooLarge
            ? 413
            : REFUSED_STATUS[provider];
    return { status, body: { error: err.type, message: `${err.type}: ${err.message}` } };
  }
  const { type, message } = describeFailure(err);
  inbound.deps.log.warn('inbound webhook not stored; the provider will retry', { provider, type, message });
  return {
    status: 503,
    body: { error: 'unavailable', message: 'the message could not be stored; retry later' },
    headers: { 'retry-after': '30' },
  };
}
