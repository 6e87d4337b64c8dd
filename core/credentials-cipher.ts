/**
 * IMAP credentials at rest: AES-256-GCM with a random 96-bit IV per write, the tenant and mailbox as
 * associated data (a ciphertext copied to another row does not decrypt), stored as
 * `v1.<iv>.<tag>.<ciphertext>` in base64url. The key is MAILBOX_CREDENTIALS_KEY; in the local default
 * (embedded database, nothing configured) a key file of its own in the data dir, created 0600 on first
 * use. Anywhere else, without the key, credentials are refused, never stored in the clear. The same key
 * encrypts webhook endpoints' signing secrets (app/webhooks.ts), with their own associated data.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorType, UserFacingError } from './errors.js';

export type MailboxSecret = { kind: 'password'; password: string } | { kind: 'xoauth2'; accessToken: string };

export interface CredentialsKeySource {
  credentialsKey?: Uint8Array;
  keyFile?: string;
}

/** The key to use, or CredentialsKeyMissing saying how to provide one. */
export function credentialsKey(source: CredentialsKeySource, what = 'mailbox credentials'): Uint8Array {
  if (source.credentialsKey) return source.credentialsKey;
  if (source.keyFile) return localKey(source.keyFile);
  throw new UserFacingError(
    ErrorType.CredentialsKeyMissing,
    `${what} are stored encrypted and MAILBOX_CREDENTIALS_KEY is not set: set it to 32 random bytes (e.g. \`openssl rand -hex 32\`) on the MCP server and the workers`,
  );
}

function localKey(file: string): Uint8Array {
  try {
    return new Uint8Array(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
  } catch {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // 'wx': two processes starting at once never overwrite each other's key.
    try {
      writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch {}
    return new Uint8Array(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
  }
}

/** The associated data of a mailbox's ciphertext: it decrypts for this tenant and mailbox only. */
export function mailboxCredentialsContext(tenantId: string, mailboxId: string): string {
  return `imap-mailbox/${tenantId}/${mailboxId}`;
}

/** The associated data of a webhook endpoint's signing secret. */
export function webhookSecretContext(tenantId: string, endpointId: string): string {
  return `webhook-endpoint/${tenantId}/${endpointId}`;
}

export function encryptSecret(key: Uint8Array, context: string, secret: MailboxSecret): string {
  return encryptText(key, context, JSON.stringify(secret));
}

export function decryptSecret(key: Uint8Array, context: string, stored: string): MailboxSecret {
  return JSON.parse(decryptText(key, context, stored)) as MailboxSecret;
}

export function encryptText(key: Uint8Array, context: string, text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), body]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

export function decryptText(key: Uint8Array, context: string, stored: string): string {
  const [version, iv, tag, body] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unknown credentials format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
