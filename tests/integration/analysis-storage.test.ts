/**
 * The analysis tables on a real Postgres: seeded prompts, immutable versions, one active version per
 * tool/provider, idempotent writes (first result wins without force; a metric call key is written
 * once), and Row Level Security on the tenant tables.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../core/ai-providers.js';
import type { Analysis } from '../../core/analysis.js';
import { type AnalysisRecord, recordAiCall, storeEmailAnalysis } from '../../supabase/analyses.js';
import { asCaller } from '../../supabase/caller.js';
import type { Sql } from '../../supabase/db.js';
import { resolvePromptVersion } from '../../supabase/prompts.js';
import { addMember, ensureOrganization, type Tenant } from '../../supabase/tenants.js';
import { seedEmail } from '../support/analysis.js';
import { testDb, uniqueName } from '../support/harness.js';
import { VALID_ANALYSIS } from '../support/llm-stand-in.js';

describe('analysis storage', () => {
  let sql: Sql;
  let orgA: Tenant;
  let orgB: Tenant;
  const userA = randomUUID();
  let emailA: string;
  let promptId: string;

  beforeAll(async () => {
    sql = testDb();
    orgA = await ensureOrganization(sql, uniqueName('an-a'));
    orgB = await ensureOrganization(sql, uniqueName('an-b'));
    await addMember(sql, orgA.id, userA, 'member');
    emailA = await seedEmail(sql, orgA.id);
    promptId = (
      await resolvePromptVersion(sql, {
        tenantId: orgA.id,
        toolName: 'analyze_email',
        provider: 'openai',
        subjectKey: emailA,
      })
    ).id;
  });
  afterAll(() => sql?.end());

  const record = (result: Analysis): AnalysisRecord => ({
    promptVersionId: promptId,
    provider: 'openai',
    model: 'gpt-4o-mini',
    result,
    inputTokens: 10,
    outputTokens: 5,
    tokens: 15,
    durationMs: 12,
    cost: 0.000004,
    workflowId: 'wf',
  });

  it('seeds version 1 of the analysis prompt for every provider, activated, with its SHA-256', async () => {
    const rows = await sql<{ provider: string; version: number; content: string; content_sha256: string }[]>`
      select provider, version, content, content_sha256 from public.system_prompts
      where tenant_id is null and tool_name = 'analyze_email' and version = 1 order by provider`;
    expect(rows.map((r) => r.provider).sort()).toEqual([...PROVIDERS].sort());
    for (const row of rows) {
      expect(row.version).toBe(1);
      expect(row.content_sha256).toBe(createHash('sha256').update(row.content).digest('hex'));
    }
    // The migration's own events: prompt-rollout tests activate other versions in the same database.
    const [history] = await sql`
      select count(*)::int as n from public.prompt_versions
      where tool_name = 'analyze_email' and event = 'activated' and actor = 'migration 20261123002000'`;
    expect(history!.n).toBe(PROVIDERS.length);
  });

  it('keeps prompt content immutable and at most one version active', async () => {
    await expect(
      sql`update public.system_prompts set content = 'changed' where id = ${promptId}`,
    ).rejects.toThrow(/immutable: create a new version instead/);
    await expect(sql`
      insert into public.system_prompts (tool_name, provider, version, content, content_sha256, is_active, created_by, change_description)
      values ('analyze_email', 'openai', 99, 'x', ${'0'.repeat(64)}, true, 'test', 'second active')`).rejects.toThrow(
      /system_prompts_one_active_idx/,
    );
  });

  it('stores the first result without force and replaces it with force', async () => {
    const first = await storeEmailAnalysis(sql, orgA.id, emailA, record(VALID_ANALYSIS), false);
    const second = await storeEmailAnalysis(
      sql,
      orgA.id,
      emailA,
      record({ ...VALID_ANALYSIS, category: 'spam' }),
      false,
    );
    expect(first.stored).toBe(true);
    expect(second).toEqual({ analysisId: first.analysisId, stored: false, result: VALID_ANALYSIS });
    const forced = await storeEmailAnalysis(
      sql,
      orgA.id,
      emailA,
      record({ ...VALID_ANALYSIS, category: 'spam' }),
      true,
    );
    expect(forced).toMatchObject({ analysisId: first.analysisId, stored: true });
    const [row] =
      await sql`select ai_analysis ->> 'category' as category from public.emails where id = ${emailA}`;
    expect(row!.category).toBe('spam');
    // Another tenant cannot attach an analysis to this email.
    await expect(storeEmailAnalysis(sql, orgB.id, emailA, record(VALID_ANALYSIS), true)).rejects.toThrow(
      /not found for tenant/,
    );
  });

  it('writes a call once however often the activity retries the write', async () => {
    const call = {
      callKey: `test/${randomUUID()}/1/1/0`,
      at: new Date().toISOString(),
      tenantId: orgA.id,
      emailId: emailA,
      toolName: 'analyze_email',
      provider: 'openai',
      model: 'gpt-4o-mini',
      durationMs: 321,
      tokens: 600,
      paramHash: 'abcdef0123456789',
      success: false,
      validOutput: false,
      errorType: 'ProviderUnavailable',
      promptVersionId: promptId,
      arm: 'baseline' as const,
    };
    await recordAiCall(sql, call);
    await recordAiCall(sql, call);
    const metrics =
      await sql`select duration_ms, success, error_type from public.performance_metrics where call_key = ${call.callKey}`;
    const prompts =
      await sql`select execution_time_ms, valid_output from public.prompt_performance where call_key = ${call.callKey}`;
    expect(metrics).toEqual([{ duration_ms: 321, success: false, error_type: 'ProviderUnavailable' }]);
    expect(prompts).toEqual([{ execution_time_ms: 321, valid_output: false }]);
  });

  it('lets members read their own tenant’s analyses and metrics only, and write nothing', async () => {
    const seen = await asCaller(sql, { role: 'authenticated', sub: userA }, async (tx) => ({
      analyses: await tx`select tenant_id from public.ai_analyses where email_id = ${emailA}`,
      metrics:
        await tx`select distinct tenant_id from public.performance_metrics where tenant_id in (${orgA.id}, ${orgB.id})`,
    }));
    expect(seen.analyses).toEqual([{ tenant_id: orgA.id }]);
    expect(seen.metrics).toEqual([{ tenant_id: orgA.id }]);
    const stranger = await asCaller(
      sql,
      { role: 'authenticated', sub: randomUUID() },
      (tx) => tx`select id from public.ai_analyses where email_id = ${emailA}`,
    );
    expect(stranger).toEqual([]);
    await expect(
      asCaller(sql, { role: 'authenticated', sub: userA }, (tx) => tx`select public.record_ai_call('{}')`),
    ).rejects.toThrow(/permission denied for function record_ai_call/);
    await expect(
      asCaller(
        sql,
        { role: 'authenticated', sub: userA },
        (tx) => tx`update public.system_prompts set is_active = false`,
      ),
    ).rejects.toThrow(/permission denied for table system_prompts/);
  });
});
