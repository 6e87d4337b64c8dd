/**
 * One signed message to an endpoint: the sealed URL and secrets opened, the Standard Webhooks headers
 * computed, the request sent (webhooks/send.ts). Shared by the delivery activity and test_webhook.
 */
import { type CredentialsKeySource, credentialsKey } from '../core/credentials-cipher.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { type SealedEndpoint, signingSecrets, unsealEndpoint } from '../core/webhook-secrets.js';
import { signedHeaders } from '../core/webhook-signing.js';
import { sendWebhook, type WebhookAnswer, type WebhookPolicy } from './send.js';

export function openSealed(
  keys: CredentialsKeySource,
  tenantId: string,
  endpointId: string,
  stored: string | null,
): SealedEndpoint {
  if (!stored) throw new UserFacingError(ErrorType.NotFound, `no webhook ${endpointId} in this organization`);
  const key = credentialsKey(keys, 'webhook secrets');
  try {
    return unsealEndpoint(key, tenantId, endpointId, stored);
  } catch {
    throw new UserFacingError(
      ErrorType.CredentialsKeyMissing,
      "the webhook's stored secret does not decrypt with this MAILBOX_CREDENTIALS_KEY (was it changed?): delete the webhook and create it again",
    );
  }
}

export function sendSigned(
  sealed: SealedEndpoint,
  messageId: string,
  body: string,
  policy: WebhookPolicy,
  now: Date = new Date(),
): Promise<WebhookAnswer> {
  const headers = signedHeaders(
    signingSecrets(sealed, now.getTime()),
    messageId,
    Math.floor(now.getTime() / 1000),
    body,
  );
  return sendWebhook(sealed.url, { ...headers }, body, policy);
}
