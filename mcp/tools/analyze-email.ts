/**
 * `analyze_email`: classify, summarise and extract from one stored email through the AI-analysis
 * workflow, with the configured provider (or the built-in heuristic analyser).
 *
 * The run is keyed by (email, prompt version): without `force` a second call finds the completed run
 * (or the stored result) and no provider is called again; with `force` a new run re-analyses and
 * replaces the stored result.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { type AnalysisPlan, planAnalysis } from '../../activities/analysis-plan.js';
import { PROVIDERS } from '../../core/ai-providers.js';
import { AnalysisSchema } from '../../core/analysis.js';
import { analysisById } from '../../supabase/analyses.js';
import { asCaller } from '../../supabase/caller.js';
import { workflowUiUrl } from '../../temporal/client.js';
import {
  type AnalysisStage,
  type AnalyzeEmailResult,
  analysisStageQuery,
  analyzeEmailWorkflow,
} from '../../workflows/analyze-email.js';
import { detailsText, searchAttribute, summaryText, TenantId } from '../../workflows/search-attributes.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import { progressNotifier, startOrJoin } from '../start-workflow.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg, waitArg } from '../tool-schemas.js';
import { waitForWorkflow } from '../wait.js';
import { WorkflowStatus } from './workflow-status.js';

const STAGES: AnalysisStage[] = ['checking', 'analysing', 'done'];

const outputSchema = {
  workflowId: z.string(),
  runId: z.string(),
  status: WorkflowStatus,
  provider: z.string(),
  model: z.string(),
  promptVersion: z.number().int(),
  reused: z.boolean().optional().describe('true when the stored result was returned without a new call'),
  analysis: AnalysisSchema.optional(),
  tokens: z.number().int().optional(),
  cost: z.number().optional().describe('Estimated cost in USD'),
  temporalUiUrl: z.string(),
};

export function registerAnalyzeEmail(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'analyze_email',
    {
      title: 'Analyse an email',
      description:
        'Classify a stored email (category, priority, sentiment, urgency), summarise it in at most 3 ' +
        'sentences, and extract action items and entities, through a durable Temporal workflow. Uses the ' +
        'configured AI provider, or the built-in heuristic analyser when no API key is set. Idempotent per ' +
        'email and prompt version unless force=true.',
      inputSchema: {
        emailId: z.uuid().describe('The emailId ingest_email returned'),
        provider: z.enum(PROVIDERS).optional().describe('Defaults to the configured provider'),
        model: z
          .string()
          .min(1)
          .max(200)
          .regex(/^[\w.:/@-]+$/, 'letters, digits and . : / @ _ - only')
          .optional()
          .describe("Override the provider's model"),
        force: z.boolean().default(false).describe('Analyse again and replace the stored result'),
        tenant: tenantArg,
        wait: waitArg,
      },
      outputSchema,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args, extra) => {
      const tenantId = await resolveTenant(ctx.sql, ctx.principal, args.tenant);
      // As the caller, so RLS is the second wall: another tenant's email id reads as not found.
      const plan = await asCaller(ctx.sql, ctx.principal.claims, (tx) =>
        planAnalysis(tx, ctx.ai, { ...args, tenantId }),
      );
      const { handle, runId } = await startAnalysisRun(ctx.client, ctx.taskQueue, plan);
      const base = {
        workflowId: handle.workflowId,
        runId,
        provider: plan.input.provider,
        model: plan.input.model,
        promptVersion: plan.input.promptVersion,
        temporalUiUrl: workflowUiUrl(ctx.temporal, handle.workflowId, runId),
      };
      ctx.log.info('analyze_email started', { actor: ctx.principal.actor, workflowId: handle.workflowId });
      if (!args.wait) return toolResult({ ...base, status: 'running' });

      const last = STAGES.length - 1;
      const outcome = await waitForWorkflow<AnalyzeEmailResult, AnalysisStage>(handle, {
        waitMs: ctx.waitMs,
        signal: extra.signal,
        progress: progressNotifier(extra, analysisStageQuery, (stage) => ({
          progress: STAGES.indexOf(stage),
          total: last,
          message: stage,
        })),
      });
      if (outcome.status === 'failed') throw outcome.error;
      if (outcome.status === 'running') return toolResult({ ...base, status: 'running' });
      const r = outcome.result;
      // The analysis itself never passes through Temporal: read it back, as the caller.
      const stored = await asCaller(ctx.sql, ctx.principal.claims, (tx) => analysisById(tx, r.analysisId));
      return toolResult({
        ...base,
        status: 'completed',
        model: r.model,
        reused: r.reused,
        analysis: stored?.result,
        tokens: r.tokens,
        cost: r.cost,
      });
    },
  );
}

/**
 * Start (or find) the run a plan names. Concurrent calls join the running run; without `force` a
 * completed run is the answer, with it a new run replaces the stored result.
 */
export function startAnalysisRun(
  client: Client,
  taskQueue: string,
  plan: AnalysisPlan,
): Promise<{ handle: WorkflowHandle; runId: string }> {
  return startOrJoin(
    client,
    analyzeEmailWorkflow,
    {
      taskQueue,
      workflowId: plan.workflowId,
      args: [plan.input],
      typedSearchAttributes: [searchAttribute(TenantId, plan.input.tenantId)],
      staticSummary: summaryText(plan.summary),
      staticDetails: detailsText(
        `Tenant \`${plan.input.tenantId}\`\n\nEmail \`${plan.input.emailId}\`\n\n` +
          `Prompt v${plan.input.promptVersion} (${plan.input.arm}` +
          `${plan.rollout ? `, rollout at ${plan.rollout.percent}%` : ''})${plan.input.force ? ', forced' : ''}`,
      ),
    },
    plan.input.force ? 'replace' : 'join',
  );
}
