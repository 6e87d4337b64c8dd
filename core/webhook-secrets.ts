/**
 * What an endpoint keeps sealed (AES-256-GCM, core/credentials-cipher.ts): its URL (a Slack URL is a
 * credential) and its signing secret, with the previous one while a rotation's grace lasts. Only the
 * delivery activities and test_webhook open it; nothing else ever sees the URL in full or a secret.
 */
import { decryptText, encryptText, webhookSecretContext } from './credentials-cipher.js';

export interface SealedEndpoint {
  url: string;
  secret: string;
  previous?: { secret: string; until: string };
}

export function sealEndpoint(
  key: Uint8Array,
  tenantId: string,
  endpointId: string,
  e: SealedEndpoint,
): string {
  return encryptText(key, webhookSecretContext(tenantId, endpointId), JSON.stringify(e));
}

export function unsealEndpoint(
  key: Uint8Array,
  tenantId: string,
  endpointId: string,
  stored: string,
): SealedEndpoint {
  return JSON.parse(decryptText(key, webhookSecretContext(tenantId, endpointId), stored)) as SealedEndpoint;
}

/** The secrets a message is signed with now: the current one, and the previous one until its grace ends. */
export function signingSecrets(e: SealedEndpoint, nowMs: number): string[] {
  return e.previous && Date.parse(e.previous.until) > nowMs ? [e.secret, e.previous.secret] : [e.secret];
}

/**
 * The URL as lists show it: a Slack URL's token (the path after /services/T…/B…/) and any query masked,
 * since either may be the credential.
 */
export function shownUrl(text: string): string {
  const url = new URL(text);
  const slack = /^(\/services\/[^/]+\/[^/]+\/)(.+)$/.exec(url.pathname);
  const path = slack ? `${slack[1]}…` : url.pathname;
  return `${url.protocol}//${url.host}${path}${url.search ? '?…' : ''}`;
}
