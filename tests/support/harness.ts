/**
 * Test support: configuration pointing at the run's real services, a stack with a worker on a private
 * task queue (so test files never steal each other's tasks), fixtures, and visibility helpers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { parseKeyRing } from '../../core/payload-keys.js';
import { createDb, type Sql } from '../../supabase/db.js';
import { dataConverterFor } from '../../temporal/data-converter.js';
import { type Stack, startStack } from '../../workers/stack.js';

export { FIXTURES, fixture, fixtureBytes } from './fixtures.js';

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * The payload key ring and search-attribute key every test stack uses: a shared Temporal means both
 * are required (core/config.ts), so tests run what production runs, histories encrypted.
 */
export const TEST_PAYLOAD_KEYS = `test-1:${Buffer.alloc(32, 7).toString('base64')}`;
export const TEST_SEARCH_ATTRIBUTE_HMAC_KEY = 'test-search-attribute-hmac-key-0123456789';

/** Environment for the app (in-process or spawned) that targets this run's services. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: uniqueName('test-queue'),
    TEMPORAL_FILES_TASK_QUEUE: uniqueName('test-files'),
    // LLM queues too: a test file's rate limit and worker never meet another file's.
    TEMPORAL_AI_TASK_QUEUE_PREFIX: `${uniqueName('ai')}-`,
    DURABLE_INBOX_TENANT: uniqueName('org'),
    DURABLE_INBOX_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-test-')),
    TEMPORAL_UI_URL: 'http://localhost:8233',
    PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS,
    SEARCH_ATTRIBUTE_HMAC_KEY: TEST_SEARCH_ATTRIBUTE_HMAC_KEY,
    LOG_LEVEL: 'warn',
    // Webhook receivers in tests listen on loopback over plain http (one test turns this off).
    WEBHOOK_ALLOW_PRIVATE: 'true',
    // Workers in tests never create the retention schedule: it would keep firing into a task queue that
    // nobody polls once the test is over. Schedule tests turn it on with their own schedule id.
    RETENTION_SCHEDULE_ENABLED: 'false',
    // The buckets test files upload into: known because the worker creates them at start, as in
    // production; any other name is NoSuchBucket.
    STORAGE_BUCKETS:
      'uploads,docs,media,names,permissions,folders,door-files,archive,images,vectors,buckets-a,buckets-b',
    ...overrides,
  };
}

/** Options for Worker.runReplayHistory: the run's bundle, and the codec its histories are encrypted with. */
export function replayOptions() {
  const ring = parseKeyRing(TEST_PAYLOAD_KEYS);
  if ('error' in ring) throw new Error(ring.error);
  return {
    workflowBundle: { codePath: inject('workflowBundlePath') },
    dataConverter: dataConverterFor(ring),
  };
}

/** A stack with a worker using the run's prebuilt workflow bundle. */
export function startTestStack(env: Record<string, string>, runWorker = true): Promise<Stack> {
  return startStack(loadConfig(env), {
    log: createLogger('warn'),
    runWorker,
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
}

export function testDb(): Sql {
  return createDb({ url: inject('databaseUrl'), max: 4 });
}

/** How many executions (runs) visibility holds for a workflow id, once it has settled. */
export async function runCount(client: Client, workflowId: string): Promise<number> {
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const { count } = await client.workflow.count(`WorkflowId = '${workflowId.replaceAll("'", "\\'")}'`);
    if (count > 0 && count === last) return count;
    last = count;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

/** Run `durable-inbox <args>` (bin/durable-inbox.mjs) with only this environment; never throws. */
export async function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.resolve('bin/durable-inbox.mjs'), ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Start tests/support/worker-process.ts in a child process; resolves once its worker runs. With
 * `onStderr` its log lines go there instead of this process's stderr.
 */
export async function spawnWorker(
  env: Record<string, string>,
  onStderr?: (text: string) => void,
): Promise<import('node:child_process').ChildProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.resolve('tests/support/worker-process.ts')],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...env,
        WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      },
      stdio: ['ignore', 'pipe', onStderr ? 'pipe' : 'inherit'],
    },
  );
  child.stderr?.on('data', (d: Buffer) => onStderr?.(d.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('worker-ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
  });
  return child;
}
