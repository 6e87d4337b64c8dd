/**
 * A worker told to stop (SIGTERM) while a mailbox's watch (IDLE on a real Dovecot) is in flight exits
 * promptly and cleanly, and the next worker carries on: new mail is stored. The suspect of a CI run that
 * hung 180 s in teardown was a watch that outlived its worker's shutdown. The worker runs in a child
 * process configured like `durable-inbox worker`; the mailbox is connected over MCP as an admin.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { spawnWorker, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { appendAll, note, until, useDovecot, withImap } from '../support/imap.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';

/** Far above a clean shutdown (a second or two), far below the 180 s hang it guards against. */
const SHUTDOWN_BOUND_MS = 30_000;

describe('a worker stopping while an IMAP watch is in flight', () => {
  const imap = useDovecot({ dora: 'dora-imap-password' });
  const env = testEnv({ MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'), MCP_HTTP_PORT: '0' });
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    // The MCP server and client here; the only worker is the child.
    stack = await startTestStack(env, false);
    http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, uniqueName('admin'), key, 'admin');
    mcp = await connectHttp(http.url, key);
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await mcp?.close();
    await http?.close();
    await stack?.shutdown();
  });

  const subjects = () =>
    stack.sql<{ subject: string }[]>`
      select subject from public.emails where tenant_id = ${stack.defaultTenant.id}`.then((rows) =>
      rows.map((r) => r.subject),
    );

  it('exits within the bound on SIGTERM, and the next worker stores new mail', {
    timeout: 240_000,
  }, async () => {
    await withImap(imap.server, 'dora', (c) => appendAll(c, 'INBOX', [note('before-1', 'Before the stop')]));
    workers.push(await spawnWorker(env, () => {}));
    const box = await callOk<{ mailboxId: string; workflowId: string }>(mcp, 'connect_mailbox', {
      host: '127.0.0.1',
      port: imap.server.port,
      tls: 'none',
      username: 'dora',
      password: 'dora-imap-password',
    });
    await until('the first message', subjects, (s) => s.includes('Before the stop'));
    // One folder and IDLE: the watch holds an IDLE session on the worker.
    const handle = stack.client.workflow.getHandle(box.workflowId);
    await until(
      'the watch in flight',
      async () => (await handle.describe()).raw.pendingActivities ?? [],
      (pending) => pending.some((a) => a.activityType?.name === 'watchMailbox' && a.lastHeartbeatTime),
    );

    const first = workers[0]!;
    const started = Date.now();
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      first.once('exit', (code, signal) => resolve({ code, signal })),
    );
    first.kill('SIGTERM');
    const outcome = await Promise.race([
      exited,
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), SHUTDOWN_BOUND_MS)),
    ]);
    expect(outcome).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_BOUND_MS);

    // The next worker carries on: the watch is taken up again and new mail is stored.
    workers.push(await spawnWorker(env, () => {}));
    await withImap(imap.server, 'dora', (c) => appendAll(c, 'INBOX', [note('after-1', 'After the stop')]));
    await until('the message after the stop', subjects, (s) => s.includes('After the stop'), 120_000);
    expect((await subjects()).sort()).toEqual(['After the stop', 'Before the stop']);
    await callOk(mcp, 'disconnect_mailbox', { mailboxId: box.mailboxId });
    const last = workers[1]!;
    const lastExit = new Promise((resolve) => last.once('exit', resolve));
    last.kill('SIGTERM');
    await lastExit;
  });
});
