/**
 * Fairness between tenants (issue 15): every run a tool starts carries the tenant as Temporal's fairness
 * key with the tenant's operator-set weight, and interactive calls a higher priority than bulk imports.
 * Real dev server (started with matching.enableFairness), real Postgres, a real MCP client per tenant;
 * the proof is what Temporal recorded on the runs and on their activities.
 */
import { describe, expect, it } from 'vitest';
import { PRIORITY_KEYS } from '../../app/priority.js';
import { toMboxEntry } from '../../core/mbox.js';
import { setTenantFairnessWeight } from '../../supabase/fairness.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { uniqueName } from '../support/harness.js';
import { useHttpStack } from '../support/http-stack.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';

const mail = (id: string) =>
  `From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: fair ${id}\r\nMessage-ID: <${id}@fair>\r\n\r\nHello ${id}.\r\n`;

describe('fairness between tenants', () => {
  const t = useHttpStack();

  it('a single email runs as its tenant, interactive, with the weight the operator set', async () => {
    const org = await ensureOrganization(t.stack.sql, uniqueName('fair-heavy'));
    await setTenantFairnessWeight(t.stack.sql, org.id, 4);
    const key = generateApiKey();
    await registerApiKey(t.stack.sql, org.id, uniqueName('key'), key);
    const mcp = await connectHttp(t.http.url, key);
    try {
      const out = await callOk<{ workflowId: string; runId: string }>(mcp, 'ingest_email', {
        raw: mail(uniqueName('one')),
      });
      const handle = t.stack.client.workflow.getHandle(out.workflowId, out.runId);
      expect((await handle.describe()).priority).toEqual({
        priorityKey: PRIORITY_KEYS.interactive,
        fairnessKey: org.id,
        fairnessWeight: 4,
      });
      // Its activities inherit it: the raw-message archive on the files queue runs as the same tenant.
      // (The answer comes at the commit, maybe before the archive is scheduled: read the ended run.)
      await handle.result();
      const scheduled = ((await handle.fetchHistory()).events ?? []).flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : [],
      );
      expect(scheduled.map((a) => a.activityType?.name)).toEqual(['archiveRawMessages']);
    } finally {
      await mcp.close();
    }
  });

  it('a mailbox import runs as its tenant at the bulk priority, below single emails; weight 1 by default', async () => {
    const id = uniqueName('mbox');
    const content = Buffer.from([0, 1].map((i) => toMboxEntry(mail(`${id}-${i}`))).join('')).toString(
      'base64',
    );
    const out = await callOk<{ workflowId: string; runId: string }>(t.mcp, 'ingest_mailbox', { content });
    const description = await t.stack.client.workflow.getHandle(out.workflowId, out.runId).describe();
    expect(description.priority).toEqual({
      priorityKey: PRIORITY_KEYS.bulk,
      fairnessKey: t.stack.defaultTenant.id,
      fairnessWeight: 1,
    });
    expect(PRIORITY_KEYS.interactive).toBeLessThan(PRIORITY_KEYS.bulk);
  });

  it('an upload and an analysis a caller waits for run as the tenant, interactive', async () => {
    const interactive = {
      priorityKey: PRIORITY_KEYS.interactive,
      fairnessKey: t.stack.defaultTenant.id,
      fairnessWeight: 1,
    };
    const upload = await callOk<{ workflowId: string; runId: string }>(t.mcp, 'upload_file', {
      bucket: 'uploads',
      filename: 'fair.txt',
      content: Buffer.from(uniqueName('fair upload')).toString('base64'),
    });
    const uploaded = t.stack.client.workflow.getHandle(upload.workflowId, upload.runId);
    expect((await uploaded.describe()).priority).toEqual(interactive);

    const email = await callOk<{ emailId: string }>(t.mcp, 'ingest_email', { raw: mail(uniqueName('an')) });
    const analysis = await callOk<{ workflowId: string; runId: string }>(t.mcp, 'analyze_email', {
      emailId: email.emailId,
      provider: 'heuristic',
    });
    const analysed = t.stack.client.workflow.getHandle(analysis.workflowId, analysis.runId);
    expect((await analysed.describe()).priority).toEqual(interactive);
  });

  it('refuses a weight Temporal would silently clamp', async () => {
    const org = await ensureOrganization(t.stack.sql, uniqueName('fair-bad'));
    await expect(setTenantFairnessWeight(t.stack.sql, org.id, 5000)).rejects.toThrow(
      /tenant_fairness_weight_check/,
    );
  });
});
