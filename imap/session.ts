/**
 * The one place an IMAP connection is opened (imapflow): by the app layer to verify an account before it
 * is saved, and by the sync activities. Failures come out in the product's words:
 *  - a refused login is MailboxAuthFailed (not retryable), with the server's reason;
 *  - a connection that cannot be made or is dropped is MailboxUnavailable (retryable);
 *  - a folder that does not exist is MailboxFolderNotFound (not retryable).
 * The secret goes to the server and nowhere else: imapflow's logger is off, failures carry no credentials.
 */
import { ImapFlow } from 'imapflow';
import type { MailboxSecret } from '../core/credentials-cipher.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import { redactText } from '../core/redact.js';

export type TlsMode = 'tls' | 'starttls' | 'none';

export interface ImapAccount {
  host: string;
  port: number;
  tls: TlsMode;
  username: string;
}

export interface ImapSessionOptions {
  /** IDLE is restarted this often (servers drop an IDLE after ~30 min). */
  maxIdleTimeMs?: number;
  /** Seconds a connection may take to open; the verification at connect time is quicker than a sync. */
  connectTimeoutMs?: number;
}

export const MAX_IDLE_TIME_MS = 25 * 60_000;

/** Connect and log in; the client is ready for commands. */
export async function openImap(
  account: ImapAccount,
  secret: MailboxSecret,
  options: ImapSessionOptions = {},
): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: account.host,
    port: account.port,
    secure: account.tls === 'tls',
    // STARTTLS is required, never optional: without it credentials would cross in the clear.
    doSTARTTLS: account.tls === 'starttls' ? true : account.tls === 'none' ? false : undefined,
    auth:
      secret.kind === 'password'
        ? { user: account.username, pass: secret.password }
        : { user: account.username, accessToken: secret.accessToken },
    logger: false,
    qresync: true,
    disableAutoIdle: true,
    maxIdleTime: options.maxIdleTimeMs ?? MAX_IDLE_TIME_MS,
    connectionTimeout: options.connectTimeoutMs ?? 30_000,
    greetingTimeout: 16_000,
    socketTimeout: 5 * 60_000,
    clientInfo: { name: 'durable-inbox' },
  });
  // A dropped connection is an 'error' event as well as a rejected command: without a listener the
  // event would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw imapFailure(err, account);
  }
  return client;
}

export async function closeImap(client: ImapFlow): Promise<void> {
  try {
    await client.logout();
  } catch {
    client.close();
  }
}

/** Folders named by `spec` (`*`: every selectable folder but Trash and Junk); unknown names are refused. */
export async function resolveFolders(client: ImapFlow, spec: readonly string[]): Promise<string[]> {
  const listed = await client.list();
  const selectable = listed.filter((f) => !f.flags.has('\\Noselect') && !f.flags.has('\\NonExistent'));
  if (spec.includes('*')) {
    return selectable
      .filter((f) => f.specialUse !== '\\Trash' && f.specialUse !== '\\Junk')
      .map((f) => f.path)
      .sort((a, b) => (a === 'INBOX' ? -1 : b === 'INBOX' ? 1 : a.localeCompare(b)));
  }
  const byName = new Map(
    selectable.map((f) => [f.path.toLowerCase() === 'inbox' ? 'INBOX' : f.path, f.path]),
  );
  return spec.map((name) => {
    const found = byName.get(name.toLowerCase() === 'inbox' ? 'INBOX' : name);
    if (!found) {
      throw new UserFacingError(
        ErrorType.MailboxFolderNotFound,
        `the server has no folder "${name}"; it has: ${[...byName.keys()].slice(0, 20).join(', ')}`,
      );
    }
    return found;
  });
}

interface ImapErrorShape {
  code?: string;
  authenticationFailed?: boolean;
  responseText?: string;
  serverResponseCode?: string;
  mailboxMissing?: boolean;
  message?: string;
  path?: string;
}

/** An imapflow or socket error in the product's words (see the header). */
export function imapFailure(err: unknown, account: Pick<ImapAccount, 'host' | 'port'>): UserFacingError {
  if (err instanceof UserFacingError) return err;
  const e = (err ?? {}) as ImapErrorShape;
  const where = `${account.host}:${account.port}`;
  if (e.authenticationFailed) {
    const reason = e.responseText || e.serverResponseCode || 'authentication failed';
    return new UserFacingError(
      ErrorType.MailboxAuthFailed,
      redactText(`${where} refused the login: ${reason}`),
    );
  }
  if (e.mailboxMissing) {
    return new UserFacingError(
      ErrorType.MailboxFolderNotFound,
      `the server has no folder "${e.path ?? '?'}"`,
    );
  }
  const detail = e.responseText || e.code || e.message || String(err);
  return new UserFacingError(ErrorType.MailboxUnavailable, redactText(`${where}: ${detail}`), {
    retryable: true,
  });
}
