/**
 * What the chaos tests share (tests/e2e/postgres-restart, temporal-restart): a worker child whose death
 * fails the test with its log, the wait until an import is well under way, and the check that the
 * import stored exactly the mailbox's unique messages, each once, each with its raw message.
 */
import type { ChildProcess } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import { expect } from 'vitest';
import type { Stack } from '../../workers/stack.js';
import { mailboxProgressQuery } from '../../workflows/ingest-mailbox.contract.js';
import { spawnWorker } from './harness.js';

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
