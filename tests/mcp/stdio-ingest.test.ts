/**
 * A real MCP client spawns the stdio server and ingests email through the real Temporal dev server into
 * real Postgres. The test process runs the worker on a private task queue.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { mailSearchValue } from '../../core/search-privacy.js';
import { INGEST_LAST_STEP } from '../../workflows/ingest-email.contract.js';
import { EmailFrom, IngestStatus, MessageId, TenantId } from '../../workflows/search-attributes.js';
import { decodedHistoryText, localActivities } from '../support/analysis.js';
import {
  fixture,
  fixtureBytes,
  runCount,
  startTestStack,
  TEST_SEARCH_ATTRIBUTE_HMAC_KEY,
  testEnv,
} from '../support/harness.js';
import { callOk, connectStdio, ingestToEnd } from '../support/mcp-clients.js';
import { useStdioStack } from '../support/stdio-stack.js';

interface IngestOut {
  workflowId: string;
  runId: string;
  status: string;
  emailId?: string;
  created?: boolean;
  temporalUiUrl: string;
}

describe('ingest_email over stdio', () => {
  const t = useStdioStack();

  it('stores the parsed message and reports progress', async () => {
    const progress: number[] = [];
    const result = (await t.mcp.callTool(
      { name: 'ingest_email', arguments: { raw: fixture('quarterly-report.eml') } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress) },
    )) as CallToolResult;
    expect(result.isError).toBeFalsy();
    const out = result.structuredContent as unknown as IngestOut;
    // Answered once the row is committed: the run goes on to archive the raw message.
    expect(out).toMatchObject({ status: 'running', created: true, rawMessage: { status: 'pending' } });
    expect(out.workflowId).toMatch(new RegExp(`^email/${t.tenantId}/[0-9a-f]{64}$`));
    // At least one step arrives; the last one can race the result in the SDK client, so do not demand it.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort());
    expect(Math.max(...progress)).toBeLessThanOrEqual(INGEST_LAST_STEP);

    const rows = await t.sql`
      select id, subject, from_address, from_addresses, to_addresses, cc_addresses, sent_at, sent_at_fallback,
             text_body, message_id, key_basis
      from public.emails where tenant_id = ${t.tenantId}`;
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.id).toBe(out.emailId);
    expect(row.subject).toBe('Quarterly report for Q3');
    expect(row.from_address).toBe('alice@example.com');
    expect(row.from_addresses).toEqual([{ name: 'Alice Example', address: 'alice@example.com' }]);
    expect(row.to_addresses).toEqual([
      { name: 'Bob Builder', address: 'bob@example.org' },
      { name: null, address: 'carol@example.net' },
    ]);
    expect(row.cc_addresses).toEqual([{ name: 'Dave, Ops', address: 'dave@example.org' }]);
    expect((row.sent_at as Date).toISOString()).toBe('2026-11-17T08:30:00.000Z');
    expect(row.sent_at_fallback).toBe(false);
    expect(row.text_body).toContain('Revenue grew 12% over Q2.');
    expect(row.message_id).toBe('q3-report.20261117@mail.example.com');
    expect(row.key_basis).toBe('message-id');
  });

  it('makes the run easy to find and keeps mail bodies out of the history', async () => {
    const out = await ingestToEnd<IngestOut>(t.mcp, { raw: fixture('quarterly-report.eml') });
    const handle = t.stack.client.workflow.getHandle(out.workflowId, out.runId);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(TenantId)).toBe(t.tenantId);
    // On a shared Temporal mail values are keyed hashes (README "Operations"), found with find-run.
    const keyed = { clear: false as const, hmacKey: TEST_SEARCH_ATTRIBUTE_HMAC_KEY };
    expect(description.typedSearchAttributes.get(EmailFrom)).toBe(
      mailSearchValue(keyed, 'EmailFrom', 'Alice@Example.com'),
    );
    expect(description.typedSearchAttributes.get(EmailFrom)).toMatch(/^hmac:[0-9a-f]{64}$/);
    expect(description.typedSearchAttributes.get(MessageId)).toBe(
      mailSearchValue(keyed, 'MessageId', '<q3-report.20261117@mail.example.com>'),
    );
    expect(description.typedSearchAttributes.get(IngestStatus)).toBe('stored');
    expect(await description.staticSummary()).toBe('Ingest "Quarterly report for Q3" from alice@example.com');

    const history = await handle.fetchHistory();
    const activities = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter(Boolean);
    // One local activity parses the staged message once and stores it (issue 12: parse once; issue 15:
    // local, no activity task), then the raw message goes to storage on the files queue, and a last
    // local step plans the AI-analysis child, which ingestion starts but does not wait for.
    expect(localActivities(history).map((a) => a.type)).toEqual(['ingestStagedEmail', 'planEmailAnalysis']);
    expect(activities).toEqual(['archiveRawMessages']);
    // Decoded: payloads are base64 in the JSON form, so a raw stringify would hide any body text.
    const historyText = decodedHistoryText(history);
    expect(historyText).not.toContain('Revenue grew');
    const { analysisWorkflowId } = await handle.result();
    expect(analysisWorkflowId).toMatch(new RegExp(`^analysis/${t.tenantId}/${out.emailId}/heuristic-v1$`));
    const child = t.stack.client.workflow.getHandle(analysisWorkflowId!);
    await child.result();
    const childHistory = decodedHistoryText(await child.fetchHistory());
    expect(childHistory).toContain('Analyse: Quarterly report for Q3 with heuristic/heuristic-v1');
    expect(childHistory).not.toContain('Revenue grew');
    expect(out.temporalUiUrl).toBe(
      `http://localhost:8233/namespaces/default/workflows/${encodeURIComponent(out.workflowId)}/${out.runId}/history`,
    );
  });

  it('is idempotent: again, and twice concurrently, gives one row and one workflow', async () => {
    const first = await ingestToEnd<IngestOut>(t.mcp, { raw: fixture('quarterly-report.eml') });
    const again = await ingestToEnd<IngestOut>(t.mcp, { raw: fixture('quarterly-report.eml') });
    expect(again).toMatchObject({ workflowId: first.workflowId, runId: first.runId, emailId: first.emailId });
    expect(await runCount(t.stack.client, first.workflowId)).toBe(1);

    // No Message-ID: keyed by content. Two concurrent calls join one run.
    const raw = fixture('no-message-id.eml');
    const [a, b] = await Promise.all([
      ingestToEnd<IngestOut>(t.mcp, { raw }),
      ingestToEnd<IngestOut>(t.mcp, { raw }),
    ]);
    expect(a.workflowId).toBe(b.workflowId);
    expect(a.runId).toBe(b.runId);
    expect(a.emailId).toBe(b.emailId);
    expect(await runCount(t.stack.client, a.workflowId)).toBe(1);
    const rows = await t.sql`
      select key_basis from public.emails where tenant_id = ${t.tenantId} and subject = 'Disk usage above 90% on db-1'`;
    expect(rows.map((r) => r.key_basis)).toEqual(['content']);
    const [total] = await t.sql`select count(*)::int as n from public.emails where tenant_id = ${t.tenantId}`;
    expect(total!.n).toBe(2);
  });

  it('takes 8-bit content as base64 and decodes charsets and encoded words', async () => {
    const raw = fixtureBytes('reply-8bit-latin1.eml').toString('base64');
    const out = await ingestToEnd<IngestOut>(t.mcp, { raw, encoding: 'base64' });
    const [row] =
      await t.sql`select subject, from_addresses, text_body, in_reply_to from public.emails where id = ${out.emailId!}`;
    expect(row!.subject).toBe('Réponse : réunion');
    expect(row!.from_addresses).toEqual([{ name: 'Renée François', address: 'renee@example.fr' }]);
    expect(row!.text_body).toContain('Très bien, à vendredi. Le café est prêt.');
    expect(row!.in_reply_to).toBe('q3-report.20261117@mail.example.com');
  });

  it('get_workflow returns the result and the UI link, and hides other tenants’ runs', async () => {
    const out = await ingestToEnd<IngestOut>(t.mcp, {
      raw: fixture('newsletter-html.eml'),
      wait: false,
    });
    expect(out.status).toBe('running');
    let got: Record<string, unknown> = {};
    for (let i = 0; i < 40 && got.status !== 'completed'; i++) {
      got = await callOk(t.mcp, 'get_workflow', { workflowId: out.workflowId });
      if (got.status !== 'completed') await new Promise((r) => setTimeout(r, 250));
    }
    expect(got).toMatchObject({
      workflowId: out.workflowId,
      workflowType: 'ingestEmailWorkflow',
      status: 'completed',
      summary: 'Ingest "This week in durable execution" from news@letters.example.com',
      temporalUiUrl: out.temporalUiUrl,
    });
    expect(got.result).toMatchObject({
      messageId: 'weekly-48@letters.example.com',
      subject: 'This week in durable execution',
    });

    const other = await startTestStack(testEnv({ TEMPORAL_TASK_QUEUE: t.env.TEMPORAL_TASK_QUEUE! }), false);
    try {
      const otherEnv = { ...t.env, DURABLE_INBOX_TENANT: other.defaultTenant.slug };
      const otherMcp = await connectStdio(otherEnv);
      try {
        const error = (await otherMcp.callTool({
          name: 'get_workflow',
          arguments: { workflowId: out.workflowId },
        })) as CallToolResult;
        expect(error.isError).toBe(true);
        expect(JSON.stringify(error.content)).toContain('NotFound: no workflow');
      } finally {
        await otherMcp.close();
      }
    } finally {
      await other.shutdown();
    }
  });
});
