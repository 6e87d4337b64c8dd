/**
 * Chaos: Postgres crashes (`pg_ctl stop -m immediate`) in the middle of an mbox import and comes back
 * 15 s later. The worker process (a child, as `durable-inbox worker` runs it) must live through it, and the
 * import must finish by itself with exact counts and no key stored twice. On its own cluster: the shared
 * test database must never go down under other test files.
 *
 * Before the postgres.js patch (patches/postgres+3.4.9.patch) the worker died here of
 * `TypeError: Cannot read properties of null (reading 'write')` at nextWrite, thrown from a setImmediate.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import { createDatabase, type ProvisionedPostgres, provisionPostgres } from '../../dev-stack/postgres.js';
import { createDb } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { expectExactlyStored, importUnderWay, spawnWatchedWorker } from '../support/chaos.js';
import { startTestStack, testEnv } from '../support/harness.js';
import { generateMailbox } from '../support/mbox.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';

const DOWN_MS = 15_000;

describe('a Postgres restart mid-import', () => {
  let pg: ProvisionedPostgres | undefined;
  let worker: ChildProcess | undefined;
  let stack: Stack | undefined;
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await stack?.shutdown().catch(() => {});
    await pg?.stop();
  });

  it('the worker survives and the import finishes with exact counts', { timeout: 300_000 }, async () => {
    pg = await provisionPostgres({ own: true, durable: true, log: () => {} });
    const url = await createDatabase(pg.url, 'chaos_restart');
    const admin = createDb({ url, max: 1 });
    await migrate(admin);
    await admin.end();

    const env = testEnv({
      DATABASE_URL: url,
      MCP_HTTP_PORT: '0',
      MAILBOX_CHUNK_MESSAGES: '200',
      MAILBOX_CONCURRENCY: '4',
    });
    stack = await startTestStack(env, false); // this process starts and watches; the worker runs apart
    const folder = tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug);
    mkdirSync(folder, { recursive: true });
    const generated = generateMailbox(2500, 0.02, 0.06, 'pgdown');
    writeFileSync(path.join(folder, 'pgdown.mbox'), generated.mbox);
    const http = await startMcpHttp(stack, createLogger('error'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'chaos', key);
    const mcp = await connectHttp(http.url, key);

    const watched = await spawnWatchedWorker(env);
    worker = watched.child;
    const workerExit = watched.exit;
    const started = await callOk<{ workflowId: string }>(mcp, 'ingest_mailbox', {
      path: 'pgdown.mbox',
      wait: false,
    });
    const handle = stack.client.workflow.getHandle(started.workflowId);
    const progress = await importUnderWay(handle, 400);

    // Crash while the worker is inside a transaction (a slice's upserts): then postgres.js 3.4.9 writes
    // the ROLLBACK of sql.begin() on the connection whose socket closed() has just nulled.
    const watcher = createDb({ url, max: 1 });
    for (let seen = 0; seen === 0; ) {
      const [row] = await watcher<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
          and state in ('active', 'idle in transaction')`;
      seen = row!.n;
    }
    await pg.crash?.();
    await watcher.end({ timeout: 1 }).catch(() => {});
    // The fault must land mid-import, or this test proves nothing.
    expect(progress.done).toBeLessThan(progress.total);
    await Promise.race([new Promise((r) => setTimeout(r, DOWN_MS)), workerExit]);
    await pg.restart?.();

    const report = (await Promise.race([handle.result(), workerExit])) as Record<string, number>;
    expect(report).toMatchObject({
      scanned: 2500,
      pending: 0,
      stored: generated.unique,
      duplicates: generated.duplicates,
      failed: generated.bad,
      rawNotArchived: 0,
    });
    expect(watched.child.exitCode).toBeNull();
    await expectExactlyStored(stack, generated.unique);
    await mcp.close().catch(() => {});
    await http.close();
  });
});
