/**
 * Search attributes cannot be encrypted (the server indexes them), so on a shared Temporal the mail
 * values among them (EmailFrom, MessageId, ThreadId) are keyed hashes: `hmac:` and the hex
 * HMAC-SHA256 under SEARCH_ATTRIBUTE_HMAC_KEY of the field name and the normalised value. Whoever has
 * the key finds a run by sender or Message-ID (`durable-inbox find-run`); whoever reads the Web UI or
 * the visibility store learns nothing. In clear mode (the local default) the values stay as they are.
 */
import { createHmac } from 'node:crypto';
import type { PrivacyConfig } from './config.js';

export const HMAC_PREFIX = 'hmac:';

export type MailSearchField = 'EmailFrom' | 'MessageId' | 'ThreadId';

/** The form a value is hashed in: what a person types (`<Id@Host>`, `Alice@Example.com`) still matches. */
export function normaliseMailSearchValue(field: MailSearchField, value: string): string {
  const trimmed = value.trim();
  if (field === 'EmailFrom') return trimmed.toLowerCase();
  if (field === 'MessageId') return trimmed.replace(/^<(.*)>$/, '$1');
  return trimmed;
}

/** The value a mail search attribute holds (before the size rules of workflows/search-attributes.ts). */
export function mailSearchValue(
  privacy: PrivacyConfig['searchAttributes'],
  field: MailSearchField,
  value: string,
): string {
  if (privacy.clear) return value;
  const mac = createHmac('sha256', privacy.hmacKey)
    .update(`${field}\u0000${normaliseMailSearchValue(field, value)}`, 'utf8')
    .digest('hex');
  return `${HMAC_PREFIX}${mac}`;
}
