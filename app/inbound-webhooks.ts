/**
 * POST /inbound/<provider>: check the request is the provider's (signature, token, basic auth), take
 * the raw message out, route it to tenants (by recipient, else the endpoint's configured tenant) and
 * accept it like the SMTP listener does (app/inbound.ts): stored in one transaction before the answer,
 * the run started after. A repeat delivery is the same email (the run is keyed by the message).
 */

import type { InboundConfig } from '../core/config.js';
import { sha256Hex } from '../core/email.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import {
  type InboundProvider,
  mailgunMessage,
  postmarkAuthorized,
  postmarkMessage,
  sendgridMessage,
  sendgridVerified,
  type WebhookMessage,
  type WebhookRequest,
} from '../core/inbound-webhooks.js';
import { rememberWebhookToken } from '../supabase/inbound.js';
import { findTenant } from '../supabase/tenants.js';
import {
  type AcceptedInbound,
  acceptInbound,
  type InboundDeps,
  routeRecipients,
  startAccepted,
} from './inbound.js';

export type WebhookConfig = Pick<InboundConfig, 'mailgun' | 'postmark' | 'sendgrid'>;

export interface WebhookOutcome {
  accepted: AcceptedInbound;
  /** Start the runs; the door calls it once it has answered. */
  start(): Promise<void>;
}

export async function receiveWebhook(
  deps: InboundDeps,
  config: WebhookConfig,
  provider: InboundProvider,
  request: WebhookRequest,
): Promise<WebhookOutcome> {
  const { message, tenant } = await verifiedMessage(config, provider, request);
  const routed = await routeRecipients(deps, message.recipients);
  let tenants = routed.tenants;
  if (tenants.size === 0 && tenant) {
    const found = await findTenant(deps.sql, tenant);
    if (!found)
      throw new UserFacingError(ErrorType.TenantNotFound, `the ${provider} endpoint's tenant does not exist`);
    tenants = new Map([[found.id, message.recipients]]);
  }
  if (tenants.size === 0) {
    throw new UserFacingError(
      ErrorType.UnknownRecipient,
      `no recipient of this message is served here (${message.recipients.slice(0, 5).join(', ') || 'none given'})`,
    );
  }
  const token = message.replayToken;
  // The same token with the same message is the provider's re-delivery; with another, a forgery.
  const messageSha256 = sha256Hex(message.raw);
  const accepted = await acceptInbound(deps, {
    source: provider,
    raw: message.raw,
    tenants,
    envelope: { sender: message.sender ?? null, provider },
    before: token
      ? async (tx) => {
          // In the accepting transaction: a request that fails to store does not use its token up.
          if ((await rememberWebhookToken(tx, provider, token, messageSha256)) === 'replayed') {
            throw new UserFacingError(ErrorType.InvalidSignature, `this ${provider} token was already used`);
          }
        }
      : undefined,
  });
  return { accepted, start: () => startAccepted(deps, accepted) };
}

async function verifiedMessage(
  config: WebhookConfig,
  provider: InboundProvider,
  request: WebhookRequest,
): Promise<{ message: WebhookMessage; tenant?: string }> {
  switch (provider) {
    case 'mailgun': {
      const c = config.mailgun;
      if (!c) throw notConfigured(provider, 'MAILGUN_WEBHOOK_SIGNING_KEY');
      return { message: await mailgunMessage(request, c.signingKey, Date.now()), tenant: c.tenant };
    }
    case 'postmark': {
      const c = config.postmark;
      if (!c) throw notConfigured(provider, 'POSTMARK_INBOUND_USERNAME and POSTMARK_INBOUND_PASSWORD');
      postmarkAuthorized(request, c.username, c.password);
      return { message: postmarkMessage(request), tenant: c.tenant };
    }
    case 'sendgrid': {
      const c = config.sendgrid;
      if (!c) throw notConfigured(provider, 'SENDGRID_INBOUND_PUBLIC_KEY');
      if (c.publicKey) sendgridVerified(request, c.publicKey);
      return { message: await sendgridMessage(request), tenant: c.tenant };
    }
  }
}

function notConfigured(provider: string, what: string): UserFacingError {
  return new UserFacingError(
    ErrorType.NotFound,
    `the ${provider} endpoint is off: set ${what} to turn it on`,
  );
}
