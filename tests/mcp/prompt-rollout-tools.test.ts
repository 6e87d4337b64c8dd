/**
 * The prompt tools through real MCP clients: an admin over stdio rolls a new prompt out while ingest_email
 * traffic is analysed through the LLM stand-in, steers it, reads it, and rolls back; members and viewers
 * read but cannot change prompts; PROMPT_ADMIN_ORGS names who changes the global set. Every change is in
 * the audit log.
 *
 * The admin here is the stack's own organization, the operator: it changes the global default set
 * (`scope: "global"`), which its own mail (no version of its own) is served by. Per-tenant prompts are
 * tests/mcp/tenant-prompts.test.ts.
 *
 * Uses `moonshot` (served by the stand-in), a provider no other test file analyses with.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import { fixture, testEnv } from '../support/harness.js';
import { type LlmStandIn, standInEnv, startLlmStandIn } from '../support/llm-stand-in.js';
import { callError, callOk, connectHttp, ingestToEnd } from '../support/mcp-clients.js';
import { statusWhen } from '../support/rollouts.js';
import { useStdioStack } from '../support/stdio-stack.js';

const PROVIDER = 'moonshot';
const pair = { tool: 'analyze_email', provider: PROVIDER, scope: 'global' };

interface Rollout {
  rolloutId: string;
  workflowId: string;
  status: string;
  stage: number;
  percent: number;
  stages: number[];
  baseline: { id: string; version: number };
  candidate: { id: string; version: number };
  startedBy: string;
  metrics: { candidate: { calls: number }; baseline: { calls: number } } | null;
  evidence: { percent: number; passed: boolean }[];
  reason: string | null;
  live: boolean;
  temporalUiUrl: string;
  candidateCreated?: boolean;
}
interface Versions {
  versions: {
    version: number;
    active: boolean;
    createdBy: string;
    rollout?: { role: string; percent: number };
  }[];
}

describe('prompt tools over MCP', () => {
  let llm: LlmStandIn;
  const t = useStdioStack(async () => {
    llm = await startLlmStandIn();
    return testEnv(standInEnv(llm, { AI_PROVIDER: PROVIDER, MCP_HTTP_PORT: '0' }));
  });
  const servers: RunningHttpServer[] = [];
  const clients: McpClient[] = [];
  let member: McpClient;
  let viewer: McpClient;
  let outsider: McpClient;

  beforeAll(async () => {
    const log = createLogger('warn');
    const http = await startMcpHttp(t.stack, log);
    // The same stack, configured so that only another organization's admins may change prompts.
    const narrowed = await startMcpHttp(
      {
        ...t.stack,
        config: { ...t.stack.config, rollouts: { ...t.stack.config.rollouts, adminOrgs: ['ops-org'] } },
      },
      log,
    );
    servers.push(http, narrowed);
    const key = async (role: 'admin' | 'member' | 'viewer') => {
      const k = generateApiKey();
      await registerApiKey(t.sql, t.tenantId, `rollout-${role}`, k, role);
      return k;
    };
    member = await connectHttp(http.url, await key('member'));
    viewer = await connectHttp(http.url, await key('viewer'));
    outsider = await connectHttp(narrowed.url, await key('admin'));
    clients.push(member, viewer, outsider);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    for (const s of servers) await s.close();
    await llm?.close();
  });

  it('rolls a prompt out, steers it, and rolls back, as an admin; every change audited', {
    timeout: 120_000,
  }, async () => {
    const before = await callOk<Versions>(viewer, 'list_prompt_versions', pair);
    expect(before.versions.map((v) => [v.version, v.active])).toEqual([[1, true]]);

    const started = await callOk<Rollout>(t.mcp, 'start_prompt_rollout', {
      ...pair,
      content: 'You are an email triage assistant, version two. Answer with one JSON object.',
      description: 'Version two of the triage prompt',
      stages: [50, 100],
      bakeSeconds: 300,
      pollSeconds: 1,
      gates: { minSamplesPerArm: 2, maxP95LatencyRatio: 20 },
    });
    expect(started).toMatchObject({
      workflowId: 'prompt-rollout/analyze_email/moonshot',
      status: 'running',
      stage: 0,
      percent: 50,
      baseline: { version: 1 },
      candidate: { version: 2 },
      startedBy: `stdio:${t.stack.defaultTenant.slug}`,
      candidateCreated: true,
      live: true,
    });
    expect(started.temporalUiUrl).toContain(encodeURIComponent(started.workflowId));

    // One rollout per tool/provider: the second start names the running one, and creates nothing.
    expect(
      await callError(t.mcp, 'start_prompt_rollout', {
        ...pair,
        content: 'A third prompt.',
        description: 'too soon',
      }),
    ).toMatch(
      /^RolloutRunning: a rollout of the global analyze_email\/moonshot is already running: candidate v2 over v1, running at 50% \(stage 1 of 2\), started by stdio:\S+, since \d{4}-\d\d-\d\dT.*Steer it with control_prompt_rollout/,
    );
    const listed = await callOk<Versions>(member, 'list_prompt_versions', pair);
    expect(listed.versions.map((v) => [v.version, v.active, v.rollout?.role, v.rollout?.percent])).toEqual([
      [2, false, 'candidate', 50],
      [1, true, 'baseline', 50],
    ]);

    // Steering: pause, refusals that name the reason, resume.
    expect(
      await callOk<Rollout>(t.mcp, 'control_prompt_rollout', { ...pair, action: 'pause' }),
    ).toMatchObject({
      status: 'paused',
      percent: 50,
    });
    expect(await callError(t.mcp, 'control_prompt_rollout', { ...pair, action: 'pause' })).toBe(
      'InvalidTransition: the rollout is already paused',
    );
    expect(
      await callError(t.mcp, 'control_prompt_rollout', { ...pair, action: 'setStage', percent: 42 }),
    ).toBe('InvalidTransition: 42% is not a stage of this rollout; its stages are 50%, 100%');
    expect(await callError(t.mcp, 'control_prompt_rollout', { ...pair, action: 'abort' })).toBe(
      'InvalidInput: abort needs a `reason`',
    );
    expect(await callError(t.mcp, 'rollback_prompt', { ...pair, version: 1, reason: 'now' })).toMatch(
      /^RolloutRunning: /,
    );
    expect(
      await callOk<Rollout>(t.mcp, 'control_prompt_rollout', { ...pair, action: 'resume' }),
    ).toMatchObject({
      status: 'running',
    });

    // Ingested email is analysed by the arm its bucket picks; the live status shows the calls so far.
    const emails: string[] = [];
    for (let i = 0; emails.length < 12 && i < 40; i++) {
      const raw = fixture('quarterly-report.eml').replace(
        /^Message-ID: <([^>]+)>/im,
        `Message-ID: <mcp-${i}-${Date.now()}.$1>`,
      );
      const out = await ingestToEnd<{ emailId: string; analysisWorkflowId: string }>(t.mcp, {
        raw,
      });
      await t.stack.client.workflow.getHandle(out.analysisWorkflowId).result();
      emails.push(out.emailId);
      const live = await callOk<Rollout>(viewer, 'get_prompt_rollout', pair);
      if (live.percent === 100) break;
    }
    const versions = await t.sql<{ version: number }[]>`
      select p.version from public.ai_analyses a join public.system_prompts p on p.id = a.prompt_version_id
      where a.email_id in ${t.sql(emails)}`;
    expect(new Set(versions.map((v) => v.version))).toEqual(new Set([1, 2]));

    const handle = t.stack.client.workflow.getHandle(started.workflowId);
    await statusWhen(handle, (s) => s.percent === 100 || s.status !== 'running');
    const promotedOrDone = await callOk<Rollout>(viewer, 'get_prompt_rollout', pair);
    expect(promotedOrDone.evidence[0]).toMatchObject({ percent: 50, passed: true });

    // At 100% every new email gets the candidate, and enough of them complete the last stage.
    for (let i = 0; i < 6; i++) {
      const raw = fixture('finance-invoice-en.eml').replace(
        /^Message-ID: <([^>]+)>/im,
        `Message-ID: <last-${i}-${Date.now()}.$1>`,
      );
      const out = await ingestToEnd<{ analysisWorkflowId: string }>(t.mcp, { raw });
      expect(out.analysisWorkflowId).toMatch(/moonshot-v2$/);
    }
    await handle.result();
    const done = await callOk<Rollout>(member, 'get_prompt_rollout', pair);
    expect(done).toMatchObject({ status: 'completed', percent: 100, live: false, candidate: { version: 2 } });
    expect(done.evidence.map((e) => [e.percent, e.passed])).toEqual([
      [50, true],
      [100, true],
    ]);
    expect(await callError(t.mcp, 'control_prompt_rollout', { ...pair, action: 'resume' })).toMatch(
      /^NotFound: no rollout of the global analyze_email\/moonshot is running \(the last one, candidate v2, ended completed at /,
    );

    // Roll back to v1: the same audited path, at once, for all traffic.
    expect(
      await callOk(t.mcp, 'rollback_prompt', { ...pair, version: 1, reason: 'v2 summaries are too terse' }),
    ).toEqual({
      toolName: 'analyze_email',
      provider: PROVIDER,
      scope: 'global',
      activeScope: 'global',
      activeVersion: 1,
      previousVersion: 2,
      changed: true,
      closedRolloutId: null,
    });
    const after = await callOk<Versions>(viewer, 'list_prompt_versions', pair);
    expect(after.versions.map((v) => [v.version, v.active])).toEqual([
      [2, false],
      [1, true],
    ]);

    // An existing version can be rolled out again, and aborted with a reason.
    const again = await callOk<Rollout>(t.mcp, 'start_prompt_rollout', {
      ...pair,
      version: 2,
      pollSeconds: 1,
    });
    expect(again).toMatchObject({
      candidate: { version: 2 },
      baseline: { version: 1 },
      candidateCreated: false,
    });
    const aborted = await callOk<Rollout>(t.mcp, 'control_prompt_rollout', {
      ...pair,
      action: 'abort',
      reason: 'wrong week for this',
    });
    expect(aborted).toMatchObject({ status: 'aborted', percent: 0, live: false });
    expect(aborted.reason).toBe(`aborted by stdio:${t.stack.defaultTenant.slug}: wrong week for this`);
    expect(
      await callOk<Rollout>(viewer, 'get_prompt_rollout', { ...pair, rolloutId: started.rolloutId }),
    ).toMatchObject({
      rolloutId: started.rolloutId,
      status: 'completed',
    });

    const audit = await t.sql<{ action: string; actor: string }[]>`
      select action, actor from public.audit_log
      where tenant_id = ${t.tenantId} and (action like 'prompt%') order by id`;
    const stdio = `stdio:${t.stack.defaultTenant.slug}`;
    const system = 'workflow:prompt-rollout/analyze_email/moonshot';
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['prompt.version_created', stdio],
      ['prompt_rollout.started', stdio],
      ['prompt_rollout.stage', system],
      ['prompt_rollout.paused', stdio],
      ['prompt_rollout.resumed', stdio],
      ['prompt_rollout.stage', system],
      ['prompt_rollout.completed', system],
      ['prompt.activated', stdio],
      ['prompt_rollout.started', stdio],
      ['prompt_rollout.stage', system],
      ['prompt_rollout.aborted', stdio],
    ]);
  });

  it('lets members and viewers read but not change prompts; PROMPT_ADMIN_ORGS names the global admins', async () => {
    const forbidden =
      /^Forbidden: changing prompts needs the owner or admin role; this identity is (member|viewer)$/;
    for (const client of [member, viewer]) {
      expect(
        await callError(client, 'start_prompt_rollout', { ...pair, content: 'x', description: 'y' }),
      ).toMatch(forbidden);
      expect(await callError(client, 'control_prompt_rollout', { ...pair, action: 'pause' })).toMatch(
        forbidden,
      );
      expect(await callError(client, 'rollback_prompt', { ...pair, version: 1, reason: 'z' })).toMatch(
        forbidden,
      );
      expect((await callOk<Versions>(client, 'list_prompt_versions', pair)).versions.length).toBeGreaterThan(
        0,
      );
    }
    expect(await callError(outsider, 'rollback_prompt', { ...pair, version: 2, reason: 'z' })).toBe(
      `Forbidden: the global default prompts are changed by the admins of ops-org (PROMPT_ADMIN_ORGS), not of "${t.stack.defaultTenant.slug}"`,
    );
    // It names who changes the global set only: an organization's admins still change their own prompt.
    expect(
      await callError(outsider, 'rollback_prompt', { ...pair, scope: 'tenant', version: 2, reason: 'z' }),
    ).toBe(`NotFound: analyze_email/${PROVIDER} has no version 2`);
    // Refused calls changed nothing.
    const [count] = await t.sql<{ n: number }[]>`
      select count(*)::int as n from public.system_prompts
      where tenant_id is null and tool_name = 'analyze_email' and provider = ${PROVIDER}`;
    expect(count!.n).toBe(2);
    expect(await callError(t.mcp, 'start_prompt_rollout', { ...pair, content: 'x' })).toBe(
      'InvalidInput: a new version needs a `description` of the change',
    );
    expect(await callError(t.mcp, 'start_prompt_rollout', { ...pair, version: 2, stages: [10, 50] })).toBe(
      'InvalidInput: stages: the last stage must be 100% (passing it makes the candidate active)',
    );
    expect(await callError(t.mcp, 'start_prompt_rollout', { ...pair, version: 1 })).toBe(
      'InvalidInput: the candidate is v1, the active version already: nothing to roll out',
    );
    expect(await callError(t.mcp, 'start_prompt_rollout', { ...pair, version: 9 })).toBe(
      'NotFound: the global analyze_email/moonshot has no version 9',
    );
  });
});
