/**
 * What the prompt tools share: who may change prompts, the argument and output schemas, and the rollout
 * as the caller sees it, live from the running workflow (its status query) or from the database row
 * once the workflow has ended.
 *
 * Prompts are global product configuration, so changing them is an organization-admin action: the
 * caller must be owner or admin of the organization it acts for (and, when PROMPT_ADMIN_ORGS is set,
 * that organization must be listed). Every change is audited in that organization's audit_log.
 */
import {
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { z } from 'zod';
import { PROVIDERS, type ProviderName } from '../core/ai-providers.js';
import { ErrorType, UserFacingError } from '../core/errors.js';
import type { PromptRolloutRow } from '../supabase/prompt-rollouts.js';
import { findTenant } from '../supabase/tenants.js';
import { workflowUiUrl } from '../temporal/client.js';
import {
  type PromptRolloutStatus,
  type promptRolloutWorkflow,
  promptRolloutWorkflowId,
  type Steering,
  statusQuery,
} from '../workflows/prompt-rollout.js';
import type { ToolContext } from './context.js';
import { resolveTenant } from './principal.js';

// ---- Arguments ------------------------------------------------------------------------------------

export const toolNameArg = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'a tool name: lower-case letters, digits and _')
  .default('analyze_email')
  .describe('The tool whose system prompt this is');

export const providerArg = z
  .enum(PROVIDERS)
  .optional()
  .describe('The provider whose prompt this is; defaults to the configured provider');

export function pairOf(ctx: Pick<ToolContext, 'ai'>, args: { tool: string; provider?: ProviderName }) {
  return { toolName: args.tool, provider: args.provider ?? ctx.ai.defaultProvider };
}

// ---- Who may change prompts -----------------------------------------------------------------------

export async function promptAdmin(ctx: ToolContext, tenant?: string): Promise<Steering> {
  const tenantId = await resolveTenant(ctx.sql, ctx.principal, tenant);
  const role = ctx.principal.tenants.find((t) => t.tenantId === tenantId)?.role;
  if (role !== 'owner' && role !== 'admin') {
    throw new UserFacingError(
      ErrorType.Forbidden,
      `changing prompts needs the owner or admin role in the organization; this identity is a ${role ?? 'non-member'}`,
    );
  }
  const allowed = ctx.rollouts.adminOrgs;
  if (allowed.length > 0) {
    const org = await findTenant(ctx.sql, tenantId);
    if (!org || !allowed.some((a) => a === org.id || a === org.slug)) {
      throw new UserFacingError(
        ErrorType.Forbidden,
        `prompts are changed by the admins of ${allowed.join(', ')} (PROMPT_ADMIN_ORGS), not of "${org?.slug ?? tenantId}"`,
      );
    }
  }
  return { actor: ctx.principal.actor, tenantId };
}

// ---- Output ---------------------------------------------------------------------------------------

const PromptRef = z.object({ id: z.string(), version: z.number().int() });
const ArmMetrics = z.object({
  calls: z.number().int(),
  errors: z.number().int(),
  answered: z.number().int(),
  valid: z.number().int(),
  p95LatencyMs: z.number().nullable(),
});
const Metrics = z.object({
  baseline: ArmMetrics,
  candidate: ArmMetrics,
  baselineSince: z.string(),
  candidateSince: z.string(),
  measuredAt: z.string(),
});
const Evidence = z.object({
  seq: z.number().int(),
  stage: z.number().int(),
  percent: z.number().int(),
  passed: z.boolean(),
  reason: z.string().nullable(),
  checks: z.array(
    z.object({
      gate: z.string(),
      passed: z.boolean(),
      observed: z.number().nullable(),
      limit: z.number(),
      detail: z.string(),
    }),
  ),
  metrics: Metrics,
});

