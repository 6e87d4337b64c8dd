/**
 * What the chaos tests share (tests/e2e/postgres-restart, temporal-restart): a worker child whose death
 * fails the test with its log, an import started over MCP and left well under way, and the check that
 * the import stored exactly the mailbox's unique messages, each once, each with its raw message.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { WorkflowHandle } from '@temporalio/client';
import { expect } from 'vitest';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { mailboxProgressQuery } from '../../workflows/ingest-mailbox.contract.js';
import { spawnWorker } from './harness.js';
import { generateMailbox } from './mbox.js';
import { callOk, connectHttp } from './mcp-clients.js';

export interface WatchedWorker {
  child: ChildProcess;
  /** Rejects, with the tail of the worker's log, if the worker exits. */
  exit: Promise<never>;
}

export async function spawnWatchedWorker(env: Record<string, string>): Promise<WatchedWorker> {
  let log = '';
  const child = await spawnWorker(env, (text) => {
    log += text;
  });
  const exit = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(new Error(`the worker died (code ${code}, signal ${signal}):\n${log.slice(-2000)}`)),
    ),
  );
  exit.catch(() => {}); // observed by the test's races; never an unhandled rejection after it
  return { child, exit };
}

export interface ChaosImport extends WatchedWorker {
  generated: ReturnType<typeof generateMailbox>;
  http: RunningHttpServer;
  mcp: McpClient;
  handle: WorkflowHandle;
  /** Where the import stood when this returned: at least `underWay` messages settled. */
  progress: { done: number; total: number };
}

/**
 * A generated mailbox of `messages` in the tenant's import folder, imported over MCP (HTTP, a key of the
 * default tenant) by a watched worker child, returned once `underWay` messages are settled.
 */
export async function startChaosImport(
  stack: Stack,
  env: Record<string, string>,
  opts: { name: string; messages: number; underWay: number },
): Promise<ChaosImport> {
  const folder = tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug);
  mkdirSync(folder, { recursive: true });
  const generated = generateMailbox(opts.messages, 0.02, 0.06, opts.name);
  writeFileSync(path.join(folder, `${opts.name}.mbox`), generated.mbox);
  const http = await startMcpHttp(stack, createLogger('error'));
  const key = generateApiKey();
  await registerApiKey(stack.sql, stack.defaultTenant.id, 'chaos', key);
  const mcp = await connectHttp(http.url, key);
  const watched = await spawnWatchedWorker(env);
  const started = await callOk<{ workflowId: string }>(mcp, 'ingest_mailbox', {
    path: `${opts.name}.mbox`,
    wait: false,
  });
  const handle = stack.client.workflow.getHandle(started.workflowId);
  const progress = await importUnderWay(handle, opts.underWay);
  return { ...watched, generated, http, mcp, handle, progress };
}

/** Wait until the import has settled at least `done` messages; returns its progress then. */
export async function importUnderWay(
  handle: WorkflowHandle,
  done: number,
): Promise<{ done: number; total: number }> {
  let progress = { done: 0, total: 1 };
  while (progress.done < done) {
    await new Promise((r) => setTimeout(r, 100));
    progress = await handle.query(mailboxProgressQuery).catch(() => progress);
  }
  return progress;
}

/** The tenant's emails are exactly the mailbox's unique messages: each once, each with its raw message. */
export async function expectExactlyStored(stack: Stack, unique: number): Promise<void> {
  const [rows] = await stack.sql`
    select count(*)::int as emails, count(distinct message_id)::int as distinct_ids,
           count(distinct dedup_key)::int as distinct_keys,
           count(*) filter (where raw_file_id is not null)::int as raw_linked
    from public.emails where tenant_id = ${stack.defaultTenant.id}`;
  expect(rows).toEqual({ emails: unique, distinct_ids: unique, distinct_keys: unique, raw_linked: unique });
}
