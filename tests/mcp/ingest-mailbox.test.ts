/**
 * ingest_mailbox on the real dev server and Postgres: a generated 2,000-message mbox with 3% bad messages
 * and 5% duplicates ends with exactly the expected rows, failures and duplicates, over several
 * continue-as-new runs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import { toMboxEntry } from '../../core/mbox.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import {
  type IngestMailboxInput,
  ingestMailboxContract,
  LEGACY_SLICE_MESSAGES,
} from '../../workflows/ingest-mailbox.contract.js';
import { replayOptions, startTestStack, testEnv } from '../support/harness.js';
import { generateMailbox } from '../support/mbox.js';
import { callError, callOk, connectHttp } from '../support/mcp-clients.js';

interface Started {
  workflowId: string;
  runId: string;
  status: string;
  report?: Record<string, number>;
}

async function waitForCompletion(mcp: McpClient, workflowId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 600; i++) {
    const got = await callOk(mcp, 'get_workflow', { workflowId });
    if (got.status !== 'running') return got;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${workflowId} did not finish`);
}

describe('ingest_mailbox', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let mcp: McpClient;

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0', MAILBOX_CHUNK_MESSAGES: '50' }));
    mkdirSync(tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug), { recursive: true });
    http = await startMcpHttp(stack, createLogger('warn'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'mbox', key);
    mcp = await connectHttp(http.url, key);
  });
  afterAll(async () => {
    await mcp?.close();
    await http?.close();
    await stack?.shutdown();
  });

  it('imports 2,000 messages with bad ones and duplicates, and reports exactly', async () => {
    const generated = generateMailbox(2000, 0.03, 0.05, 'big');
    writeFileSync(
      path.join(tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug), 'big.mbox'),
      generated.mbox,
    );
    const started = await callOk<Started>(mcp, 'ingest_mailbox', { path: 'big.mbox', wait: false });
    expect(started.workflowId).toMatch(new RegExp(`^mailbox/${stack.defaultTenant.id}/[0-9a-f]{64}$`));

    const done = await waitForCompletion(mcp, started.workflowId);
    expect(done.status).toBe('completed');
    const report = done.result as Record<string, unknown>;
    expect(report).toMatchObject({
      scanned: 2000,
      pending: 0,
      stored: generated.unique,
      duplicates: generated.duplicates,
      failed: generated.bad,
    });
    expect((report.failures as { reason: string }[]).map((f) => f.reason)).toContain('InvalidEmail');

    const tenant = stack.defaultTenant.id;
    const [counts] = await stack.sql`
      select (select count(*) from public.emails where tenant_id = ${tenant})::int as emails,
             (select count(*) from public.ingest_failures where tenant_id = ${tenant})::int as failures`;
    expect(counts).toEqual({ emails: generated.unique, failures: generated.bad });
    // Each stored message's raw bytes are a file in the raw-messages bucket, linked from its email.
    expect(report.rawNotArchived).toBe(0);
    const [raw] = await stack.sql`
      select count(*)::int as linked, count(distinct f.id)::int as files,
             bool_and(f.sha256 = e.raw_sha256 and f.status = 'uploaded') as intact
      from public.emails e join public.files f on f.id = e.raw_file_id
      where e.tenant_id = ${tenant} and f.bucket = 'raw-messages'`;
    expect(raw).toEqual({ linked: generated.unique, files: generated.unique, intact: true });

    // 2,000 messages in chunks of 50 is more than one run's worth: it continued as new.
    const { count } = await stack.client.workflow.count(`WorkflowId = '${started.workflowId}'`);
    expect(count).toBeGreaterThan(1);

    // Importing the same file again returns the same run and stores nothing new.
    const again = await callOk<Started>(mcp, 'ingest_mailbox', { path: 'big.mbox' });
    expect(again.workflowId).toBe(started.workflowId);
    expect(again.report).toMatchObject({ stored: generated.unique, duplicates: generated.duplicates });
  }, 180_000); // 2,000 messages through the real stack: ~35 s alone, more beside another heavy file

  it('slices as its input says, a run from before sliceMessages by 50, and both replay', async () => {
    const generated = generateMailbox(240, 0, 0, 'slices');
    const dir = tenantImportDir(stack.config.mailbox.importDir, stack.defaultTenant.slug);
    writeFileSync(path.join(dir, 'slices.mbox'), generated.mbox);
    // The tool's run: its input carries the configured slice size (MAILBOX_SLICE_MESSAGES, 100;
    // capped here by this stack's chunks of 50).
    const started = await callOk<Started>(mcp, 'ingest_mailbox', { path: 'slices.mbox' });
    expect(started.report).toMatchObject({ scanned: 240, stored: 240 });
    const handle = stack.client.workflow.getHandle(started.workflowId);
    const [description, toolHistory] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    expect(stack.config.mailbox.sliceMessages).toBe(100);

    // Two runs of the same file in one 240-message chunk: with a slice size in the input, and without
    // one as a run started by an older server is. Everything is stored already, so each slice finds
    // nothing pending; the number of slice activities is what the slice size decides.
    const base: IngestMailboxInput = {
      tenantId: stack.defaultTenant.id,
      mailboxSha256: started.workflowId.split('/').at(-1)!,
      source: { kind: 'path', path: 'slices.mbox' },
      concurrency: 2,
      chunkMessages: 240,
    };
    const slicesOf = async (id: string, run: IngestMailboxInput) => {
      const h = await stack.client.workflow.start(ingestMailboxContract.workflowType, {
        workflowId: id,
        taskQueue: stack.config.temporal.taskQueue,
        args: [run],
      });
      expect(await h.result()).toMatchObject({ scanned: 240, stored: 240 });
      const history = await h.fetchHistory();
      const slices = (history.events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ingestMailboxSlice',
      ).length;
      await Worker.runReplayHistory(replayOptions(), history, id);
      return slices;
    };
    const id = `${started.workflowId}-slices`;
    expect(await slicesOf(`${id}-120`, { ...base, sliceMessages: 120 })).toBe(2);
    expect(LEGACY_SLICE_MESSAGES).toBe(50);
    expect(await slicesOf(`${id}-legacy`, base)).toBe(5);
    // The tool's own run replays too (its chunks of 50 are one slice each).
    expect(description.status.name).toBe('COMPLETED');
    await Worker.runReplayHistory(replayOptions(), toolHistory, started.workflowId);
  });

  it('imports uploaded content', async () => {
    const mbox = ['a', 'b', 'c']
      .map((id) =>
        toMboxEntry(
          `From: x@example.com\nSubject: upload ${id}\nMessage-ID: <upload-${id}@x>\n\nbody ${id}\n`,
        ),
      )
      .join('');
    const out = await callOk<Started>(mcp, 'ingest_mailbox', {
      content: Buffer.from(mbox).toString('base64'),
    });
    expect(out.status).toBe('completed');
    expect(out.report).toMatchObject({ scanned: 3, stored: 3, duplicates: 0, failed: 0 });
  });

  it('uploads the attachments of imported messages', async () => {
    const withFiles = (id: string, files: string[]) =>
      toMboxEntry(
        `From: x@example.com\nSubject: files ${id}\nMessage-ID: <mbox-files-${id}@x>\nMIME-Version: 1.0\n` +
          `Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nsee attached\n` +
          files
            .map(
              (name) =>
                `--b\nContent-Type: text/plain; name="${name}"\nContent-Disposition: attachment; filename="${name}"\n\n` +
                `contents of ${name} in ${id}\n`,
            )
            .join('') +
          '--b--\n',
      );
    const mbox = withFiles('a', ['one.txt', 'two.txt']) + withFiles('b', []) + withFiles('c', ['three.txt']);
    const out = await callOk<Started>(mcp, 'ingest_mailbox', {
      content: Buffer.from(mbox).toString('base64'),
    });
    expect(out.report).toMatchObject({ scanned: 3, stored: 3, failed: 0 });
    const rows = await stack.sql`
      select e.message_id, a.filename, a.status, f.status as file_status
      from public.email_attachments a join public.emails e on e.id = a.email_id
      left join public.files f on f.id = a.file_id
      where e.message_id like 'mbox-files-%' order by e.message_id, a.part_index`;
    expect(rows.map((r) => [r.message_id, r.filename, r.status, r.file_status])).toEqual([
      ['mbox-files-a@x', 'one.txt', 'stored', 'uploaded'],
      ['mbox-files-a@x', 'two.txt', 'stored', 'uploaded'],
      ['mbox-files-c@x', 'three.txt', 'stored', 'uploaded'],
    ]);
  });

  it('refuses paths outside the import directory, and ambiguous input', async () => {
    expect(await callError(mcp, 'ingest_mailbox', { path: '../../etc/passwd' })).toMatch(
      /^InvalidPath: path "..\/..\/etc\/passwd" is refused: it must not contain ".."/,
    );
    expect(await callError(mcp, 'ingest_mailbox', { path: '/etc/passwd' })).toMatch(/must be relative/);
    expect(await callError(mcp, 'ingest_mailbox', { path: 'missing.mbox' })).toMatch(/^NotFound: no file/);
    expect(await callError(mcp, 'ingest_mailbox', {})).toMatch(/exactly one of `path` or `content`/);
  });
});
