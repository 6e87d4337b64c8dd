/**
 * Each tenant has its own import folder, `<DURABLE_INBOX_IMPORT_DIR>/<slug>/`: `path` arguments of
 * ingest_mailbox and upload_file resolve inside the caller's folder only. Two tenants on a real Postgres
 * and a real MCP client over HTTP: a file in B's folder reads for A exactly like a missing one, `..` and
 * symlinks out are InvalidPath, no answer names the server's path, and B imports its own file.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { ensureOrganization, generateApiKey, registerApiKey, type Tenant } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { callError, callOk, connectHttp } from '../support/mcp-clients.js';

describe('an import folder per tenant', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let a: McpClient;
  let b: McpClient;
  let tenantB: Tenant;
  let importDir: string;
  const marker = uniqueName('onlyinbfolder').replace('-', '');

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0' }));
    importDir = stack.config.mailbox.importDir;
    http = await startMcpHttp(stack, createLogger('warn'));
    tenantB = await ensureOrganization(stack.sql, uniqueName('org-b'));
    const keyA = generateApiKey();
    const keyB = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'folders-a', keyA, 'member');
    await registerApiKey(stack.sql, tenantB.id, 'folders-b', keyB, 'member');
    a = await connectHttp(http.url, keyA);
    b = await connectHttp(http.url, keyB);

    const folderA = tenantImportDir(importDir, stack.defaultTenant.slug);
    const folderB = tenantImportDir(importDir, tenantB.slug);
    await mkdir(folderA, { recursive: true });
    await mkdir(folderB, { recursive: true });
    const eml = fixture('quarterly-report.eml').replace('Quarterly report for Q3', `Report ${marker}`);
    await writeFile(path.join(folderB, 'b.mbox'), `From b@example.com Mon Nov 16 09:00:00 2026\n${eml}\n`);
    await writeFile(path.join(folderB, 'b.txt'), `secret of B ${marker}`);
    await writeFile(path.join(folderA, 'a.txt'), 'of A');
    // Also the old shared place: a file put directly in the import directory is nobody's.
    await writeFile(path.join(importDir, 'shared.txt'), 'in no tenant folder');
    await symlink(path.join(folderB, 'b.txt'), path.join(folderA, 'to-b.txt'));
    // A link into B's folder at a name B does not have: it must read like the one that B has.
    await symlink(path.join(folderB, 'not-in-b.txt'), path.join(folderA, 'to-b-missing.txt'));
    await symlink(`../${tenantB.slug}`, path.join(folderA, 'b-folder'));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await http?.close();
    await stack?.shutdown();
  });

  it("another tenant's file reads exactly like a missing one, for ingest_mailbox and upload_file", async () => {
    const upload = (p: string) => ({ bucket: 'folders', filename: 'x.txt', path: p });
    expect(await callError(a, 'ingest_mailbox', { path: 'b.mbox' })).toBe(
      'NotFound: no file "b.mbox" in your import folder',
    );
    expect(await callError(a, 'ingest_mailbox', { path: 'c.mbox' })).toBe(
      'NotFound: no file "c.mbox" in your import folder',
    );
    expect(await callError(a, 'upload_file', upload('b.txt'))).toBe(
      'NotFound: no file "b.txt" in your import folder',
    );
    // Naming B's folder from A's is a name inside A's folder: missing too.
    expect(await callError(a, 'ingest_mailbox', { path: `${tenantB.slug}/b.mbox` })).toBe(
      `NotFound: no file "${tenantB.slug}/b.mbox" in your import folder`,
    );
    expect(await callError(a, 'upload_file', upload('shared.txt'))).toBe(
      'NotFound: no file "shared.txt" in your import folder',
    );
    // The tenant's own file works.
    expect(await callOk(a, 'upload_file', upload('a.txt'))).toMatchObject({ status: 'completed' });
  });

  it('.., absolute paths and symlinks out are InvalidPath, and no answer names the server path', async () => {
    const texts = [
      await callError(a, 'ingest_mailbox', { path: `../${tenantB.slug}/b.mbox` }),
      await callError(a, 'ingest_mailbox', { path: path.join(importDir, tenantB.slug, 'b.mbox') }),
      await callError(a, 'upload_file', { bucket: 'folders', filename: 'x.txt', path: 'to-b.txt' }),
    ];
    expect(texts).toEqual([
      `InvalidPath: path "../${tenantB.slug}/b.mbox" is refused: it must not contain ".."`,
      expect.stringMatching(/^InvalidPath: path ".*" is refused: it must be relative to your import folder$/),
      'InvalidPath: path "to-b.txt" is refused: it resolves outside your import folder',
    ]);
    // A symlink out is judged by where it points, never by whether B has the file: the same answer
    // (and the same work: the walk reads the link, it never looks inside B's folder) for both.
    const probe = async (p: string) => [
      await callError(a, 'upload_file', { bucket: 'folders', filename: 'x.txt', path: p }),
      await callError(a, 'ingest_mailbox', { path: p }),
    ];
    for (const p of ['to-b-missing.txt', 'b-folder/b.txt', 'b-folder/not-in-b.txt']) {
      expect(await probe(p)).toEqual([
        `InvalidPath: path "${p}" is refused: it resolves outside your import folder`,
        `InvalidPath: path "${p}" is refused: it resolves outside your import folder`,
      ]);
    }
    // The absolute path is the caller's own text; nothing else of the server's layout comes back.
    for (const text of [texts[0], texts[2]]) expect(text).not.toContain(importDir);
  });

  it("B imports its own mailbox; A's search never sees it", async () => {
    const out = await callOk<{ status: string; report: { stored: number } }>(b, 'ingest_mailbox', {
      path: 'b.mbox',
    });
    expect(out).toMatchObject({ status: 'completed', report: { stored: 1 } });
    const inB = await callOk<{ total: number }>(b, 'search_emails', { query: marker });
    expect(inB.total).toBe(1);
    const inA = await callOk<{ total: number }>(a, 'search_emails', { query: marker });
    expect(inA.total).toBe(0);
  });
});
