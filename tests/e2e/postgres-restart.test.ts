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
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, type ProvisionedPostgres, provisionPostgres } from '../../dev-stack/postgres.js';
import { createDb } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';
import type { Stack } from '../../workers/stack.js';
import { expectExactlyStored, startChaosImport } from '../support/chaos.js';
import { startTestStack, testEnv } from '../support/harness.js';

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
    const { generated, http, mcp, handle, progress, ...watched } = await startChaosImport(stack, env, {
      name: 'pgdown',
      messages: 2500,
      underWay: 400,
    });
    worker = watched.child;
    const workerExit = watched.exit;

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
