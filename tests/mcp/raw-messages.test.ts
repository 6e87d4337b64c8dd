/**
 * The raw message of every stored email is kept in storage (bucket `raw-messages`), byte for byte, and
 * linked from emails.raw_file_id. Over MCP on the real stack, once with filesystem storage and once
 * against the Supabase Storage stand-in: stored once, retried when storage is down, and a message that
 * cannot be stored leaves the email stored and is completed by ingesting again.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { setBucketRules } from '../../supabase/files.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { replayOptions, startTestStack, testEnv } from '../support/harness.js';
import { callOk, connectHttp, ingestToEnd, runOutcome } from '../support/mcp-clients.js';
import { type StorageStandIn, startStorageStandIn } from '../support/storage-stand-in.js';
import { activityAttempts } from '../support/uploads.js';

const BUCKET = 'raw-messages';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function message(id: string): string {
  return (
    `From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: raw ${id}\r\nMessage-ID: <${id}@raw.test>\r\n` +
    `Date: Mon, 16 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
    `Body of ${id}: keep me exactly, trailing spaces too.   \r\n`
  );
}

interface IngestOut {
  workflowId: string;
  runId: string;
  emailId: string;
  threadId?: string;
  rawMessage: { status: string; error?: string };
}

interface RawFile {
  fileId: string;
  bucket: string;
  path: string;
  sizeBytes: number;
}

async function startMcp(env: Record<string, string>) {
  const stack = await startTestStack(env);
  const http = await startMcpHttp(stack, createLogger('warn'));
  const key = generateApiKey();
  await registerApiKey(stack.sql, stack.defaultTenant.id, 'raw', key);
  return { stack, http, mcp: await connectHttp(http.url, key) };
}

/** The email's raw_file_id and the file row it points to. */
async function linkedFile(stack: Stack, emailId: string) {
  const [row] = await stack.sql`
    select e.raw_file_id, f.bucket, f.storage_path, f.status, f.sha256, f.size_bytes::int as size
    from public.emails e left join public.files f on f.id = e.raw_file_id where e.id = ${emailId}`;
  return row!;
}

describe('raw messages in filesystem storage', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;

  beforeAll(async () => {
    ({ stack, http, mcp } = await startMcp(testEnv({ MCP_HTTP_PORT: '0' })));
  });
  afterAll(async () => {
    await mcp?.close();
    await http?.close();
    await stack?.shutdown();
  });

  it('stores the raw message byte for byte, links it, and stores it once', async () => {
    const raw = message('kept');
    const out = await ingestToEnd<IngestOut>(mcp, { raw });
    expect(out.rawMessage).toEqual({ status: 'stored' });

    const row = await linkedFile(stack, out.emailId);
    expect(row).toMatchObject({ bucket: BUCKET, status: 'uploaded', sha256: sha(raw), size: raw.length });
    if (stack.config.storage.kind !== 'filesystem') throw new Error('this stack uses filesystem storage');
    const onDisk = await readFile(path.join(stack.config.storage.root, BUCKET, row.storage_path as string));
    expect(onDisk.equals(Buffer.from(raw))).toBe(true);

    const email = await callOk<{ rawFile: RawFile | null; rawSha256: string }>(mcp, 'get_email', {
      emailId: out.emailId,
    });
    expect(email.rawFile).toEqual({
      fileId: row.raw_file_id,
      bucket: BUCKET,
      path: row.storage_path,
      sizeBytes: raw.length,
    });
    expect(email.rawSha256).toBe(sha(raw));

    // The same message again joins the stored run; there is still one file for it.
    const again = await ingestToEnd<IngestOut>(mcp, { raw });
    expect(again.runId).toBe(out.runId);
    const [files] = await stack.sql`
      select count(*)::int as n from public.files where bucket = ${BUCKET} and sha256 = ${sha(raw)}`;
    expect(files!.n).toBe(1);
  });

  it('keeps the email when its raw message is refused, and a later ingestion completes it', async () => {
    const raw = message('refused');
    const tenant = stack.defaultTenant.id;
    await setBucketRules(stack.sql, tenant, BUCKET, { sizeLimitBytes: 64, allowedMimeTypes: null });

    const first = await ingestToEnd<IngestOut>(mcp, { raw });
    expect(first.rawMessage.status).toBe('failed');
    expect(first.rawMessage.error).toMatch(/^EntityTooLarge: .*limit of bucket "raw-messages"/);
    const before = await linkedFile(stack, first.emailId);
    expect(before.raw_file_id).toBeNull();
    const [refused] = await stack.sql`
      select status, error from public.files where tenant_id = ${tenant} and bucket = ${BUCKET} and sha256 = ${sha(raw)}`;
    expect(refused).toMatchObject({ status: 'failed', error: expect.stringMatching(/^EntityTooLarge/) });
    const email = await callOk<{ rawFile: RawFile | null; subject: string }>(mcp, 'get_email', {
      emailId: first.emailId,
    });
    expect(email).toMatchObject({ rawFile: null, subject: 'raw refused' });

    await setBucketRules(stack.sql, tenant, BUCKET, { sizeLimitBytes: null, allowedMimeTypes: null });
    const again = await ingestToEnd<IngestOut>(mcp, { raw });
    expect(again.emailId).toBe(first.emailId);
    expect(again.runId).not.toBe(first.runId);
    expect(again.rawMessage).toEqual({ status: 'stored' });
    expect(await linkedFile(stack, first.emailId)).toMatchObject({ status: 'uploaded', sha256: sha(raw) });
  });
});

