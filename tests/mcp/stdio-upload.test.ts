/**
 * `upload_file` through a real MCP client over stdio, into the filesystem backend, with the worker in
 * this process on private task queues: progress notifications fed from heartbeats, dedup, safety.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { TenantId } from '../../workflows/search-attributes.js';
import { testEnv } from '../support/harness.js';
import { callError, callOk } from '../support/mcp-clients.js';
import { useStdioStack } from '../support/stdio-stack.js';
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
  let importDir: string;

  const t = useStdioStack(async () => {
    const base = testEnv();
    const root = path.join(base.DURABLE_INBOX_DATA_DIR!, 'import');
    // The tenant's own folder: `path` arguments resolve inside it.
    importDir = path.join(root, base.DURABLE_INBOX_TENANT!);
    await importFile(importDir, 'placeholder', 1);
    return { ...base, DURABLE_INBOX_IMPORT_DIR: root };
  });

  it('uploads an import file, streaming progress notifications from the heartbeats', async () => {
    const file = await importFile(importDir, 'video.bin', 24 * 1024 * 1024);
    const progress: { progress: number; total?: number }[] = [];
    const result = (await t.mcp.callTool(
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
      workflowId: `upload/${t.tenantId}/media/${file.sha256}`,
      path: `${t.tenantId}/${file.sha256.slice(0, 2)}/${file.sha256}/Holiday_video.bin`,
    });

    // A fast upload can finish before the first heartbeat is read, so no count is demanded here: the
    // held-chunk test in tests/integration/supabase-storage-upload.test.ts proves notifications arrive
    // mid-upload. Whatever arrives must be consistent.
    expect(progress.every((p) => p.total === file.bytes.length)).toBe(true);
    expect(progress.map((p) => p.progress)).toEqual(progress.map((p) => p.progress).sort((a, b) => a - b));
    // The final notification (bytes = total) can race the result in the SDK client: not demanded.
    expect(progress.every((p) => p.progress <= file.bytes.length)).toBe(true);

    const stored = await readFile(path.join(t.env.DURABLE_INBOX_DATA_DIR!, 'storage', 'media', out.path!));
    expect(stored.equals(file.bytes)).toBe(true);
    const [row] = await t.sql`
      select filename, status, attempts, size_bytes::int as size, sha256, storage_path from public.files where id = ${out.fileId!}`;
    expect(row).toEqual({
      filename: 'Holiday video.bin',
      status: 'uploaded',
      attempts: 1,
      size: file.bytes.length,
      sha256: file.sha256,
      storage_path: out.path,
    });

    const description = await t.stack.client.workflow.getHandle(out.workflowId).describe();
    expect(description.typedSearchAttributes.get(TenantId)).toBe(t.tenantId);
    expect(await description.staticSummary()).toBe(
      `Upload "Holiday video.bin" to media (${file.bytes.length} bytes)`,
    );
  });

  it('takes base64 content, and a second upload of the same bytes sends nothing', async () => {
    const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(5000)]);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const args = { bucket: 'docs', filename: 'invoice.pdf', content: bytes.toString('base64') };
    const first = await callOk<UploadOut>(t.mcp, 'upload_file', { ...args, contentType: 'application/pdf' });
    expect(first).toMatchObject({
      status: 'completed',
      deduplicated: false,
      sha256,
      detectedMime: 'application/pdf',
    });

    const second = await callOk<UploadOut>(t.mcp, 'upload_file', {
      ...args,
      filename: 'copy-of-invoice.pdf',
    });
    expect(second).toMatchObject({ deduplicated: true, fileId: first.fileId, path: first.path });
    expect(second.runId).not.toBe(first.runId);
    // The second run found the row and never scheduled an upload.
    const handle = t.stack.client.workflow.getHandle(second.workflowId, second.runId);
    expect(await activityAttempts(handle, 'uploadFileObject')).toEqual([]);
    const rows =
      await t.sql`select count(*)::int as n from public.files where tenant_id = ${t.tenantId} and sha256 = ${sha256}`;
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
        /^InvalidPath: path "link.txt" is refused: it resolves outside your import folder/,
      ],
      [{ path: 'nope.txt' }, /^NotFound: no file "nope.txt" in your import folder$/],
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
      const text = await callError(t.mcp, 'upload_file', { bucket: 'docs', filename: 'f.txt', ...args });
      expect(text).toMatch(message);
    }
    const { count } = await t.stack.client.workflow.count(
      `TenantId = '${t.tenantId}' AND WorkflowType = 'uploadFileWorkflow' AND ExecutionStatus = 'Failed'`,
    );
    expect(count).toBe(0);
  });
});