/** A rollout as every prompt tool reports it. */
export const rolloutOutput = {
  rolloutId: z.string(),
  workflowId: z.string(),
  toolName: z.string(),
  provider: z.string(),
  baseline: PromptRef.describe('The version active when the rollout started'),
  candidate: PromptRef,
  status: z.enum(['running', 'paused', 'completed', 'rolled_back', 'aborted']),
  stages: z.array(z.number().int()),
  stage: z.number().int().describe('Index into stages'),
  percent: z.number().int().describe("The candidate's share of traffic now"),
  startedBy: z.string(),
  stageStartedAt: z.string().nullable(),
  bakeEndsAt: z.string().nullable(),
  metrics: Metrics.nullable().describe("The current stage's per-arm figures so far"),
  evidence: z.array(Evidence).describe('Every gate evaluation, oldest first'),
  reason: z.string().nullable(),
  live: z.boolean().describe('true: read from the running workflow; false: from the database row'),
  temporalUiUrl: z.string(),
};

export type RolloutOutput = PromptRolloutStatus & {
  workflowId: string;
  live: boolean;
  temporalUiUrl: string;
};

export function liveOutput(ctx: ToolContext, status: PromptRolloutStatus, runId?: string): RolloutOutput {
  const workflowId = promptRolloutWorkflowId(status.toolName, status.provider);
  return {
    ...status,
    workflowId,
    live: true,
    temporalUiUrl: workflowUiUrl(ctx.temporal, workflowId, runId),
  };
}

/** The same shape from the row: what a finished (or orphaned) rollout looks like. */
export function rowOutput(ctx: ToolContext, row: PromptRolloutRow): RolloutOutput {
  const open = row.status === 'running' || row.status === 'paused';
  const stageStartedAt = row.stageStartedAt?.toISOString() ?? null;
  return {
    rolloutId: row.id,
    toolName: row.toolName,
    provider: row.provider,
    baseline: row.baseline,
    candidate: row.candidate,
    status: row.status,
    stages: row.stages,
    stage: row.stage,
    percent: row.trafficPercent,
    startedBy: row.actor,
    stageStartedAt,
    bakeEndsAt:
      open && row.stageStartedAt
        ? new Date(row.stageStartedAt.getTime() + row.bakeSeconds * 1000).toISOString()
        : null,
    metrics: row.evidence.at(-1)?.metrics ?? null,
    evidence: row.evidence,
    reason: row.reason,
    workflowId: row.workflowId,
    live: false,
    temporalUiUrl: workflowUiUrl(ctx.temporal, row.workflowId),
  };
}

// ---- The running workflow -------------------------------------------------------------------------

export interface RunningRollout {
  handle: WorkflowHandle<typeof promptRolloutWorkflow>;
  description: WorkflowExecutionDescription;
}

/** The pair's rollout workflow if it is running, else null. */
export async function runningRollout(
  client: Client,
  pair: { toolName: string; provider: string },
): Promise<RunningRollout | null> {
  const handle = client.workflow.getHandle<typeof promptRolloutWorkflow>(
    promptRolloutWorkflowId(pair.toolName, pair.provider),
  );
  try {
    const description = await handle.describe();
    return description.status.name === 'RUNNING' ? { handle, description } : null;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** "A rollout is already running" in words that name it: candidate, stage, who started it and when. */
export async function rolloutRunningError(
  running: RunningRollout,
  pair: { toolName: string; provider: string },
): Promise<UserFacingError> {
  const s = await running.handle.query(statusQuery).catch(() => null);
  const where = s
    ? `candidate v${s.candidate.version} over v${s.baseline.version}, ${s.status} at ${s.percent}% ` +
      `(stage ${s.stage + 1} of ${s.stages.length}), started by ${s.startedBy}`
    : 'starting';
  return new UserFacingError(
    ErrorType.RolloutRunning,
    `a rollout of ${pair.toolName}/${pair.provider} is already running: ${where}, since ` +
      `${running.description.startTime.toISOString()}. Steer it with control_prompt_rollout ` +
      `(workflow ${running.handle.workflowId}).`,
  );
}

export function noRunningRollout(
  pair: { toolName: string; provider: string },
  latest: PromptRolloutRow | null,
): UserFacingError {
  const last = latest
    ? ` (the last one, candidate v${latest.candidate.version}, ended ${latest.status.replace('_', ' ')} at ` +
      `${(latest.finishedAt ?? latest.updatedAt).toISOString()})`
    : '';
  return new UserFacingError(
    ErrorType.NotFound,
    `no rollout of ${pair.toolName}/${pair.provider} is running${last}`,
  );
}