describe('raw messages in Supabase Storage (stand-in)', () => {
  let standIn: StorageStandIn;
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;

  beforeAll(async () => {
    standIn = await startStorageStandIn();
    ({ stack, http, mcp } = await startMcp(
      testEnv({
        MCP_HTTP_PORT: '0',
        SUPABASE_URL: standIn.url,
        SUPABASE_SERVICE_ROLE_KEY: standIn.serviceKey,
        STORAGE_BUCKETS: 'uploads',
        // The answer through the run's `stored` update, as a server without its own worker gets it (with
        // eager start the store step's notice answers: tests/mcp/eager-ingest.test.ts).
        TEMPORAL_EAGER_START: 'false',
      }),
    ));
  });
  afterAll(async () => {
    await mcp?.close();
    await http?.close();
    await stack?.shutdown();
    await standIn?.close();
  });

  it('creates its buckets and STORAGE_BUCKETS, private, when the worker starts; a second start finds them', async () => {
    expect(Object.fromEntries(standIn.bucketsPublic)).toEqual({
      attachments: false,
      [BUCKET]: false,
      uploads: false,
    });
    const again = await startTestStack(
      testEnv({
        SUPABASE_URL: standIn.url,
        SUPABASE_SERVICE_ROLE_KEY: standIn.serviceKey,
        STORAGE_BUCKETS: 'uploads',
      }),
    );
    await again.shutdown();
    // Each start asks for all three; the second one's answers were "already exists".
    expect(standIn.count('bucket-create')).toBe(6);
    expect(standIn.buckets).toEqual(new Set(['attachments', BUCKET, 'uploads']));
  });

  it('fails fast on a missing bucket, without losing the email', async () => {
    // Someone deleted the bucket after the worker started.
    standIn.buckets.delete(BUCKET);
    standIn.reset();
    const raw = message('no-bucket');
    const out = await ingestToEnd<IngestOut>(mcp, { raw });
    expect(out.rawMessage.status).toBe('failed');
    expect(out.rawMessage.error).toMatch(/^NoSuchBucket: /);
    // Non-retryable: one request, one attempt.
    expect(standIn.count('object-upload')).toBe(1);
    const handle = stack.client.workflow.getHandle(out.workflowId, out.runId);
    expect((await activityAttempts(handle, 'archiveRawMessages')).map((a) => a.attempt)).toEqual([1]);
    expect((await linkedFile(stack, out.emailId)).raw_file_id).toBeNull();
  });

  it('retries while storage answers 503, then stores the bytes', async () => {
    standIn.reset();
    standIn.buckets.add(BUCKET);
    standIn.inject(
      {
        route: 'object-upload',
        status: 503,
        body: { statusCode: '503', error: 'Service Unavailable', message: 'down' },
      },
      2,
    );
    const raw = message('flaky');
    const out = await ingestToEnd<IngestOut>(mcp, { raw });
    expect(out.rawMessage).toEqual({ status: 'stored' });
    expect(standIn.count('object-upload')).toBe(3);
    const handle = stack.client.workflow.getHandle(out.workflowId, out.runId);
    expect(await activityAttempts(handle, 'archiveRawMessages')).toEqual([
      { attempt: 3, lastFailureType: 'StorageUnavailable', nextRetryDelaySeconds: undefined },
    ]);
    const row = await linkedFile(stack, out.emailId);
    expect(row).toMatchObject({ bucket: BUCKET, status: 'uploaded' });
    expect(standIn.object(BUCKET, row.storage_path as string)?.equals(Buffer.from(raw))).toBe(true);
  });

  it('answers once the email is committed while storage holds the archive back; the run completes it later', async () => {
    standIn.reset();
    standIn.buckets.add(BUCKET);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    standIn.inject({ route: 'object-upload', bucket: BUCKET, hold: held });
    const raw = message('held');
    try {
      const out = await callOk<IngestOut & Record<string, unknown>>(mcp, 'ingest_email', { raw });
      // The row is committed and the caller has it; what the archive and the analysis decide is pending.
      expect(out).toMatchObject({
        status: 'running',
        created: true,
        subject: 'raw held',
        messageId: 'held@raw.test',
        attachments: [],
        rawMessage: { status: 'pending' },
        analysisWorkflowId: stack.config.ai.analyseOnIngest ? 'pending' : null,
      });
      const [row] = await stack.sql`
        select id, thread_id, raw_file_id from public.emails where id = ${out.emailId}`;
      expect(row).toMatchObject({ id: out.emailId, thread_id: out.threadId, raw_file_id: null });
      // The archive's upload reaches storage (after the answer, or about then) and is held there.
      for (let i = 0; i < 100 && standIn.count('object-upload') === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(standIn.count('object-upload')).toBe(1);
      const running = await callOk(mcp, 'get_workflow', { workflowId: out.workflowId });
      expect(running.status).toBe('running');

      release();
      const done = await runOutcome(mcp, out.workflowId, out.runId);
      expect(done.status).toBe('completed');
      expect(done.result).toMatchObject({ emailId: out.emailId, rawMessage: { status: 'stored' } });
      expect(await linkedFile(stack, out.emailId)).toMatchObject({ bucket: BUCKET, status: 'uploaded' });
      // The history with the update in it replays on this code.
      const history = await stack.client.workflow.getHandle(out.workflowId, out.runId).fetchHistory();
      const events = (history.events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('Attributes')));
      expect(events).toContain('workflowExecutionUpdateCompletedEventAttributes');
      await Worker.runReplayHistory(replayOptions(), history, out.workflowId);
    } finally {
      release();
    }
  });
});
