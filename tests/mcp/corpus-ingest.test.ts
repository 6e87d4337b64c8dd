/**
 * The whole fixture corpus through a real MCP client (stdio) → ingest_email → the real Temporal dev server →
 * upsert_email in real Postgres: the stored rows must hold what tests/fixtures/corpus/expected.json says,
 * so the SQL path (jsonb address lists, timestamptz, the Date fallback, text with every charset) is covered,
 * not only the parse. The malformed corpus must give a row or the readable error, and never break the server.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { corpusBytes, corpusEntries, malformedBytes, malformedEntries } from '../fixtures/load-corpus.js';
import { ingestToEnd, textOf } from '../support/mcp-clients.js';
import { useStdioStack } from '../support/stdio-stack.js';

interface IngestOut {
  status: string;
  emailId?: string;
}

const ingestArgs = (bytes: Uint8Array) => ({
  raw: Buffer.from(bytes).toString('base64'),
  encoding: 'base64',
});

describe('the fixture corpus through ingest_email', () => {
  const t = useStdioStack();

  it('stores every message with the expected fields', { timeout: 300_000 }, async () => {
    const entries = corpusEntries();
    const stored = new Map<string, string>();
    for (const { file } of entries) {
      const out = await ingestToEnd<IngestOut>(t.mcp, ingestArgs(corpusBytes(file)));
      expect(out.status, file).toBe('completed');
      stored.set(file, out.emailId!);
    }
    // One row per message: no two corpus messages share a natural key, and nothing was stored twice.
    const [count] = await t.sql`select count(*)::int as n from public.emails where tenant_id = ${t.tenantId}`;
    expect(count!.n).toBe(entries.length);

    for (const { file, expected } of entries) {
      const [row] = await t.sql`
        select subject, from_address, from_addresses, to_addresses, cc_addresses, bcc_addresses,
               reply_to_addresses, sent_at, sent_at_fallback, received_at, message_id, in_reply_to,
               text_body, html_body is not null as has_html
        from public.emails where id = ${stored.get(file)!} and tenant_id = ${t.tenantId}`;
      expect(row, file).toBeDefined();
      expect(
        {
          subject: row!.subject,
          fromAddress: row!.from_address,
          from: row!.from_addresses,
          to: row!.to_addresses,
          cc: row!.cc_addresses,
          bcc: row!.bcc_addresses,
          replyTo: row!.reply_to_addresses,
          messageId: row!.message_id,
          inReplyTo: row!.in_reply_to,
          hasHtml: row!.has_html,
          sentAtFallback: row!.sent_at_fallback,
        },
        file,
      ).toEqual({
        subject: expected.subject,
        fromAddress: expected.from[0]!.address,
        from: expected.from,
        to: expected.to,
        cc: expected.cc,
        bcc: expected.bcc,
        replyTo: expected.replyTo,
        messageId: expected.messageId,
        inReplyTo: expected.inReplyTo,
        hasHtml: expected.hasHtml,
        sentAtFallback: expected.sentAt === null,
      });
      // Without a usable Date the ingest time stands in, flagged; otherwise the header's instant.
      const sentAt = (row!.sent_at as Date).toISOString();
      expect(sentAt, file).toBe(expected.sentAt ?? (row!.received_at as Date).toISOString());
      expect(row!.text_body, file).toContain(expected.textContains);
    }
  });

  it('stores each malformed message that parses, and answers the rest with their failure type', {
    timeout: 300_000,
  }, async () => {
    for (const { file, expected } of malformedEntries()) {
      const bytes = malformedBytes(file);
      if (bytes.byteLength === 0) continue; // an empty `raw` is refused by the tool's input schema, not parsed
      const result = (await t.mcp.callTool({
        name: 'ingest_email',
        arguments: ingestArgs(bytes),
      })) as CallToolResult;
      if (expected.outcome === 'parsed') {
        expect(result.isError, `${file}: ${textOf(result)}`).toBeFalsy();
        const out = result.structuredContent as unknown as IngestOut;
        const [row] = await t.sql`
          select subject, from_address from public.emails where id = ${out.emailId!} and tenant_id = ${t.tenantId}`;
        if (expected.subject !== undefined) expect(row!.subject, file).toBe(expected.subject);
        expect(row!.from_address, file).toBe(expected.fromAddress);
      } else {
        expect(result.isError, file).toBe(true);
        expect(textOf(result), file).toMatch(new RegExp(`^${expected.outcome}: `));
      }
    }
    // The server is still there and still works after all of that.
    const again = await ingestToEnd<IngestOut>(t.mcp, ingestArgs(corpusBytes('01-plain-ascii.eml')));
    expect(again.status).toBe('completed');
  });
});
