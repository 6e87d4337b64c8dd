/**
 * Prompts per tenant, at the door: real MCP clients over HTTP with API keys of three tenants (A, B, C) and
 * of the operator organization (the stack's own, RETENTION_OPERATOR_TENANT's default), a real Postgres
 * and the LLM stand-in, whose recorded requests show which system prompt each analysis was sent.
 *
 * - A's rollout is invisible to B, and B can neither steer, abort nor roll it back: every answer is the
 *   text a tenant without any rollout reads.
 * - B's rollout (at 100%) never serves A's mail: A's analyze_email is sent the global prompt.
 * - The operator's global change reaches the tenants without a version of their own, and only them.
 * - Every audit row lands in the log of the tenant whose prompt changed, with the right actor.
 *
 * Uses `openai` (served by the stand-in), a provider whose global prompt no other test file changes.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { asCaller } from '../../supabase/caller.js';
import { ensureOrganization, generateApiKey, registerApiKey, type Tenant } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import { fixture, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { type LlmStandIn, standInEnv, startLlmStandIn } from '../support/llm-stand-in.js';
import { callError, callOk, connectHttp, ingestToEnd } from '../support/mcp-clients.js';

const PROVIDER = 'openai';
const pair = { tool: 'analyze_email', provider: PROVIDER };
const FAST = { stages: [100], bakeSeconds: 1, pollSeconds: 1, gates: { minSamplesPerArm: 0 }, wait: true };
const HELD = { stages: [50, 100], bakeSeconds: 600, pollSeconds: 1, gates: { minSamplesPerArm: 1000 } };

interface Rollout {
  rolloutId: string;
  workflowId: string;
  scope: 'global' | 'tenant';
  status: string;
  percent: number;
  baseline: { id: string; version: number };
  candidate: { id: string; version: number };
}
interface Versions {
  versions: {
    id: string;
    scope: 'global' | 'tenant';
    version: number;
    active: boolean;
    serving: boolean;
    rollout?: { rolloutId: string; role: string; percent: number };
  }[];
}
interface Analysed {
  workflowId: string;
  status: string;
  promptVersion: number;
  promptScope: 'global' | 'tenant';
}

describe('prompts per tenant', () => {
  let llm: LlmStandIn;
  let stack: Stack;
  let http: RunningHttpServer;
  const clients: McpClient[] = [];
  let operator: McpClient;
  let a: McpClient;
  let aViewer: McpClient;
  let b: McpClient;
  let c: McpClient;
  let tenantA: Tenant;
  let tenantB: Tenant;
  let tenantC: Tenant;
  const keyIds: Record<string, string> = {};
  /** The global prompt as it was: what every tenant without a version of its own is sent. */
  let globalContent: string;
  let globalVersion: number;

  beforeAll(async () => {
    llm = await startLlmStandIn();
    stack = await startTestStack(
      testEnv(standInEnv(llm, { AI_PROVIDER: PROVIDER, AI_ANALYSIS_ON_INGEST: 'false', MCP_HTTP_PORT: '0' })),
    );
    http = await startMcpHttp(stack, createLogger('warn'));
    tenantA = await ensureOrganization(stack.sql, uniqueName('prompts-a'));
    tenantB = await ensureOrganization(stack.sql, uniqueName('prompts-b'));
    tenantC = await ensureOrganization(stack.sql, uniqueName('prompts-c'));
    const connect = async (who: string, tenant: Tenant, role: 'admin' | 'member' | 'viewer') => {
      const key = generateApiKey();
      keyIds[who] = await registerApiKey(stack.sql, tenant.id, `prompts-${who}`, key, role);
      const client = await connectHttp(http.url, key);
      clients.push(client);
      return client;
    };
    operator = await connect('operator', stack.defaultTenant, 'admin');
    a = await connect('a', tenantA, 'admin');
    aViewer = await connect('a-viewer', tenantA, 'viewer');
    b = await connect('b', tenantB, 'admin');
    c = await connect('c', tenantC, 'member');
    const [g] = await stack.sql<{ content: string; version: number }[]>`
      select content, version from public.system_prompts
      where tenant_id is null and tool_name = 'analyze_email' and provider = ${PROVIDER} and is_active`;
    globalContent = g!.content;
    globalVersion = g!.version;
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await http?.close();
    await stack?.shutdown();
    await llm?.close();
  });

  const actor = (who: string) => `api-key:${keyIds[who]}`;

  /** Ingest an email as `client`, analyse it with analyze_email, and return what the stand-in was sent. */
  async function analyse(client: McpClient): Promise<{ out: Analysed; system: string }> {
    const marker = uniqueName('subject');
    const raw = fixture('quarterly-report.eml')
      .replace(/^Subject: .*$/im, `Subject: Report ${marker}`)
      .replace(/^Message-ID: <([^>]+)>/im, `Message-ID: <${marker}.$1>`);
    const { emailId } = await ingestToEnd<{ emailId: string }>(client, { raw });
    const out = await callOk<Analysed>(client, 'analyze_email', { emailId });
    expect(out.status).toBe('completed');
    const call = llm.calls.find((x) => x.body.messages.some((m) => m.content.includes(marker)));
    expect(call, `the stand-in got no call for ${marker}`).toBeDefined();
    return { out, system: call!.body.messages.find((m) => m.role === 'system')!.content };
  }

  async function auditOf(subjectIds: string[]) {
    return stack.sql<{ tenant_id: string; action: string; actor: string }[]>`
      select tenant_id, action, actor from public.audit_log where subject_id in ${stack.sql(subjectIds)}
      order by id`;
  }

  it("keeps A's rollout invisible to B; B can neither steer, abort nor roll it back", {
    timeout: 120_000,
  }, async () => {
    const started = await callOk<Rollout & { candidateCreated: boolean }>(a, 'start_prompt_rollout', {
      ...pair,
      content: 'A-OWN-ROLLOUT: you triage the mail of organization A. Answer with one JSON object.',
      description: "A's own triage prompt",
      ...HELD,
    });
    expect(started).toMatchObject({
      scope: 'tenant',
      workflowId: `prompt-rollout/tenant/${tenantA.id}/analyze_email/${PROVIDER}`,
      status: 'running',
      percent: 50,
      // A has no version of its own yet: the first baseline is the global one it inherits.
      baseline: { version: globalVersion },
      candidate: { version: 1 },
      candidateCreated: true,
    });

    // A sees its own version and the global one it inherits, each marked, both in its rollout.
    const seenByA = await callOk<Versions>(aViewer, 'list_prompt_versions', pair);
    expect(seenByA.versions.map((v) => [v.scope, v.version, v.active, v.serving, v.rollout?.role])).toEqual([
      ['tenant', 1, false, false, 'candidate'],
      ...[...Array(globalVersion).keys()]
        .reverse()
        .map((i) => [
          'global',
          i + 1,
          i + 1 === globalVersion,
          i + 1 === globalVersion,
          i + 1 === globalVersion ? 'baseline' : undefined,
        ]),
    ]);

    // B sees the global versions only, and no rollout on them.
    const seenByB = await callOk<Versions>(b, 'list_prompt_versions', pair);
    expect(seenByB.versions.length).toBeGreaterThan(0);
    expect(seenByB.versions.every((v) => v.scope === 'global' && v.rollout === undefined)).toBe(true);
    expect(seenByB.versions.map((v) => v.id)).not.toContain(started.candidate.id);
    expect(
      (await callOk<Versions>(b, 'list_prompt_versions', { ...pair, scope: 'tenant' })).versions,
    ).toEqual([]);

    // A's rollout id reads, for B, exactly like an id that never existed.
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await callError(b, 'get_prompt_rollout', { ...pair, rolloutId: started.rolloutId })).toBe(
      `NotFound: no rollout ${started.rolloutId} of analyze_email/${PROVIDER}`,
    );
    expect(await callError(b, 'get_prompt_rollout', { ...pair, rolloutId: missing })).toBe(
      `NotFound: no rollout ${missing} of analyze_email/${PROVIDER}`,
    );
    expect(await callError(b, 'get_prompt_rollout', pair)).toBe(
      `NotFound: analyze_email/${PROVIDER} has never been rolled out in your organization (the global default's rollouts: \`scope: "global"\`)`,
    );
    // Steering, aborting and rolling back as B reach nothing of A's: the answers of a tenant with no rollout.
    const none = `NotFound: no rollout of analyze_email/${PROVIDER} is running`;
    expect(
      await callError(b, 'control_prompt_rollout', { ...pair, action: 'abort', reason: 'mine now' }),
    ).toBe(none);
    expect(await callError(b, 'control_prompt_rollout', { ...pair, action: 'pause' })).toBe(none);
    expect(await callError(b, 'control_prompt_rollout', { ...pair, action: 'promote' })).toBe(none);
    expect(await callError(c, 'control_prompt_rollout', { ...pair, action: 'pause' })).toMatch(
      /^Forbidden: /,
    );
    expect(await callError(b, 'rollback_prompt', { ...pair, version: 1, reason: 'mine now' })).toBe(
      `NotFound: analyze_email/${PROVIDER} has no version 1`,
    );
    // ...and the global scope is the operator's, not B's.
    const notOperator =
      'Forbidden: changing the global default prompts is for the operators of this deployment ' +
      '(owners and admins of the organization RETENTION_OPERATOR_TENANT names)';
    expect(
      await callError(b, 'control_prompt_rollout', {
        ...pair,
        scope: 'global',
        action: 'abort',
        reason: 'x',
      }),
    ).toBe(notOperator);
    expect(
      await callError(b, 'rollback_prompt', {
        ...pair,
        scope: 'global',
        version: globalVersion,
        reason: 'x',
      }),
    ).toBe(notOperator);

    // Row Level Security is the second wall: as B, none of A's rows exist.
    const asB = await asCaller(stack.sql, { sub: keyIds.b, role: 'authenticated' }, async (tx) => {
      const [row] = await tx<{ prompts: number; rollouts: number; history: number; global: number }[]>`
        select (select count(*)::int from public.system_prompts where tenant_id = ${tenantA.id}) as prompts,
               (select count(*)::int from public.prompt_rollouts where tenant_id = ${tenantA.id}) as rollouts,
               (select count(*)::int from public.prompt_versions where tenant_id = ${tenantA.id}) as history,
               (select count(*)::int from public.system_prompts where tenant_id is null) as global`;
      return row!;
    });
    expect(asB).toMatchObject({ prompts: 0, rollouts: 0, history: 0 });
    expect(asB.global).toBeGreaterThan(0);

    // A's rollout is untouched, and A aborts it.
    expect(await callOk<Rollout>(aViewer, 'get_prompt_rollout', pair)).toMatchObject({
      rolloutId: started.rolloutId,
      status: 'running',
      percent: 50,
    });
    expect(
      await callOk<Rollout>(a, 'control_prompt_rollout', { ...pair, action: 'abort', reason: 'test done' }),
    ).toMatchObject({ status: 'aborted', percent: 0 });

    // Every row is in A's log, by A's key or A's rollout workflow; none in B's.
    const system = `workflow:${started.workflowId}`;
    const audit = await auditOf([started.rolloutId, started.candidate.id]);
    expect(audit.map((r) => [r.tenant_id, r.action, r.actor])).toEqual([
      [tenantA.id, 'prompt.version_created', actor('a')],
      [tenantA.id, 'prompt_rollout.started', actor('a')],
      [tenantA.id, 'prompt_rollout.stage', system],
      [tenantA.id, 'prompt_rollout.aborted', actor('a')],
    ]);
  });

  it("never serves B's rollout to A's mail", { timeout: 120_000 }, async () => {
    const started = await callOk<Rollout>(b, 'start_prompt_rollout', {
      ...pair,
      content: 'B-ONLY-PROMPT: you triage the mail of organization B. Answer with one JSON object.',
      description: "B's own triage prompt",
      ...HELD,
      stages: [100],
    });
    expect(started).toMatchObject({ scope: 'tenant', status: 'running', percent: 100 });

    // At 100% every email of B gets B's prompt...
    const ofB = await analyse(b);
    expect(ofB.system).toContain('B-ONLY-PROMPT');
    expect(ofB.out).toMatchObject({ promptScope: 'tenant', promptVersion: 1 });
    expect(ofB.out.workflowId).toMatch(new RegExp(`/${PROVIDER}-tenant-v1$`));
    // ...and no email of A or C does: they are sent the global prompt.
    for (const client of [a, a, a, c, c]) {
      const other = await analyse(client);
      expect(other.system).toBe(globalContent);
      expect(other.out).toMatchObject({ promptScope: 'global', promptVersion: globalVersion });
      expect(other.out.workflowId).toMatch(new RegExp(`/${PROVIDER}-v${globalVersion}$`));
    }
    const [perf] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from public.prompt_performance
      where prompt_version_id = ${started.candidate.id} and tenant_id <> ${tenantB.id}`;
    expect(perf!.n).toBe(0);

    await callOk(b, 'control_prompt_rollout', { ...pair, action: 'abort', reason: 'test done' });
    const audit = await auditOf([started.rolloutId, started.candidate.id]);
    expect(new Set(audit.map((r) => r.tenant_id))).toEqual(new Set([tenantB.id]));
    expect(audit.filter((r) => r.actor.startsWith('api-key:')).map((r) => r.actor)).toEqual([
      actor('b'),
      actor('b'),
      actor('b'),
    ]);
  });

  it('sends the operator’s global change to the tenants without a version of their own, only', {
    timeout: 180_000,
  }, async () => {
    // A gets a version of its own, active.
    const own = await callOk<Rollout>(a, 'start_prompt_rollout', {
      ...pair,
      content: 'A-OWN-ACTIVE: the triage prompt organization A chose. Answer with one JSON object.',
      description: "A's chosen prompt",
      ...FAST,
    });
    expect(own).toMatchObject({ scope: 'tenant', status: 'completed', candidate: { version: 2 } });

    // Only the operator changes the global set.
    expect(
      await callError(a, 'start_prompt_rollout', {
        ...pair,
        scope: 'global',
        content: 'x',
        description: 'y',
      }),
    ).toBe(
      'Forbidden: changing the global default prompts is for the operators of this deployment ' +
        '(owners and admins of the organization RETENTION_OPERATOR_TENANT names)',
    );
    const global = await callOk<Rollout>(operator, 'start_prompt_rollout', {
      ...pair,
      scope: 'global',
      content: 'GLOBAL-NEXT: the new default triage prompt. Answer with one JSON object.',
      description: 'The next default',
      ...FAST,
    });
    expect(global).toMatchObject({
      scope: 'global',
      workflowId: `prompt-rollout/analyze_email/${PROVIDER}`,
      status: 'completed',
      baseline: { version: globalVersion },
      candidate: { version: globalVersion + 1 },
    });

    // C and B (no version of their own active) get the new default; A keeps its own.
    for (const client of [c, b]) {
      const served = await analyse(client);
      expect(served.system).toContain('GLOBAL-NEXT');
      expect(served.out).toMatchObject({ promptScope: 'global', promptVersion: globalVersion + 1 });
    }
    const ofA = await analyse(a);
    expect(ofA.system).toContain('A-OWN-ACTIVE');
    expect(ofA.out).toMatchObject({ promptScope: 'tenant', promptVersion: 2 });

    // A returns to the default: from then on the global change reaches A too.
    expect(
      await callOk(a, 'rollback_prompt', { ...pair, version: 'global', reason: 'back to the default' }),
    ).toEqual({
      toolName: 'analyze_email',
      provider: PROVIDER,
      scope: 'tenant',
      activeScope: 'global',
      activeVersion: globalVersion + 1,
      previousVersion: 2,
      changed: true,
      closedRolloutId: null,
    });
    expect((await analyse(a)).system).toContain('GLOBAL-NEXT');

    // The global change is in the operator's log only; A's return to the default in A's (its subject is
    // the global version that serves A now).
    const globalAudit = await auditOf([global.rolloutId, global.candidate.id]);
    expect(globalAudit.map((r) => [r.tenant_id, r.action, r.actor])).toEqual([
      [stack.defaultTenant.id, 'prompt.version_created', actor('operator')],
      [stack.defaultTenant.id, 'prompt_rollout.started', actor('operator')],
      [stack.defaultTenant.id, 'prompt_rollout.stage', `workflow:${global.workflowId}`],
      [stack.defaultTenant.id, 'prompt_rollout.completed', `workflow:${global.workflowId}`],
      [tenantA.id, 'prompt.inherited', actor('a')],
    ]);

    expect(
      await callError(operator, 'rollback_prompt', {
        ...pair,
        scope: 'global',
        version: 'global',
        reason: 'x',
      }),
    ).toBe(
      'InvalidInput: `version: "global"` returns a tenant to the global default; in the global scope give a version number',
    );

    // Leave the global set as other files expect it.
    await callOk(operator, 'rollback_prompt', {
      ...pair,
      scope: 'global',
      version: globalVersion,
      reason: 'test done',
    });
    expect((await analyse(c)).system).toBe(globalContent);
  });
});
