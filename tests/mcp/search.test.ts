/**
 * search_emails and get_email over Streamable HTTP: ranked results, pagination, snippets, and never
 * another tenant's email.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { callError, callOk, connectHttp } from '../support/mcp-clients.js';

interface Hit {
  emailId: string;
  subject: string;
  snippet: string;
}
interface SearchOut {
  total: number;
  results: Hit[];
  nextOffset?: number;
}

const mail = (id: string, subject: string, body: string) =>
  `From: Carol <carol@example.com>\r\nTo: team@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${id}>\r\n` +
  `Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n\r\n${body}\r\n`;

describe('search_emails and get_email', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let a: McpClient;
  let b: McpClient;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0' }));
    http = await startMcpHttp(stack, createLogger('warn'));
    const keyA = generateApiKey();
    const keyB = generateApiKey();
    const orgB = await ensureOrganization(stack.sql, uniqueName('search-b'));
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'a', keyA);
    await registerApiKey(stack.sql, orgB.id, 'b', keyB);
    a = await connectHttp(http.url, keyA);
    b = await connectHttp(http.url, keyB);

    const ingest = async (client: McpClient, name: string, raw: string) => {
      ids[name] = (await callOk<{ emailId: string }>(client, 'ingest_email', { raw })).emailId;
    };
    await ingest(a, 'report', fixture('quarterly-report.eml'));
    await ingest(a, 'bodyOnly', mail('s1@x', 'Friday lunch', 'Bring the revenue report printouts please.'));
    await ingest(a, 'unrelated', mail('s2@x', 'Parking', 'The garage is closed on Friday.'));
    await ingest(b, 'otherTenant', mail('s3@x', 'Secret revenue report', 'Revenue report of tenant B.'));
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await http?.close();
    await stack?.shutdown();
  });

  it('ranks subject matches above body matches and marks the match in the snippet', async () => {
    const out = await callOk<SearchOut>(a, 'search_emails', { query: 'report' });
    expect(out.results.map((r) => r.emailId)).toEqual([ids.report, ids.bodyOnly]);
    expect(out.total).toBe(2);
    expect(out.results[1]!.snippet).toContain('**report**');
    expect(out.nextOffset).toBeUndefined();
  });

  it('paginates', async () => {
    const first = await callOk<SearchOut>(a, 'search_emails', { query: 'report', limit: 1 });
    expect(first).toMatchObject({ total: 2, nextOffset: 1 });
    const second = await callOk<SearchOut>(a, 'search_emails', { query: 'report', limit: 1, offset: 1 });
    expect(second.results.map((r) => r.emailId)).toEqual([ids.bodyOnly]);
    expect(second.nextOffset).toBeUndefined();
  });

  it('never returns another tenant’s email', async () => {
    const fromB = await callOk<SearchOut>(b, 'search_emails', { query: 'revenue report' });
    expect(fromB.results.map((r) => r.emailId)).toEqual([ids.otherTenant]);
    const fromA = await callOk<SearchOut>(a, 'search_emails', { query: 'secret' });
    expect(fromA.results).toEqual([]);
    expect(await callError(b, 'get_email', { emailId: ids.report })).toBe(
      `NotFound: no email ${ids.report} for this caller`,
    );
  });

  it('get_email returns the parsed fields', async () => {
    const email = await callOk<Record<string, unknown>>(a, 'get_email', { emailId: ids.report });
    expect(email).toMatchObject({
      emailId: ids.report,
      messageId: 'q3-report.20261117@mail.example.com',
      threadId: 'mid:q3-report.20261117@mail.example.com',
      subject: 'Quarterly report for Q3',
      from: [{ name: 'Alice Example', address: 'alice@example.com' }],
      sentAt: '2026-11-17T08:30:00.000Z',
      sentAtFallback: false,
    });
    expect(email.textBody).toContain('Revenue grew 12%');
    expect((email.headers as Record<string, string[]>).subject).toEqual(['Quarterly report for Q3']);
    expect(await callError(a, 'get_email', { emailId: 'not-a-uuid' })).toMatch(/emailId must be a UUID/);
  });
});
