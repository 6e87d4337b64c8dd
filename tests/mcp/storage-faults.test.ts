/**
 * A local disk fault while an email's files go to storage (issue 14): the email is stored, the raw
 * message and the attachment fail after a short schedule (FS_FAULT_ATTEMPTS attempts, seconds, not 12
 * over minutes), the caller reads the bucket and the cause and no server path, and the `files` rows the
 * given-up uploads left are `failed` with the reason, not `pending`.
 *
 * The fault is real: a file where the tenant's directory in the bucket must be (ENOTDIR), which stops
 * root too (the suite runs as root, for whom chmod 000 stops nothing; EACCES itself is covered by
 * tests/integration/filesystem-faults.test.ts with an unprivileged writer).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { FS_FAULT_ATTEMPTS } from '../../supabase/storage/filesystem.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { connectHttp, ingestToEnd } from '../support/mcp-clients.js';

const MESSAGE =
  'From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: disk fault\r\nMessage-ID: <disk-fault@faults.test>\r\n' +
  'Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
  '--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n' +
  '--b\r\nContent-Type: text/plain; name="a.txt"\r\nContent-Disposition: attachment; filename="a.txt"\r\n\r\n' +
  'the attachment\r\n--b--\r\n';

interface IngestOut {
  emailId: string;
  attachments: { status: string; error?: string }[];
  rawMessage?: { status: string; error?: string };
}

describe('storage faults on the filesystem backend', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0', AI_ANALYSIS_ON_INGEST: 'false' }));
    http = await startMcpHttp(stack, createLogger('error'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, uniqueName('faults'), key, 'member');
    mcp = await connectHttp(http.url, key);
  }, 120_000);

  afterAll(async () => {
    await mcp?.close();
    await http?.close();
    await stack?.shutdown();
  });

  it('gives up after a few attempts, says which bucket and why, and marks the files failed', {
    timeout: 120_000,
  }, async () => {
    if (stack.config.storage.kind !== 'filesystem') throw new Error('the test stack uses filesystem storage');
    const root = stack.config.storage.root;
    const tenant = stack.defaultTenant.id;
    for (const bucket of ['raw-messages', 'attachments']) {
      mkdirSync(path.join(root, bucket), { recursive: true });
      writeFileSync(path.join(root, bucket, tenant), 'a file where a directory must be');
    }

    const out = await ingestToEnd<IngestOut>(mcp, { raw: MESSAGE, wait: true });
    expect(out.emailId).toBeTruthy();
    const cause = 'writing the object failed: a file is where a directory must be (ENOTDIR)';
    expect(out.rawMessage).toEqual({
      status: 'failed',
      error: expect.stringContaining(
        `StorageUnavailable: storage kept failing (StorageMisconfigured): bucket "raw-messages": ${cause}`,
      ),
    });
    expect(out.attachments).toEqual([
      {
        ...out.attachments[0],
        status: 'failed',
        error: expect.stringContaining(`bucket "attachments": ${cause}`),
      },
    ]);
    const text = JSON.stringify(out);
    expect(text).not.toContain(root);
    expect(text).not.toContain(path.dirname(root));

    const files = await stack.sql<{ bucket: string; status: string; error: string | null }[]>`
      select bucket, status, error from public.files where tenant_id = ${tenant} order by bucket`;
    expect(files).toEqual([
      { bucket: 'attachments', status: 'failed', error: expect.stringContaining('(ENOTDIR)') },
      { bucket: 'raw-messages', status: 'failed', error: expect.stringContaining('(ENOTDIR)') },
    ]);
    for (const f of files) expect(f.error).not.toContain(root);

    // A short schedule: the uploads' activities ran FS_FAULT_ATTEMPTS times, not their policy's 8 or 12.
    const attempts = await activityAttempts(stack, tenant);
    expect(attempts.length).toBeGreaterThan(0);
    for (const n of attempts) expect(n).toBe(FS_FAULT_ATTEMPTS);
  });
});

/** The attempt count of every failed files-queue activity in the runs of this tenant. */
async function activityAttempts(stack: Stack, tenant: string): Promise<number[]> {
  const attempts: number[] = [];
  for await (const run of stack.client.workflow.list({ query: `TenantId = "${tenant}"` })) {
    const history = await stack.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    for (const event of history.events ?? []) {
      const failed = event.activityTaskFailedEventAttributes;
      if (failed?.failure?.applicationFailureInfo?.type === 'StorageUnavailable') {
        const scheduled = history.events?.find((e) => Number(e.eventId) === Number(failed.scheduledEventId));
        if (scheduled?.activityTaskScheduledEventAttributes) {
          const started = history.events?.find((e) => Number(e.eventId) === Number(failed.startedEventId));
          attempts.push(started?.activityTaskStartedEventAttributes?.attempt ?? 0);
        }
      }
    }
  }
  return attempts;
}
