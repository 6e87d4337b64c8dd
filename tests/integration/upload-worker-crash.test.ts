/**
 * A worker SIGKILLed in the middle of a 30 MB resumable upload: a new worker process takes the activity
 * over after the heartbeat timeout and resumes where the server stands (TUS HEAD), against the real
 * Temporal dev server. The stand-in's byte counters prove at most one chunk was sent twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv } from '../support/harness.js';
import { type StorageStandIn, startStorageStandIn } from '../support/storage-stand-in.js';
import { activityAttempts, importFile, startUpload, waitForUploadProgress } from '../support/uploads.js';

const MB = 1024 * 1024;
const CHUNK = 6 * MB;

function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.resolve('tests/support/worker-process.ts')],
    {
      env: { ...process.env, ...env, WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath') },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      if (data.toString().includes('worker-ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
  });
}

describe('upload survives a worker killed mid-upload', () => {
  let standIn: StorageStandIn;
  let env: Record<string, string>;
  let stack: Stack;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    standIn = await startStorageStandIn();
    standIn.buckets.add('archive');
    env = testEnv({ SUPABASE_URL: standIn.url, SUPABASE_SERVICE_ROLE_KEY: standIn.serviceKey });
    env.DURABLE_INBOX_IMPORT_DIR = path.join(env.DURABLE_INBOX_DATA_DIR!, 'import');
    // This process only starts and observes; the workers live in child processes.
    stack = await startTestStack(env, false);
  });
  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await stack?.shutdown();
    await standIn?.close();
  });

  it('resumes on a new worker from the server offset, re-sending at most one chunk', {
    timeout: 150_000,
  }, async () => {
    const size = 30 * MB + 123;
    const file = await importFile(
      path.join(env.DURABLE_INBOX_IMPORT_DIR!, env.DURABLE_INBOX_TENANT!),
      'backup.tar',
      size,
    );
    let release!: () => void;
    // Park the third chunk: the first two are acknowledged and heartbeated, then the worker dies.
    standIn.inject({
      route: 'tus-patch',
      fromOffset: 2 * CHUNK,
      hold: new Promise<void>((r) => (release = r)),
    });

    const first = await startWorkerProcess(env);
    children.push(first);
    const handle = await startUpload(stack.client, env, stack.defaultTenant.id, 'archive', file);

    // Wait until the heartbeat (what the MCP tool reports as progress) shows two chunks sent.
    const sent = await waitForUploadProgress(handle, 2 * CHUNK);
    expect(sent).toBe(2 * CHUNK);

    first.kill('SIGKILL');
    await once(first, 'exit');
    release();
    children.push(await startWorkerProcess(env));

    const result = await handle.result();
    expect(standIn.object('archive', result.path)?.equals(file.bytes)).toBe(true);
    expect(standIn.count('tus-create')).toBe(1);
    expect(standIn.count('tus-head')).toBeGreaterThanOrEqual(1);
    const resent = standIn.bodyBytes('tus-patch') - size;
    expect(resent).toBeGreaterThanOrEqual(0);
    expect(resent).toBeLessThanOrEqual(CHUNK);
    const attempts = await activityAttempts(handle, 'uploadFileObject');
    expect(attempts.map((a) => a.attempt)).toEqual([2]);
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
  });
});
