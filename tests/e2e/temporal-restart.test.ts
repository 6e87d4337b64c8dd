/**
 * Chaos: the Temporal server is SIGKILLed in the middle of an mbox import and started again 10 s later on
 * its database file (issue 14, item 6). The worker process (a child, as `durable-inbox worker` runs it)
 * must ride it out, and the import must finish by itself, with exact counts and no key stored twice.
 * On a dev server of its own: the shared one must never go down under other test files.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev-stack/temporal-dev-server.js';
import { freePort } from '../../dev-stack/util.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import type { Stack } from '../../workers/stack.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { expectExactlyStored, startChaosImport } from '../support/chaos.js';
import { startTestStack, testEnv } from '../support/harness.js';

const DOWN_MS = 10_000;

describe('a Temporal server crash mid-import', () => {
  let temporal: TemporalDevServer | undefined;
  let worker: ChildProcess | undefined;
  let stack: Stack | undefined;
  let http: RunningHttpServer | undefined;
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await http?.close();
    await stack?.shutdown().catch(() => {});
    await temporal?.stop();
  });

  it('the import finishes by itself after a restart on the same database file, exactly', {
    timeout: 360_000, // 2 min beside other runs on a shared machine; generous, still a hang guard
  }, async () => {
    const cliPath = await resolveTemporalCli({ log: () => {} });
    const server = {
      cliPath,
      dbFilename: path.join(mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-temporal-')), 'temporal.db'),
      port: await freePort('127.0.0.1'),
      headless: true,
      searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const])),
      log: () => {},
    };
    temporal = await startTemporalDevServer(server);

    const env = testEnv({
      TEMPORAL_ADDRESS: temporal.address,
      MCP_HTTP_PORT: '0',
      MAILBOX_CHUNK_MESSAGES: '200',
      MAILBOX_CONCURRENCY: '4',
    });
    stack = await startTestStack(env, false); // this process starts and watches; the worker runs apart
    const { generated, mcp, handle, progress, ...watched } = await startChaosImport(stack, env, {
      name: 'tdown',
      messages: 1500,
      underWay: 300,
    });
    http = watched.http;
    worker = watched.child;
    const workerExit = watched.exit;
    // The fault must land mid-import, or this test proves nothing.
    expect(progress.done).toBeLessThan(progress.total);

    await temporal.kill();
    await Promise.race([new Promise((r) => setTimeout(r, DOWN_MS)), workerExit]);
    temporal = await startTemporalDevServer(server);

    // Nobody steps in: the worker reconnects and the run goes on from its persisted history.
    const report = (await Promise.race([completed(handle), workerExit])) as Record<string, number>;
    expect(report).toMatchObject({
      scanned: 1500,
      pending: 0,
      stored: generated.unique,
      duplicates: generated.duplicates,
      failed: generated.bad,
      rawNotArchived: 0,
      attachmentsFailed: 0,
    });
    expect(watched.child.exitCode).toBeNull();
    await expectExactlyStored(stack, generated.unique);
    await mcp.close().catch(() => {});
  });
});

/** The run's result once it completes, asking again while the server comes back. */
async function completed(handle: { result(): Promise<unknown> }): Promise<unknown> {
  for (;;) {
    try {
      return await handle.result();
    } catch (err) {
      if ((err as { name?: string }).name === 'WorkflowFailedError') throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
