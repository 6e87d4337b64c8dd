/**
 * The application layer called directly, as the inbound endpoints and the IMAP connector will call it:
 * no MCP in between. Real Postgres and the real dev server, through a test stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps, Progress } from '../../app/deps.js';
import { getEmail, searchEmails } from '../../app/emails.js';
import { importMailbox, ingestEmail } from '../../app/ingest.js';
import type { Principal } from '../../app/principal.js';
import { launchRollout, listPromptVersions } from '../../app/prompts.js';
import { emailRetentionPolicy, runRetention } from '../../app/retention.js';
import { getWorkflow } from '../../app/runs.js';
import { createLogger } from '../../core/logger.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { stdioPrincipal } from '../../workers/local-identity.js';
import { toolContext } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { emailWorkflowId } from '../../workflows/ingest-email.contract.js';
import { mailboxWorkflowId } from '../../workflows/ingest-mailbox.contract.js';
import { fixture, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { generateMailbox } from '../support/mbox.js';

const mail = (id: string, subject: string) =>
  `From: Dana <dana@example.com>\r\nTo: team@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${id}>\r\n` +
  `Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n\r\nThe body of ${subject}.\r\n`;

describe('the application layer', () => {
  let stack: Stack;
  let owner: AppDeps;
  let other: AppDeps;
  let viewer: AppDeps;
  const log = createLogger('warn');

  beforeAll(async () => {
    stack = await startTestStack(testEnv());
    owner = toolContext(stack, await stdioPrincipal(stack.sql, stack.defaultTenant), log);
    const orgB = await ensureOrganization(stack.sql, uniqueName('app-b'));
    other = toolContext(stack, await stdioPrincipal(stack.sql, orgB), log);
    const viewerKey = await registerApiKey(
      stack.sql,
      stack.defaultTenant.id,
      'viewer',
      generateApiKey(),
      'viewer',
    );
    const asViewer: Principal = {
      actor: `api-key:${viewerKey}`,
      claims: { sub: viewerKey, role: 'authenticated' },
      tenants: [{ tenantId: stack.defaultTenant.id, role: 'viewer' }],
    };
    viewer = toolContext(stack, asViewer, log);
  });
  afterAll(async () => {
    await stack?.shutdown();
  });

  it('ingestEmail stores a message, reports progress, and getEmail reads it; another tenant reads NotFound', async () => {
    const progress: Progress[] = [];
    const id = `${uniqueName('app')}@example.com`;
    const out = await ingestEmail(owner, {
      raw: mail(id, 'Application layer'),
      onProgress: (p) => {
        progress.push(p);
      },
    });
    // Answered once the row is committed; the run goes on to archive the raw message.
    expect(out.status).toBe('running');
    expect(out.rawMessage).toEqual({ status: 'pending' });
    expect(out.created).toBe(true);
    expect(out.messageId).toBe(id);
    expect(out.workflowId).toMatch(/^email\/[^/]+\/[0-9a-f]{64}$/);
    expect(out.workflowId).toBe(emailWorkflowId(stack.defaultTenant.id, out.workflowId.split('/')[2]!));
    expect(progress).toEqual([
      { progress: 0, total: 3, message: 'storing' },
      { progress: 3, total: 3, message: 'stored' },
    ]);

    const email = await getEmail(owner, { emailId: out.emailId! });
    expect(email.subject).toBe('Application layer');
    expect(email.from).toEqual([{ name: 'Dana', address: 'dana@example.com' }]);
    expect(email.attachments).toEqual([]);

    await expect(getEmail(other, { emailId: out.emailId! })).rejects.toThrow(/no email .* for this caller/);
    await expect(getEmail(other, { emailId: out.emailId! })).rejects.toMatchObject({ type: 'NotFound' });
    const found = await searchEmails(other, { query: 'Application layer' });
    expect(found.results.map((r) => r.emailId)).not.toContain(out.emailId);

    // The same message again joins the stored run: nothing new.
    const again = await ingestEmail(owner, { raw: mail(id, 'Application layer') });
    expect(again.emailId).toBe(out.emailId);
    expect(again.workflowId).toBe(out.workflowId);

    // Without wait it answers at once; getWorkflow follows it, and hides it from another tenant.
    const quick = await ingestEmail(owner, { raw: fixture('quarterly-report.eml'), wait: false });
    expect(quick.status).toBe('running');
    const run = await getWorkflow(owner, { workflowId: quick.workflowId });
    expect(run.workflowType).toBe('ingestEmailWorkflow');
    await expect(getWorkflow(other, { workflowId: quick.workflowId })).rejects.toMatchObject({
      type: 'NotFound',
    });
  });

  it('importMailbox imports an uploaded mbox and reports every message', async () => {
    const box = generateMailbox(6, 0, 1 / 6, uniqueName('app-mbox'));
    const out = await importMailbox(owner, { content: Buffer.from(box.mbox).toString('base64') });
    expect(out.status).toBe('completed');
    expect(out.workflowId.startsWith(mailboxWorkflowId(stack.defaultTenant.id, ''))).toBe(true);
    expect(out.report).toMatchObject({ stored: box.unique, duplicates: box.duplicates, failed: 0 });

    await expect(importMailbox(owner, {})).rejects.toMatchObject({ type: 'InvalidPath' });
  });

  it('refuses by role: a viewer may read, not ingest, dry-run, delete, set policy or change prompts', async () => {
    await expect(runRetention(viewer, { dryRun: true })).rejects.toThrow(
      'a retention dry run needs the owner or admin role; this identity is viewer',
    );
    await expect(ingestEmail(viewer, { raw: fixture('quarterly-report.eml') })).rejects.toThrow(
      'ingesting email needs the owner, admin or member role; this identity is viewer',
    );
    await expect(runRetention(viewer, { dryRun: false })).rejects.toThrow(
      'deleting data by retention policy needs the owner or admin role; this identity is viewer',
    );
    await expect(runRetention(viewer, { dryRun: false })).rejects.toMatchObject({ type: 'Forbidden' });
    await expect(runRetention(owner, { scope: 'all', dryRun: true, wait: false })).resolves.toMatchObject({
      status: 'running',
    });
    await expect(emailRetentionPolicy(viewer, { days: 30 })).rejects.toMatchObject({ type: 'Forbidden' });
    await expect(emailRetentionPolicy(viewer, {})).resolves.toMatchObject({ changed: false });
    await expect(
      launchRollout(viewer, { tool: 'analyze_email', content: 'x', description: 'y' }),
    ).rejects.toThrow(/changing prompts needs the owner or admin role/);
    await expect(listPromptVersions(viewer, { tool: 'analyze_email' })).resolves.toMatchObject({
      versions: expect.any(Array),
    });
    await expect(
      getEmail(owner, { emailId: '00000000-0000-4000-8000-000000000000', tenant: 'nope' }),
    ).rejects.toMatchObject({ type: 'Forbidden' });
  });
});
