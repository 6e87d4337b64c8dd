/**
 * `upload_file` through a real MCP client over stdio, into the filesystem backend, with the worker in
 * this process on private task queues: progress notifications fed from heartbeats, dedup, safety.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../supabase/db.js';
import type { Stack } from '../../workers/stack.js';
import { TenantId } from '../../workflows/search-attributes.js';
import { startTestStack, testDb, testEnv } from '../support/harness.js';
import { callError, callOk, connectStdio } from '../support/mcp-clients.js';
import { activityAttempts, importFile } from '../support/uploads.js';

interface UploadOut {
  workflowId: string;
  runId: string;
  status: string;
  fileId?: string;
  bucket: string;
  path?: string;
  size: number;
  sha256: string;
  deduplicated?: boolean;
  detectedMime?: string | null;
}

describe('upload_file over stdio', () => {
  let env: Record<string, string>;
  let stack: Stack;
  let mcp: McpClient;
  let sql: Sql;
  let tenantId: string;
  let importDir: string;

  beforeAll(async () => {
    const base = testEnv();
    importDir = path.join(base.DURABLE_INBOX_DATA_DIR!, 'import');
    env = { ...base, DURABLE_INBOX_IMPORT_DIR: importDir };
    await importFile(importDir, 'placeholder', 1);
    stack = await startTestStack(env);
    tenantId = stack.defaultTenant.id;
    mcp = await connectStdio(env);
    sql = testDb();
  });
  afterAll(async () => {
    await mcp?.close();
    await stack?.shutdown();
    await sql?.end();
  });

  it('uploads an import file, streaming progress notifications from the heartbeats', async () => {
    const file = await importFile(importDir, 'video.bin', 24 * 1024 * 1024);
    const progress: { progress: number; total?: number }[] = [];
    const result = (await mcp.callTool(
      { name: 'upload_file', arguments: { bucket: 'media', filename: 'Holiday video.bin', path: file.path } },
      undefined,
      { onprogress: (p) => void progress.push({ progress: p.progress, total: p.total }) },
    )) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const out = result.structuredContent as unknown as UploadOut;
    expect(out).toMatchObject({
      status: 'completed',
      bucket: 'media',
      size: file.bytes.length,
      sha256: file.sha256,
      deduplicated: false,
      workflowId: `upload/${tenantId}/media/${file.sha256}`,
      path: `${tenantId}/${file.sha256.slice(0, 2)}/${file.sha256}/Holiday_video.bin`,
    });

    // A fast upload can finish before the first heartbeat is read, so no count is demanded here: the
    // held-chunk test in tests/integration/supabase-storage-upload.test.ts proves notifications arrive
    // mid-upload. Whatever arrives must be consistent.
    expect(progress.every((p) => p.total === file.bytes.length)).toBe(true);
    expect(progress.map((p) => p.progress)).toEqual(progress.map((p) => p.progress).sort((a, b) => a - b));
    // The final notification (bytes = total) can race the result in the SDK client: not demanded.
    expect(progress.every((p) => p.progress <= file.bytes.length)).toBe(true);

    const stored = await readFile(path.join(env.DURABLE_INBOX_DATA_DIR!, 'storage', 'media', out.path!));
    expect(stored.equals(file.bytes)).toBe(true);
    const [row] = await sql`
      select filename, status, attempts, size_bytes::int as size, sha256, storage_path from public.files where id = ${out.fileId!}`;
    expect(row).toEqual({
      filename: 'Holiday video.bin',
      status: 'uploaded',
      attempts: 1,
      size: file.bytes.length,
      sha256: file.sha256,
      storage_path: out.path,
    });

    const description = await stack.client.workflow.getHandle(out.workflowId).describe();
    expect(description.typedSearchAttributes.get(TenantId)).toBe(tenantId);
    expect(await description.staticSummary()).toBe(
      `Upload "Holiday video.bin" to media (${file.bytes.length} bytes)`,
    );
  });

  it('takes base64 content, and a second upload of the same bytes sends nothing', async () => {
    const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(5000)]);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const args = { bucket: 'docs', filename: 'invoice.pdf', content: bytes.toString('base64') };
    const first = await callOk<UploadOut>(mcp, 'upload_file', { ...args, contentType: 'application/pdf' });
    expect(first).toMatchObject({
      status: 'completed',
      deduplicated: false,
      sha256,
      detectedMime: 'application/pdf',
    });

    const second = await callOk<UploadOut>(mcp, 'upload_file', { ...args, filename: 'copy-of-invoice.pdf' });
    expect(second).toMatchObject({ deduplicated: true, fileId: first.fileId, path: first.path });
    expect(second.runId).not.toBe(first.runId);
    // The second run found the row and never scheduled an upload.
    const handle = stack.client.workflow.getHandle(second.workflowId, second.runId);
    expect(await activityAttempts(handle, 'uploadFileObject')).toEqual([]);
    const rows =
      await sql`select count(*)::int as n from public.files where tenant_id = ${tenantId} and sha256 = ${sha256}`;
    expect(rows[0]!.n).toBe(1);
    // The history carries the hash, never the bytes.
    const history = JSON.stringify(await handle.fetchHistory());
    expect(history).not.toContain(args.content.slice(0, 200));
  });

  it('refuses unsafe paths and names with a typed error, before starting anything', async () => {
    await writeFile(path.join(path.dirname(importDir), 'outside.txt'), 'secret');
    await symlink(path.join(path.dirname(importDir), 'outside.txt'), path.join(importDir, 'link.txt'));
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { path: '../outside.txt' },
        /^InvalidPath: path "\.\.\/outside.txt" is refused: it must not contain "\.\."/,
      ],
      [{ path: '/etc/passwd' }, /^InvalidPath: path "\/etc\/passwd" is refused: it must be relative/],
      [
        { path: 'link.txt' },
        /^InvalidPath: path "link.txt" is refused: it resolves outside the import directory/,
      ],
      [{ path: 'nope.txt' }, /^NotFound: no file "nope.txt"/],
      [
        { path: 'placeholder', filename: 'a/b.txt' },
        /^InvalidKey: the file name "a\/b.txt" contains a path separator/,
      ],
      [
        { path: 'placeholder', filename: 'x'.repeat(256) },
        /^InvalidKey: the file name is longer than 255 bytes/,
      ],
      [{ path: 'placeholder', bucket: '..' }, /^InvalidKey: bucket "\.\." must be/],
      [{ path: 'placeholder', content: 'aGk=' }, /^InvalidInput: give exactly one of content/],
      [{ content: 'not base64!' }, /^InvalidInput: content is not valid base64/],
    ];
    for (const [args, message] of cases) {
      const text = await callError(mcp, 'upload_file', { bucket: 'docs', filename: 'f.txt', ...args });
      expect(text).toMatch(message);
    }
    const { count } = await stack.client.workflow.count(
      `TenantId = '${tenantId}' AND WorkflowType = 'uploadFileWorkflow' AND ExecutionStatus = 'Failed'`,
    );
    expect(count).toBe(0);
  });
});
