/**
 * The SMTP listener without a worker: mail is accepted (250) while the worker is down, and stored when
 * one comes back. A crash between the commit and the start of the run (the message recorded, no run) is
 * recovered by the sweep from the staged row. STARTTLS and AUTH when configured.
 */

import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptInbound, recoverInbound } from '../../app/inbound.js';
import { createLogger } from '../../core/logger.js';
import { type RunningSmtpServer, startSmtpServer } from '../../mcp/smtp.js';
import { startSmtp } from '../../workers/inbound-entry.js';
import { inboundDeps } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { spawnWorker, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { message, smtpClient, waitForEmails } from '../support/inbound.js';

describe('inbound SMTP while the worker is down', () => {
  let env: Record<string, string>;
  let stack: Stack;
  let smtp: RunningSmtpServer;
  let worker: ChildProcess | undefined;
  let local: string;
  const log = createLogger('warn');

  beforeAll(async () => {
    env = testEnv();
    stack = await startTestStack(env, false);
    smtp = await startSmtp(stack, log, 0);
    local = `inbox@${stack.defaultTenant.slug}.localhost`;
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = once(worker, 'exit');
      worker.kill('SIGTERM');
      await exited;
    }
    await smtp?.close();
    await stack?.shutdown();
  });

  it('accepts mail with no worker running, and stores it when a worker comes back', async () => {
    const prefix = uniqueName('down');
    const client = smtpClient(smtp.port);
    for (let i = 0; i < 5; i++) {
      const info = await client.sendMail({
        envelope: { from: 'a@remote.example', to: [local] },
        raw: message(`${prefix}-${i}`, { to: local }),
      });
      expect(info.response).toMatch(/^250 /);
    }
    client.close();
    // The five runs start right after their 250s.
    while (smtp.pendingStarts() > 0) await new Promise((r) => setTimeout(r, 50));
    // A crash right after the commit, before the run started: recorded and staged, no run yet.
    const crashed = `${prefix}-crash`;
    const deps = inboundDeps(stack, log);
    await acceptInbound(deps, {
      source: 'smtp',
      raw: new TextEncoder().encode(message(crashed, { to: local })),
      tenants: new Map([[stack.defaultTenant.id, [local]]]),
      envelope: { mailFrom: 'crash@remote.example' },
    });
    const pending = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from public.inbound_messages
      where tenant_id = ${stack.defaultTenant.id} and started_at is null`;
    expect(pending[0]!.n).toBe(1);

    // The five runs are started and wait in the task queue; nothing is stored without a worker.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await waitForEmails(stack.sql, stack.defaultTenant.id, `${prefix}-`, 1, 0)).toHaveLength(0);

    // The sweep (as at the next start, or on its period) starts the crashed message's run.
    expect(await recoverInbound({ ...deps, inbound: { ...deps.inbound, recoveryGraceMs: 0 } })).toBe(1);
    expect(await recoverInbound({ ...deps, inbound: { ...deps.inbound, recoveryGraceMs: 0 } })).toBe(0);

    worker = await spawnWorker(env);
    const rows = await waitForEmails(stack.sql, stack.defaultTenant.id, `${prefix}-`, 6, 90_000);
    expect(rows.map((r) => r.message_id)).toEqual(
      [0, 1, 2, 3, 4, 'crash'].map((i) => `${prefix}-${i}@remote.example`).sort(),
    );
  }, 150_000);

  describe('STARTTLS and AUTH', () => {
    let secured: RunningSmtpServer;
    beforeAll(async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'smtp-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-keyout',
          path.join(dir, 'key.pem'),
          '-out',
          path.join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      secured = await startSmtpServer({
        host: '127.0.0.1',
        port: 0,
        tls: { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) },
        auth: { username: 'relay', password: 'relay-password-123', required: true },
        maxClients: 10,
        maxEmailBytes: stack.config.limits.maxEmailBytes,
        deps: inboundDeps(stack, log),
      });
    });
    afterAll(() => secured?.close());

    const send = (opts: Parameters<typeof smtpClient>[1], id: string) =>
      smtpClient(secured.port, opts)
        .sendMail({ envelope: { from: 'a@remote.example', to: [local] }, raw: message(id, { to: local }) })
        .then(
          (info) => ({ response: info.response, code: 250 }),
          (e: { responseCode?: number; response?: string }) => ({
            response: e.response,
            code: e.responseCode,
          }),
        );

    it('refuses mail before AUTH (530) and a wrong password (535)', async () => {
      const none = await send({ tls: true }, uniqueName('noauth'));
      expect(none.code).toBe(530);
      const wrong = await send({ tls: true, auth: { user: 'relay', pass: 'wrong' } }, uniqueName('bad'));
      expect(wrong).toEqual({ code: 535, response: '535 5.7.8 Authentication credentials invalid' });
    });

    it('accepts over STARTTLS with the right credentials, and records both on the ledger', async () => {
      const id = uniqueName('tls');
      const ok = await send({ tls: true, auth: { user: 'relay', pass: 'relay-password-123' } }, id);
      expect(ok.response).toMatch(/^250 2\.0\.0 Ok: queued as /);
      const [row] = await stack.sql<{ envelope: { tls: boolean; user: string } }[]>`
        select m.envelope from public.inbound_messages m join public.staged_content s
          on s.tenant_id = m.tenant_id and s.sha256 = m.raw_sha256
        where m.tenant_id = ${stack.defaultTenant.id} and convert_from(s.content, 'UTF8') like ${`%${id}@%`}`;
      expect(row?.envelope).toMatchObject({ tls: true, user: 'relay' });
    });
  });
});
