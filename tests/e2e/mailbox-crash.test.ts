/**
 * Crash safety: SIGKILL the worker process in the middle of an mbox import, start a new one, and the
 * batch completes with every message stored exactly once and exact counts. Real dev server, real Postgres.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { mailboxProgressQuery } from '../../workflows/ingest-mailbox.contract.js';
import { spawnWorker, startTestStack, testEnv } from '../support/harness.js';
import { generateMailbox } from '../support/mbox.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';

describe('mbox import survives a killed worker', () => {
  const workers: ChildProcess[] = [];
  let stack: Stack | undefined;
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await stack?.shutdown();
  });

  it('completes on a new worker with every message stored exactly once', { timeout: 420_000 }, async () => {
    const env = testEnv({ MCP_HTTP_PORT: '0', MAILBOX_CHUNK_MESSAGES: '100', MAILBOX_CONCURRENCY: '1' });
    stack = await startTestStack(env, false); // this process only starts and watches; workers run apart
    mkdirSync(tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug), { recursive: true });
    const generated = generateMailbox(4000, 0.03, 0.05, 'crash');
    writeFileSync(
      path.join(tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug), 'crash.mbox'),
      generated.mbox,
    );
    const http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'crash', key);
    const mcp = await connectHttp(http.url, key);

    workers.push(await spawnWorker(env));
    const started = await callOk<{ workflowId: string }>(mcp, 'ingest_mailbox', {
      path: 'crash.mbox',
      wait: false,
    });
    const handle = stack.client.workflow.getHandle(started.workflowId);

    let progress = { done: 0, total: 1 };
    while (progress.done < 500) {
      await new Promise((r) => setTimeout(r, 100));
      progress = await handle.query(mailboxProgressQuery).catch(() => progress);
    }
    workers[0]!.kill('SIGKILL');
    // The kill must land mid-batch, or this test proves nothing.
    expect(progress.done).toBeLessThan(progress.total);

    workers.push(await spawnWorker(env));
    const report = (await handle.result()) as Record<string, number>;
    expect(report).toMatchObject({
      scanned: 4000,
      pending: 0,
      stored: generated.unique,
      duplicates: generated.duplicates,
      failed: generated.bad,
      rawNotArchived: 0,
    });
    const tenant = stack.defaultTenant.id;
    const [rows] = await stack.sql`
      select count(*)::int as emails, count(distinct message_id)::int as distinct_ids,
             (select count(*) from public.mailbox_messages
               where tenant_id = ${tenant} and status = 'stored')::int as ledger_stored
      from public.emails where tenant_id = ${tenant}`;
    expect(rows).toEqual({
      emails: generated.unique,
      distinct_ids: generated.unique,
      ledger_stored: generated.unique,
    });
    // Every stored email's raw message reached storage exactly once, whichever worker sent it.
    const [raw] = await stack.sql`
      select (select count(*) from public.emails where tenant_id = ${tenant} and raw_file_id is not null)::int as linked,
             count(*)::int as files, count(*) filter (where status = 'uploaded')::int as uploaded
      from public.files where tenant_id = ${tenant} and bucket = 'raw-messages'`;
    expect(raw).toEqual({ linked: generated.unique, files: generated.unique, uploaded: generated.unique });
    await mcp.close();
    await http.close();
  });
});
