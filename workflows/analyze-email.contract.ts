/**
 * Contract of the AI analysis of one email (workflows/analyze-email.ts). The id is
 * `analysis/<tenant>/<emailId>/<provider>-v<version>` for a version of the global prompt set and
 * `…/<provider>-tenant-v<version>` for one of the tenant's own (version numbers are per scope): the
 * stored result is keyed the same way (by prompt version), so analysing again without `force` returns the
 * stored result without calling anyone.
 */
import { type ActivityOptions, defineQuery, type LocalActivityOptions } from '@temporalio/workflow';
import type { AnalysisLabels } from '../core/analysis.js';
import { type WorkflowContract, workflowContract } from './contract.js';
import { bounded, PATIENT_RETRY, QUICK_RETRY } from './retry-presets.js';

export type { AnalysisLabels };

export interface AnalyzeEmailInput {
  tenantId: string;
  emailId: string;
  provider: string;
  model: string;
  promptVersionId: string;
  promptVersion: number;
  arm: 'baseline' | 'candidate';
  /** Analyse again even when a result for this prompt version is stored (and replace it). */
  force: boolean;
  /** For LLM providers: the rate-limited queue and the timeout of one call. */
  llm?: { taskQueue: string; timeoutMs: number };
}

export interface AnalyzeEmailResult {
  emailId: string;
  analysisId: string;
  provider: string;
  model: string;
  promptVersion: number;
  /** true when the stored result was returned and no analyser ran. */
  reused: boolean;
  labels: AnalysisLabels;
  tokens: number;
  durationMs: number;
  cost: number;
}

export type AnalysisStage = 'checking' | 'analysing' | 'done';
export const ANALYSIS_STAGES: AnalysisStage[] = ['checking', 'analysing', 'done'];
export const analysisStageQuery = defineQuery<AnalysisStage>('stage');

/** What an analysis run will be (supabase/analysis-plan.ts makes it). */
export interface AnalysisPlan {
  workflowId: string;
  input: AnalyzeEmailInput;
  summary: string;
  /** Whose version serves: the tenant's own, or the global default set's (version numbers are per scope). */
  promptScope: 'global' | 'tenant';
  /** The prompt rollout that chose the version, and its traffic percent at that moment. */
  rollout?: { id: string; percent: number };
}

export function analysisWorkflowId(
  tenantId: string,
  emailId: string,
  provider: string,
  version: number,
  promptScope: 'global' | 'tenant',
): string {
  return `analysis/${tenantId}/${emailId}/${provider}-${promptScope === 'tenant' ? 'tenant-' : ''}v${version}`;
}

export type AnalyzeEmailWorkflow = (input: AnalyzeEmailInput) => Promise<AnalyzeEmailResult>;
export const analyzeEmailContract: WorkflowContract<AnalyzeEmailWorkflow> =
  workflowContract<AnalyzeEmailWorkflow>('analyzeEmailWorkflow');

/** Database steps and the heuristic analyser, on the main queue (runs from before the local steps). */
export const analysisDbActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: QUICK_RETRY,
};

/**
 * The same steps as local activities (issue 15): short database work and the heuristic, run by the
 * worker that runs the workflow task, recorded as one marker each; same timeout and retries.
 */
export const analysisDbLocalActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: QUICK_RETRY,
};

/** Runs started before the local steps replay the activities they scheduled (workflow patching). */
export const ANALYSIS_LOCAL_STEPS_PATCH = 'analysis-local-steps';

/** One provider call, on the provider's rate-limited queue. */
export function llmActivityOptions(
  llm: NonNullable<AnalyzeEmailInput['llm']>,
  provider: string,
  model: string,
): ActivityOptions {
  return {
    taskQueue: llm.taskQueue,
    startToCloseTimeout: llm.timeoutMs,
    // Bounded: a provider that stays down fails this analysis after a few minutes; it never holds up
    // ingestion (which does not wait for it) or other providers (other queues).
    scheduleToCloseTimeout: '15 minutes',
    retry: bounded(PATIENT_RETRY, 8),
    summary: `Call ${provider}/${model}`,
  };
}
