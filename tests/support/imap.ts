/**
 * A real IMAP server for a test file (dev-stack/dovecot.ts) and imapflow as the client that plays the
 * other side of the mailbox: APPEND mail, set flags, expunge, recreate a folder (a new UIDVALIDITY).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll } from 'vitest';
import { type ProvisionedDovecot, provisionDovecot } from '../../dev-stack/dovecot.js';
import { FIXTURES } from './fixtures.js';

/** Dovecot for the file, with these users (name → password); `qresync: false` for a server without it. */
export function useDovecot(
  users: Record<string, string>,
  options: { qresync?: boolean } = {},
): { server: ProvisionedDovecot } {
  const t = {} as { server: ProvisionedDovecot };
  beforeAll(async () => {
    t.server = await provisionDovecot({ users, log: () => {}, ...options });
  });
  afterAll(async () => {
    await t.server?.stop();
  });
  return t;
}

export async function imapAs(server: ProvisionedDovecot, user: string): Promise<ImapFlow> {
  const client = new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass: server.users[user]! },
    logger: false,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Open a session as `user`, run `fn`, log out. */
export async function withImap<T>(
  server: ProvisionedDovecot,
  user: string,
  fn: (client: ImapFlow) => Promise<T>,
): Promise<T> {
  const client = await imapAs(server, user);
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

export interface Appended {
  uid: number;
  uidValidity: string;
}

/** APPEND each message (its internal date `date`, default now); returns UIDs (UIDPLUS). */
export async function appendAll(
  client: ImapFlow,
  folder: string,
  messages: (string | Buffer | { raw: string | Buffer; date?: Date; flags?: string[] })[],
): Promise<Appended[]> {
  const out: Appended[] = [];
  for (const m of messages) {
    const { raw, date, flags } = typeof m === 'string' || Buffer.isBuffer(m) ? { raw: m } : m;
    const result = await client.append(folder, raw, flags ?? [], date);
    if (result === false || !result.uid) throw new Error(`APPEND to ${folder} gave no UID`);
    out.push({ uid: result.uid, uidValidity: String(result.uidValidity) });
  }
  return out;
}

/** Delete and create the folder again: every UID is new, and so is its UIDVALIDITY. */
export async function recreateFolder(client: ImapFlow, folder: string): Promise<void> {
  await client.mailboxDelete(folder);
  await client.mailboxCreate(folder);
}

export async function setFlags(
  client: ImapFlow,
  folder: string,
  uid: number,
  flags: string[],
): Promise<void> {
  const lock = await client.getMailboxLock(folder);
  try {
    await client.messageFlagsAdd(String(uid), flags, { uid: true });
  } finally {
    lock.release();
  }
}

/** Mark deleted and EXPUNGE (UID EXPUNGE with UIDPLUS). */
export async function expunge(client: ImapFlow, folder: string, uid: number): Promise<void> {
  const lock = await client.getMailboxLock(folder);
  try {
    await client.messageDelete(String(uid), { uid: true });
  } finally {
    lock.release();
  }
}

/** The fixture emails (tests/fixtures/emails), each a distinct message. */
export function fixtureEmails(): { name: string; raw: Buffer }[] {
  const dir = path.join(FIXTURES, 'emails');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((name) => ({ name, raw: readFileSync(path.join(dir, name)) }));
}

/** A small distinct message. */
export function note(id: string, subject = `Note ${id}`): string {
  return [
    'From: Sender <sender@example.com>',
    'To: inbox@example.com',
    `Subject: ${subject}`,
    `Message-ID: <${id}@imap.test>`,
    `Date: ${new Date().toUTCString()}`,
    '',
    `Body of ${id}.`,
    '',
  ].join('\r\n');
}

/**
 * Message bodies the server sent `user` in sessions that ended after `fromByte` of its log (Dovecot logs
 * `body_count=` at each logout). Take `logSize` before the action, read this after.
 */
export function bodiesFetched(server: ProvisionedDovecot, user: string, fromByte: number): number {
  const text = readFileSync(server.logFile).subarray(fromByte).toString('utf8');
  let total = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`imap\\(${user}\\).* body_count=(\\d+)`).exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

export function logSize(server: ProvisionedDovecot): number {
  return statSync(server.logFile).size;
}

/** Read until `ok` holds (the sync is asynchronous), or fail saying what was last read. */
export async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}
