/**
 * Crash safety of the IMAP sync: SIGKILL the worker process in the middle of a mailbox's initial sync,
 * start a new one, and the sync completes with every message stored exactly once (one email, one
 * ledger row per UID). Real Dovecot, real dev server, real Postgres, worker in its own process.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { spawnWorker, startTestStack, testEnv } from '../support/harness.js';
import { appendAll, note, useDovecot, withImap } from '../support/imap.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';

const MESSAGES = 400;

describe('IMAP initial sync survives a killed worker', () => {
  const imap = useDovecot({ crash: 'crash-imap-password' });
  const workers: ChildProcess[] = [];
  let stack: Stack | undefined;
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await stack?.shutdown();
  });

  it('completes on a new worker with every message stored exactly once', { timeout: 240_000 }, async () => {
    await withImap(imap.server, 'crash', (c) =>
      appendAll(
        c,
        'INBOX',
        Array.from({ length: MESSAGES }, (_, i) => note(`crash-${i}`)),
      ),
    );
    const env = testEnv({
      MCP_HTTP_PORT: '0',
      MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
      MAILBOX_SYNC_BATCH: '10',
    });
    stack = await startTestStack(env, false); // this process only serves MCP; workers run apart
    const http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'crash', key, 'admin');
    const mcp = await connectHttp(http.url, key);
    const tenant = stack.defaultTenant.id;
    const ledger = async () =>
      (
        await stack!.sql<{ n: number }[]>`
          select count(*)::int as n from public.imap_messages where tenant_id = ${tenant}`
      )[0]!.n;

    workers.push(await spawnWorker(env));
    const box = await callOk<{ mailboxId: string }>(mcp, 'connect_mailbox', {
      host: '127.0.0.1',
      port: imap.server.port,
      tls: 'none',
      username: 'crash',
      password: 'crash-imap-password',
    });
    while ((await ledger()) < 60) await new Promise((r) => setTimeout(r, 50));
    workers[0]!.kill('SIGKILL');
    const atKill = await ledger();
    // The kill must land mid-sync, or this test proves nothing.
    expect(atKill).toBeLessThan(MESSAGES);

    workers.push(await spawnWorker(env));
    for (let i = 0; i < 600; i++) {
      const d = await callOk<{ status: string; folderProgress: { initialSync: { complete: boolean } }[] }>(
        mcp,
        'get_mailbox',
        { mailboxId: box.mailboxId },
      );
      if (d.status === 'idle' && d.folderProgress[0]?.initialSync.complete) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const [rows] = await stack.sql`
      select count(*)::int as emails, count(distinct message_id)::int as distinct_ids,
             (select count(*) from public.imap_messages where tenant_id = ${tenant})::int as ledger,
             (select count(distinct uid) from public.imap_messages where tenant_id = ${tenant})::int as uids,
             (select count(*) from public.imap_messages
               where tenant_id = ${tenant} and status = 'stored')::int as stored
      from public.emails where tenant_id = ${tenant}`;
    expect(rows).toEqual({
      emails: MESSAGES,
      distinct_ids: MESSAGES,
      ledger: MESSAGES,
      uids: MESSAGES,
      stored: MESSAGES,
    });
    await mcp.close();
    await http.close();
  });
});
