/**
 * The permission matrix (app/permissions.ts) holds on every tool: each tool is called as an owner (a
 * Supabase access token), an admin, a member and a viewer (API keys) through a real MCP client over
 * HTTP. An allowed call may still fail for its own reasons (a rollout that is not running), but never
 * Forbidden; a refused one answers exactly `Forbidden: <what> needs the <roles> role; this identity is
 * <role>`. The test is driven by the matrix AND checked against its own copy of it below, so a change
 * to the matrix shows up here as a failure, not as a silently passing test.
 */
import { randomUUID } from 'node:crypto';
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS, type Action, forbiddenText, mayDo, PERMISSIONS, ROLES } from '../../app/permissions.js';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { addMember, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv } from '../support/harness.js';
import { generateMailbox } from '../support/mbox.js';
import { callOk, connectHttp, ingestToEnd, textOf } from '../support/mcp-clients.js';

const JWT_SECRET = 'permissions-test-jwt-secret-at-least-32-bytes';
type Role = (typeof ROLES)[number];

/** The matrix as this test expects it, written out by hand. */
const EXPECTED: Record<Action, Role[]> = {
  search_emails: ['owner', 'admin', 'member', 'viewer'],
  get_email: ['owner', 'admin', 'member', 'viewer'],
  get_workflow: ['owner', 'admin', 'member', 'viewer'],
  get_prompt_rollout: ['owner', 'admin', 'member', 'viewer'],
  list_prompt_versions: ['owner', 'admin', 'member', 'viewer'],
  performance_report: ['owner', 'admin', 'member', 'viewer'],
  'email_retention_policy.read': ['owner', 'admin', 'member', 'viewer'],
  'retention_schedule.describe': ['owner', 'admin', 'member', 'viewer'],
  'inbound_addresses.list': ['owner', 'admin', 'member', 'viewer'],
  list_mailboxes: ['owner', 'admin', 'member', 'viewer'],
  get_mailbox: ['owner', 'admin', 'member', 'viewer'],
  ingest_email: ['owner', 'admin', 'member'],
  ingest_mailbox: ['owner', 'admin', 'member'],
  upload_file: ['owner', 'admin', 'member'],
  analyze_email: ['owner', 'admin', 'member'],
  'analyze_email.force': ['owner', 'admin'],
  start_prompt_rollout: ['owner', 'admin'],
  control_prompt_rollout: ['owner', 'admin'],
  rollback_prompt: ['owner', 'admin'],
  retention_run_now: ['owner', 'admin'],
  'retention_run_now.dryRun': ['owner', 'admin'],
  'retention_schedule.change': ['owner', 'admin'],
  'email_retention_policy.set': ['owner', 'admin'],
  'inbound_addresses.change': ['owner', 'admin'],
  connect_mailbox: ['owner', 'admin'],
  pause_mailbox: ['owner', 'admin'],
  resume_mailbox: ['owner', 'admin'],
  resync_mailbox: ['owner', 'admin'],
  disconnect_mailbox: ['owner', 'admin'],
  create_webhook: ['owner', 'admin'],
  list_webhooks: ['owner', 'admin'],
  delete_webhook: ['owner', 'admin'],
  test_webhook: ['owner', 'admin'],
  list_webhook_deliveries: ['owner', 'admin'],
  replay_webhook_delivery: ['owner', 'admin'],
  rotate_webhook_secret: ['owner', 'admin'],
  resume_webhook: ['owner', 'admin'],
};

/** The refusals, word for word, as a caller reads them. */
const NEEDS_ADMIN = 'needs the owner or admin role';
const NEEDS_MEMBER = 'needs the owner, admin or member role';
const EXPECTED_TEXT: Partial<Record<Action, string>> = {
  ingest_email: `ingesting email ${NEEDS_MEMBER}`,
  ingest_mailbox: `importing a mailbox ${NEEDS_MEMBER}`,
  upload_file: `uploading a file ${NEEDS_MEMBER}`,
  analyze_email: `analysing an email ${NEEDS_MEMBER}`,
  'analyze_email.force': `re-analysing an email (force) ${NEEDS_ADMIN}`,
  start_prompt_rollout: `changing prompts ${NEEDS_ADMIN}`,
  control_prompt_rollout: `changing prompts ${NEEDS_ADMIN}`,
  rollback_prompt: `changing prompts ${NEEDS_ADMIN}`,
  retention_run_now: `deleting data by retention policy ${NEEDS_ADMIN}`,
  'retention_run_now.dryRun': `a retention dry run ${NEEDS_ADMIN}`,
  'retention_schedule.change': `changing the retention schedule ${NEEDS_ADMIN}`,
  'email_retention_policy.set': `changing the email retention policy ${NEEDS_ADMIN}`,
  'inbound_addresses.change': `changing inbound addresses ${NEEDS_ADMIN}`,
  connect_mailbox: `connecting an IMAP mailbox ${NEEDS_ADMIN}`,
  pause_mailbox: `pausing an IMAP mailbox ${NEEDS_ADMIN}`,
  resume_mailbox: `resuming an IMAP mailbox ${NEEDS_ADMIN}`,
  resync_mailbox: `re-syncing an IMAP mailbox ${NEEDS_ADMIN}`,
  disconnect_mailbox: `disconnecting an IMAP mailbox ${NEEDS_ADMIN}`,
  create_webhook: `creating a webhook ${NEEDS_ADMIN}`,
  list_webhooks: `listing webhooks ${NEEDS_ADMIN}`,
  delete_webhook: `deleting a webhook ${NEEDS_ADMIN}`,
  test_webhook: `testing a webhook ${NEEDS_ADMIN}`,
  list_webhook_deliveries: `listing webhook deliveries ${NEEDS_ADMIN}`,
  replay_webhook_delivery: `replaying a webhook delivery ${NEEDS_ADMIN}`,
  rotate_webhook_secret: `rotating a webhook's secret ${NEEDS_ADMIN}`,
  resume_webhook: `resuming a webhook ${NEEDS_ADMIN}`,
};

