/**
 * Prompt rollouts: the row the prompt-rollout workflow drives (traffic percent, stage, status, gates,
 * evidence) and the per-arm metrics its gates read from prompt_performance. Multi-row writes are the SQL
 * functions of migrations 20261123003000 and 20261203001000 (prompts per tenant: every rollout has a
 * scope, one tenant or the global set); the analysis path only reads (supabase/prompts.ts).
 */
import { ErrorType } from '../core/errors.js';
import { rethrowUserFacing } from '../core/failure.js';
import type { ArmMetrics, RolloutGates, RolloutMetrics, StageEvidence } from '../core/rollout-gates.js';
import type { Queryable, Sql } from './db.js';
import { type PromptActor, type PromptScope, type PromptScopeName, withoutUndefined } from './prompts.js';

export type RolloutStatusName = 'running' | 'paused' | 'completed' | 'rolled_back' | 'aborted';
export const OPEN_STATUSES: RolloutStatusName[] = ['running', 'paused'];

export interface PromptRolloutRow {
  id: string;
  scope: PromptScopeName;
  toolName: string;
  provider: string;
  baseline: { id: string; version: number };
  candidate: { id: string; version: number };
  trafficPercent: number;
  stage: number;
  stages: number[];
  status: RolloutStatusName;
  bakeSeconds: number;
  gates: RolloutGates;
  evidence: StageEvidence[];
  workflowId: string;
  /** The scope: the tenant whose prompt this rolls out, or null for the global set. */
  tenantId: string | null;
  actor: string;
  reason: string | null;
  stageStartedAt: Date | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface OpenRolloutRequest extends PromptActor, PromptScope {
  id: string;
  toolName: string;
  provider: string;
  baselineId: string;
  candidateId: string;
  stages: number[];
  bakeSeconds: number;
  gates: RolloutGates;
  workflowId: string;
}

/** Open the rollout row at 0% (idempotent on its id); refused while another is open for the pair. */
export async function openPromptRollout(sql: Sql, request: OpenRolloutRequest): Promise<void> {
  await sql`select public.open_prompt_rollout(${sql.json(withoutUndefined(request))})`.catch(
    rethrowUserFacing,
  );
}

export interface StageChange extends PromptActor {
  stage: number;
  percent: number;
  paused: boolean;
  /** Audit action, e.g. prompt_rollout.stage, prompt_rollout.paused. */
  action: string;
  reason?: string;
}

/** Set the traffic (and pause state); returns when the stage's window began, by the database clock. */
export async function setPromptRolloutStage(
  sql: Sql,
  rolloutId: string,
  change: StageChange,
): Promise<{ stageStartedAt: Date; changed: boolean }> {
  const [row] = await sql<{ stage_started_at: Date; changed: boolean }[]>`
    select stage_started_at, changed
    from public.set_prompt_rollout_stage(${rolloutId}, ${sql.json(withoutUndefined(change))})`.catch(
    rethrowUserFacing,
  );
  return { stageStartedAt: row!.stage_started_at, changed: row!.changed };
}

export async function recordRolloutEvidence(
  sql: Sql,
  rolloutId: string,
  entry: StageEvidence,
): Promise<void> {
  await sql`select public.record_prompt_rollout_evidence(${rolloutId}, ${sql.json(withoutUndefined(entry))})`;
}

export interface MetricsWindow {
  /** A tenant's rollout counts that tenant's calls only; the global one every tenant's. */
  scopeTenantId?: string | null;
  baselineId: string;
  candidateId: string;
  baselineSince: Date;
  candidateSince: Date;
}

/** Each arm's calls since its window start, from prompt_performance (the rollout scope's tenants). */
export async function measureRollout(sql: Queryable, w: MetricsWindow): Promise<RolloutMetrics> {
  const rows = await sql<
    {
      id: string;
      calls: number;
      errors: number;
      answered: number;
      valid: number;
      p95: number | null;
      measured_at: Date;
    }[]
  >`
    select prompt_version_id as id, count(*)::int as calls,
           count(*) filter (where not success)::int as errors,
           count(*) filter (where success or error_type = ${ErrorType.InvalidModelOutput})::int as answered,
           count(*) filter (where valid_output)::int as valid,
           percentile_cont(0.95) within group (order by execution_time_ms) as p95,
           now() as measured_at
    from public.prompt_performance
    where ${w.scopeTenantId ? sql`tenant_id = ${w.scopeTenantId} and` : sql``}
      ((prompt_version_id = ${w.candidateId} and executed_at >= ${w.candidateSince})
       or (prompt_version_id = ${w.baselineId} and executed_at >= ${w.baselineSince}))
    group by prompt_version_id`;
  const arm = (id: string): ArmMetrics => {
    const r = rows.find((row) => row.id === id);
    return r
      ? { calls: r.calls, errors: r.errors, answered: r.answered, valid: r.valid, p95LatencyMs: r.p95 }
      : { calls: 0, errors: 0, answered: 0, valid: 0, p95LatencyMs: null };
  };
  return {
    baseline: arm(w.baselineId),
    candidate: arm(w.candidateId),
    baselineSince: w.baselineSince.toISOString(),
    candidateSince: w.candidateSince.toISOString(),
    measuredAt: (rows[0]?.measured_at ?? new Date()).toISOString(),
  };
}

const rolloutColumns = (sql: Queryable) => sql`
  r.id, case when r.tenant_id is null then 'global' else 'tenant' end as scope, r.tool_name as "toolName", r.provider,
  json_build_object('id', b.id, 'version', b.version) as baseline,
  json_build_object('id', c.id, 'version', c.version) as candidate,
  r.traffic_percent as "trafficPercent", r.stage, r.stages, r.status, r.bake_seconds as "bakeSeconds",
  r.gates, r.evidence, r.workflow_id as "workflowId", r.tenant_id as "tenantId", r.actor, r.reason,
  r.stage_started_at as "stageStartedAt", r.started_at as "startedAt", r.updated_at as "updatedAt",
  r.finished_at as "finishedAt"`;

const rolloutFrom = (sql: Queryable) => sql`
  public.prompt_rollouts r
  join public.system_prompts b on b.id = r.baseline_prompt_id
  join public.system_prompts c on c.id = r.candidate_prompt_id`;

/** Rows of these scopes only: tenant ids, and null for the global set. */
function inScopes(sql: Queryable, scopes: (string | null)[]) {
  const tenants = scopes.filter((t): t is string => t !== null);
  const global = scopes.includes(null);
  return sql`(${tenants.length > 0 ? sql`r.tenant_id in ${sql(tenants)}` : sql`false`}
    ${global ? sql`or r.tenant_id is null` : sql``})`;
}

/** The open rollout of a scope's tool/provider, if any. */
export async function findOpenRollout(
  sql: Queryable,
  pair: PromptScope & { toolName: string; provider: string },
): Promise<PromptRolloutRow | null> {
  const [row] = await sql<PromptRolloutRow[]>`
    select ${rolloutColumns(sql)} from ${rolloutFrom(sql)}
    where ${inScopes(sql, [pair.scopeTenantId])}
      and r.tool_name = ${pair.toolName} and r.provider = ${pair.provider}
      and r.status in ('running', 'paused')`;
  return row ?? null;
}

/**
 * One rollout by id, or the latest, among the rollouts of `scopes` (tenant ids, null for the global
 * set): a rollout of any other scope reads as missing.
 */
export async function findRollout(
  sql: Queryable,
  pair: { toolName: string; provider: string },
  scopes: (string | null)[],
  rolloutId?: string,
): Promise<PromptRolloutRow | null> {
  const [row] = await sql<PromptRolloutRow[]>`
    select ${rolloutColumns(sql)} from ${rolloutFrom(sql)}
    where ${inScopes(sql, scopes)} and r.tool_name = ${pair.toolName} and r.provider = ${pair.provider}
      ${rolloutId ? sql`and r.id = ${rolloutId}` : sql``}
    order by r.started_at desc limit 1`;
  return row ?? null;
}
