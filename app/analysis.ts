/**
 * `analyzeEmail`: classify, summarise and extract from one stored email through the AI-analysis
 * workflow, with the configured provider (or the built-in heuristic analyser).
 *
 * The run is keyed by (email, prompt version): without `force` a second call finds the completed run
 * (or the stored result) and no provider is called again; with `force` a new run re-analyses and
 * replaces the stored result.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Priority } from '@temporalio/common';
import type { Analysis } from '../core/analysis.js';
import type { WorkflowStatus } from '../core/records.js';
import { analysisById } from '../supabase/analyses.js';
import { planAnalysis } from '../supabase/analysis-plan.js';
import { asCaller } from '../supabase/caller.js';
import {
  ANALYSIS_STAGES,
  type AnalysisPlan,
  type AnalysisStage,
  type AnalyzeEmailResult,
  analysisStageQuery,
  analyzeEmailContract,
} from '../workflows/analyze-email.contract.js';
import { detailsText, searchAttribute, summaryText, TenantId } from '../workflows/search-attributes.js';
import type { AppDeps, TemporalAccess, WaitRequest } from './deps.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';
import { priorityFor } from './priority.js';
import { progressOf, waitForWorkflow } from './wait.js';
import { startOrJoin, uiLink } from './workflows.js';

export interface AnalyzeEmailRequest extends WaitRequest {
  emailId: string;
  provider?: string;
  model?: string;
  force?: boolean;
  tenant?: string;
}

export interface AnalyzeEmailOutcome {
  workflowId: string;
  runId: string;
  status: Extract<WorkflowStatus, 'running' | 'completed'>;
  provider: string;
  model: string;
  promptVersion: number;
  /** Whose prompt version: the tenant's own, or the global default it inherits. */
  promptScope: 'global' | 'tenant';
  reused?: boolean;
  analysis?: Analysis;
  tokens?: number;
  cost?: number;
  /** Owners and admins only. */
  temporalUiUrl?: string;
}

export async function analyzeEmail(
  deps: AppDeps,
  request: AnalyzeEmailRequest,
): Promise<AnalyzeEmailOutcome> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  // A forced run calls the provider again (paid): administrators only.
  authorize(deps.principal, tenantId, request.force ? 'analyze_email.force' : 'analyze_email');
  // As the caller, so RLS is the second wall: another tenant's email id reads as not found.
  const plan = await asCaller(deps.sql, deps.principal.claims, (tx) =>
    planAnalysis(tx, deps.ai, {
      tenantId,
      emailId: request.emailId,
      provider: request.provider,
      model: request.model,
      force: request.force ?? false,
    }),
  );
  const { handle, runId } = await startAnalysisRun(
    deps.temporal,
    plan,
    await priorityFor(deps.sql, tenantId, 'interactive'),
  );
  const base = {
    workflowId: handle.workflowId,
    runId,
    provider: plan.input.provider,
    model: plan.input.model,
    promptVersion: plan.input.promptVersion,
    promptScope: plan.promptScope,
    ...uiLink(deps, tenantId, handle.workflowId, runId),
  };
  deps.log.info('analyze_email started', { actor: deps.principal.actor, workflowId: handle.workflowId });
  if (request.wait === false) return { ...base, status: 'running' };

  const last = ANALYSIS_STAGES.length - 1;
  const outcome = await waitForWorkflow<AnalyzeEmailResult, AnalysisStage>(handle, {
    waitMs: deps.waitMs,
    signal: request.signal,
    progress: progressOf(request.onProgress, { query: analysisStageQuery }, (stage) => ({
      progress: ANALYSIS_STAGES.indexOf(stage),
      total: last,
      message: stage,
    })),
  });
  if (outcome.status === 'failed') throw outcome.error;
  if (outcome.status === 'running') return { ...base, status: 'running' };
  const r = outcome.result;
  // The analysis itself never passes through Temporal: read it back, as the caller.
  const stored = await asCaller(deps.sql, deps.principal.claims, (tx) => analysisById(tx, r.analysisId));
  return {
    ...base,
    status: 'completed',
    model: r.model,
    reused: r.reused,
    analysis: stored?.result,
    tokens: r.tokens,
    cost: r.cost,
  };
}

/**
 * Start (or find) the run a plan names. Concurrent calls join the running run; without `force` a
 * completed run is the answer, with it a new run replaces the stored result.
 */
export function startAnalysisRun(
  temporal: TemporalAccess,
  plan: AnalysisPlan,
  /** app/priority.ts; without it, Temporal's default (the test helpers' seeded runs). */
  priority?: Priority,
): Promise<{ handle: WorkflowHandle; runId: string }> {
  return startOrJoin(
    temporal,
    analyzeEmailContract,
    {
      workflowId: plan.workflowId,
      args: [plan.input],
      ...(priority && { priority }),
      typedSearchAttributes: [searchAttribute(TenantId, plan.input.tenantId)],
      staticSummary: summaryText(plan.summary),
      staticDetails: detailsText(
        `Tenant \`${plan.input.tenantId}\`\n\nEmail \`${plan.input.emailId}\`\n\n` +
          `Prompt ${plan.promptScope === 'tenant' ? "(the tenant's own) " : ''}v${plan.input.promptVersion} (${plan.input.arm}` +
          `${plan.rollout ? `, rollout at ${plan.rollout.percent}%` : ''})${plan.input.force ? ', forced' : ''}`,
      ),
    },
    plan.input.force ? 'replace' : 'join',
  );
}
