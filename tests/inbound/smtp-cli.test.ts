/**
 * `durable-inbox smtp` as an operator runs it: the listener in its own process on SMTP_INBOUND_PORT,
 * the worker elsewhere (here, this test's stack on the same task queue). Mail sent to it is stored, and
 * SIGTERM stops it cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { message, smtpClient, waitForEmails } from '../support/inbound.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('durable-inbox smtp', () => {
  let stack: Stack;
  let child: ChildProcess;
  let port: number;
  let stdout = '';

  beforeAll(async () => {
    port = await freePort();
    const env = testEnv({ SMTP_INBOUND_PORT: String(port) });
    stack = await startTestStack(env);
    child = spawn(process.execPath, [path.resolve('bin/durable-inbox.mjs'), 'smtp'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('smtp listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`durable-inbox smtp exited early (${code})`)));
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await stack?.shutdown();
  });

  it('listens where configured, stores what it accepts, and stops on SIGTERM', async () => {
    expect(stdout).toContain(`smtp listening on 127.0.0.1:${port}`);
    const to = `inbox@${stack.defaultTenant.slug}.localhost`;
    const id = uniqueName('cli');
    const info = await smtpClient(port).sendMail({
      envelope: { from: 'a@remote.example', to: [to] },
      raw: message(id, { to }),
    });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as /);
    expect(await waitForEmails(stack.sql, stack.defaultTenant.id, `${id}@`, 1)).toHaveLength(1);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
  });
});
