/**
 * Bad input gets a clear MCP error that names the problem, and leaves nothing behind.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import type { Sql } from '../../supabase/db.js';
import { findTenant } from '../../supabase/tenants.js';
import { testDb, testEnv } from '../support/harness.js';
import { callError, connectStdio } from '../support/mcp-clients.js';

describe('ingest_email rejects bad input', () => {
  let mcp: McpClient;
  let sql: Sql;
  let tenantId: string;

  beforeAll(async () => {
    const env = testEnv({ MAX_EMAIL_BYTES: '4096' });
    mcp = await connectStdio(env);
    sql = testDb();
    tenantId = (await findTenant(sql, loadConfig(env).tenant))!.id;
  });
  afterAll(async () => {
    await mcp?.close();
    await sql?.end();
  });

  it('non-email bytes', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(64, 7)]);
    expect(await callError(mcp, 'ingest_email', { raw: png.toString('base64'), encoding: 'base64' })).toMatch(
      /^InvalidEmail: .*(binary data|header field)/,
    );
    expect(await callError(mcp, 'ingest_email', { raw: 'just some words, no headers' })).toMatch(
      /^InvalidEmail: not an RFC 5322 message/,
    );
    expect(await callError(mcp, 'ingest_email', { raw: 'Subject: hi\r\n\r\nno sender' })).toBe(
      'InvalidEmail: the message has no From address (RFC 5322 requires one)',
    );
    expect(await callError(mcp, 'ingest_email', { raw: '%%%not base64', encoding: 'base64' })).toMatch(
      /InvalidEmail: raw is not valid base64/,
    );
  });

  it('a message over the size cap', async () => {
    const big = `From: a@example.com\r\nSubject: big\r\n\r\n${'x'.repeat(5000)}\r\n`;
    expect(await callError(mcp, 'ingest_email', { raw: big })).toMatch(
      /^EmailTooLarge: the message is 50\d\d bytes, over the 4096-byte limit \(MAX_EMAIL_BYTES\)/,
    );
    const huge = `From: a@example.com\r\n\r\n${'x'.repeat(20_000)}`;
    expect(await callError(mcp, 'ingest_email', { raw: huge })).toMatch(
      /raw is larger than the 4096-byte message limit/,
    );
  });

  it('a missing body', async () => {
    expect(await callError(mcp, 'ingest_email', {})).toBe(
      'InvalidInput: invalid arguments for ingest_email: Invalid input: expected string, received undefined at raw',
    );
    expect(await callError(mcp, 'ingest_email', { raw: '' })).toMatch(/raw is empty/);
  });

  it('stores nothing, but records every rejected message and why', async () => {
    const [counts] = await sql`
      select (select count(*) from public.emails where tenant_id = ${tenantId})::int as emails,
             (select count(*) from public.staged_content where tenant_id = ${tenantId})::int as raw`;
    expect(counts).toEqual({ emails: 0, raw: 0 });
    // Arguments that never became a message (bad base64, missing or oversized raw) have nothing to record.
    const failures = await sql`
      select reason from public.ingest_failures where tenant_id = ${tenantId} order by reason`;
    expect(failures.map((f) => f.reason)).toEqual([
      'EmailTooLarge',
      'InvalidEmail',
      'InvalidEmail',
      'InvalidEmail',
    ]);
  });
});
