/**
 * Where a webhook may go (SSRF): an https URL without credentials whose host resolves, every address
 * of it, to public unicast (core/webhook-address.ts). The request then connects to the address checked
 * here, never to a second lookup's answer (DNS rebinding). WEBHOOK_ALLOW_PRIVATE=true lifts both rules
 * for tests and local use.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { refusedAddressReason } from '../core/webhook-address.js';

export interface Destination {
  url: URL;
  /** The host as named (no brackets), for TLS (SNI, certificate) and the Host header. */
  hostname: string;
  /** The checked address the request connects to. */
  address: string;
  family: 4 | 6;
}

const ALLOW_HINT =
  'webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE=true allows others, for tests and local use)';

function refused(message: string): UserFacingError {
  return new UserFacingError(ErrorType.WebhookUrlRefused, message);
}

/** The URL's form alone (no DNS): what create_webhook checks before anything else. */
export function parseWebhookUrl(text: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refused('not a URL: give an absolute https:// URL');
  }
  const plainHttpAllowed = allowPrivate && url.protocol === 'http:';
  if (url.protocol !== 'https:' && !plainHttpAllowed) {
    throw refused(`only https:// URLs are allowed (got ${url.protocol}//)`);
  }
  if (url.username || url.password) throw refused('a URL with a user name or password is not allowed');
  if (url.hash) throw refused('a URL with a #fragment is not allowed');
  return url;
}

export async function resolveDestination(text: string, allowPrivate: boolean): Promise<Destination> {
  const url = parseWebhookUrl(text, allowPrivate);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: { address: string; family: number }[];
  if (isIP(hostname)) addresses = [{ address: hostname, family: isIP(hostname) }];
  else {
    try {
      addresses = await lookup(hostname, { all: true, verbatim: true });
    } catch {
      throw refused(`${hostname} does not resolve (DNS)`);
    }
  }
  if (addresses.length === 0) throw refused(`${hostname} does not resolve (DNS)`);
  if (!allowPrivate) {
    for (const { address } of addresses) {
      const why = refusedAddressReason(address);
      if (why === null) continue;
      const named = address === hostname ? hostname : `${hostname} resolves to ${address}, which`;
      const article = /^(a|e|i|o|unspecified)/.test(why) ? 'an' : 'a';
      throw refused(`${named} is ${article} ${why} address: ${ALLOW_HINT}`);
    }
  }
  const first = addresses[0]!;
  return { url, hostname, address: first.address, family: first.family === 6 ? 6 : 4 };
}