describe('the permission matrix, every tool as every role over MCP HTTP', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  const clients = {} as Record<Role, McpClient>;
  let emailId: string;
  let workflowId: string;

  /** One call per action, with arguments that do no lasting harm when allowed. */
  const calls = (): Record<Action, [string, Record<string, unknown>]> => ({
    search_emails: ['search_emails', { query: 'quarterly' }],
    get_email: ['get_email', { emailId }],
    get_workflow: ['get_workflow', { workflowId }],
    get_prompt_rollout: ['get_prompt_rollout', { tool: 'analyze_email' }],
    list_prompt_versions: ['list_prompt_versions', { tool: 'analyze_email' }],
    performance_report: ['performance_report', {}],
    'email_retention_policy.read': ['email_retention_policy', {}],
    'retention_schedule.describe': ['retention_schedule', { action: 'describe' }],
    ingest_email: ['ingest_email', { raw: fixture('quarterly-report.eml'), wait: false }],
    ingest_mailbox: [
      'ingest_mailbox',
      { content: Buffer.from(generateMailbox(2, 0, 0, 'perm').mbox).toString('base64'), wait: false },
    ],
    upload_file: [
      'upload_file',
      { bucket: 'permissions', filename: 'note.txt', content: Buffer.from('hello').toString('base64') },
    ],
    analyze_email: ['analyze_email', { emailId, wait: false }],
    'analyze_email.force': ['analyze_email', { emailId, force: true, wait: false }],
    // Allowed, these stop at a check after the permission one: nothing global changes.
    start_prompt_rollout: [
      'start_prompt_rollout',
      { tool: 'analyze_email', content: 'x', version: 1, description: 'both: refused as input' },
    ],
    control_prompt_rollout: ['control_prompt_rollout', { tool: 'analyze_email', action: 'pause' }],
    rollback_prompt: ['rollback_prompt', { tool: 'analyze_email', version: 999_999, reason: 'matrix' }],
    retention_run_now: ['retention_run_now', { wait: false }],
    'retention_run_now.dryRun': ['retention_run_now', { dryRun: true, wait: false }],
    'retention_schedule.change': ['retention_schedule', { action: 'pause' }],
    'email_retention_policy.set': ['email_retention_policy', { days: null }],
    'inbound_addresses.list': ['inbound_addresses', { action: 'list' }],
    // Allowed, this removes an address the tenant never had: nothing changes.
    'inbound_addresses.change': ['inbound_addresses', { action: 'remove', domain: 'never-added.example' }],
    list_mailboxes: ['list_mailboxes', {}],
    // Allowed, these stop after the permission check: nothing listens on port 1, no such mailbox.
    get_mailbox: ['get_mailbox', { mailboxId: randomUUID() }],
    connect_mailbox: [
      'connect_mailbox',
      { host: '127.0.0.1', port: 1, tls: 'none', username: 'matrix', password: 'not-a-real-password' },
    ],
    pause_mailbox: ['pause_mailbox', { mailboxId: randomUUID() }],
    resume_mailbox: ['resume_mailbox', { mailboxId: randomUUID() }],
    resync_mailbox: ['resync_mailbox', { mailboxId: randomUUID() }],
    disconnect_mailbox: ['disconnect_mailbox', { mailboxId: randomUUID() }],
    // Allowed, these stop after the permission check: a URL no webhook may have, no such endpoint.
    create_webhook: ['create_webhook', { url: 'ftp://matrix.invalid/hook' }],
    list_webhooks: ['list_webhooks', {}],
    delete_webhook: ['delete_webhook', { endpointId: randomUUID() }],
    test_webhook: ['test_webhook', { endpointId: randomUUID() }],
    list_webhook_deliveries: ['list_webhook_deliveries', { endpointId: randomUUID() }],
    replay_webhook_delivery: ['replay_webhook_delivery', { deliveryId: randomUUID() }],
    rotate_webhook_secret: ['rotate_webhook_secret', { endpointId: randomUUID() }],
    resume_webhook: ['resume_webhook', { endpointId: randomUUID() }],
  });

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ MCP_HTTP_PORT: '0', SUPABASE_JWT_SECRET: JWT_SECRET }));
    http = await startMcpHttp(stack, createLogger('warn'));
    const tenantId = stack.defaultTenant.id;
    const ownerId = randomUUID();
    await addMember(stack.sql, tenantId, ownerId, 'owner');
    const token = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(ownerId)
      .setAudience('authenticated')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(JWT_SECRET));
    clients.owner = await connectHttp(http.url, token);
    for (const role of ['admin', 'member', 'viewer'] as const) {
      const key = generateApiKey();
      await registerApiKey(stack.sql, tenantId, `perm-${role}`, key, role);
      clients[role] = await connectHttp(http.url, key);
    }
    const ingested = await ingestToEnd<{ emailId: string; workflowId: string }>(clients.admin, {
      raw: fixture('quarterly-report.eml'),
    });
    emailId = ingested.emailId;
    workflowId = ingested.workflowId;
  });
  afterAll(async () => {
    await Promise.all(Object.values(clients).map((c) => c.close()));
    await http?.close();
    await stack?.shutdown();
  });

  it('the matrix is the one this test expects, and covers every tool', async () => {
    const actual = Object.fromEntries(ACTIONS.map((a) => [a, ROLES.filter((r) => mayDo(r, a))]));
    expect(actual).toEqual(EXPECTED);
    const { tools } = await clients.viewer.listTools();
    const called = new Set(Object.values(calls()).map(([tool]) => tool));
    expect([...called].sort()).toEqual(tools.map((t) => t.name).sort());
    for (const [action, text] of Object.entries(EXPECTED_TEXT)) {
      expect(forbiddenText(action as Action, 'viewer')).toBe(`${text}; this identity is viewer`);
    }
  });

  it('Temporal UI links go to owners and admins only; members and viewers get the id and status', async () => {
    const seen: Record<string, unknown> = {};
    for (const role of ROLES) {
      const run = await callOk<Record<string, unknown>>(clients[role], 'get_workflow', { workflowId });
      expect(run).toMatchObject({ workflowId, status: 'completed' });
      seen[`get_workflow as ${role}`] = run.temporalUiUrl;
    }
    for (const role of ['owner', 'admin', 'member'] as const) {
      const out = await callOk<Record<string, unknown>>(clients[role], 'analyze_email', {
        emailId,
        wait: false,
      });
      expect(out).toMatchObject({ workflowId: expect.any(String), status: expect.any(String) });
      seen[`analyze_email as ${role}`] = out.temporalUiUrl;
      const ingest = await callOk<Record<string, unknown>>(clients[role], 'ingest_email', {
        raw: fixture('quarterly-report.eml'),
      });
      expect(ingest).toMatchObject({ workflowId, status: 'completed' });
      seen[`ingest_email as ${role}`] = ingest.temporalUiUrl;
    }
    const link = expect.stringMatching(/^http:\/\/localhost:8233\/namespaces\/.+\/workflows\//);
    expect(seen).toEqual({
      'get_workflow as owner': link,
      'get_workflow as admin': link,
      'get_workflow as member': undefined,
      'get_workflow as viewer': undefined,
      'analyze_email as owner': link,
      'analyze_email as admin': link,
      'analyze_email as member': undefined,
      'ingest_email as owner': link,
      'ingest_email as admin': link,
      'ingest_email as member': undefined,
    });
  });

  for (const role of ROLES) {
    it(`as ${role}: allowed where the matrix says, else Forbidden saying which role is needed`, async () => {
      const outcomes: Record<string, string> = {};
      const wanted: Record<string, string> = {};
      for (const [action, [tool, args]] of Object.entries(calls()) as [
        Action,
        [string, Record<string, unknown>],
      ][]) {
        const result = (await clients[role].callTool({ name: tool, arguments: args })) as CallToolResult;
        const text = result.isError ? textOf(result) : '';
        outcomes[action] = text.startsWith('Forbidden:') ? text : 'allowed';
        wanted[action] = EXPECTED[action].includes(role)
          ? 'allowed'
          : `Forbidden: ${EXPECTED_TEXT[action]}; this identity is ${role}`;
        expect(PERMISSIONS[action]).toBeDefined();
      }
      expect(outcomes).toEqual(wanted);
    });
  }
});
