/**
 * AI analysis of one stored email, with one prompt version.
 *
 * The workflow id is `analysis/<tenant>/<emailId>/<provider>-v<version>`, and the stored result is keyed
 * the same way, so analysing again without `force` returns the stored result without calling anyone.
 *
 * The provider call runs on the provider's own task queue (`ai-<provider>`), which the worker
 * rate-limits; retries there are classified by the activity (rate limits wait for the provider's
 * Retry-After; auth and bad requests fail at once). Database steps and the heuristic run on the main queue.
 * No mail text passes through this workflow, in either direction: activities read the email by id and
 * store the analysis themselves; the history carries ids, labels and figures.
 */
import { defineQuery, proxyActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type {
  AnalysisActivities,
  AnalysisCallInput,
  AnalysisLabels,
} from '../activities/analysis-activities.js';

// ---- Messages -------------------------------------------------------------------------------------

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
export const analysisStageQuery = defineQuery<AnalysisStage>('stage');

// ---- Activities -----------------------------------------------------------------------------------

const db = proxyActivities<AnalysisActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

function llmActivities(llm: NonNullable<AnalyzeEmailInput['llm']>, provider: string, model: string) {
  return proxyActivities<AnalysisActivities>({
    taskQueue: llm.taskQueue,
    startToCloseTimeout: llm.timeoutMs,
    // Bounded: a provider that stays down fails this analysis after a few minutes; it never holds up
    // ingestion (which does not wait for it) or other providers (other queues).
    scheduleToCloseTimeout: '15 minutes',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '1 minute',
      maximumAttempts: 8,
    },
    summary: `Call ${provider}/${model}`,
  });
}

// ---- Workflow -------------------------------------------------------------------------------------

export async function analyzeEmailWorkflow(input: AnalyzeEmailInput): Promise<AnalyzeEmailResult> {
  let stage: AnalysisStage = 'checking';
  setHandler(analysisStageQuery, () => stage);
  const base = {
    emailId: input.emailId,
    provider: input.provider,
    promptVersion: input.promptVersion,
  };

  if (!input.force) {
    const stored = await db.findAnalysis({
      tenantId: input.tenantId,
      emailId: input.emailId,
      promptVersionId: input.promptVersionId,
    });
    if (stored) {
      stage = 'done';
      setCurrentDetails(
        `**Already analysed** with prompt v${input.promptVersion}: ${stored.labels.category}`,
      );
      return {
        ...base,
        model: stored.model,
        analysisId: stored.analysisId,
        reused: true,
        labels: stored.labels,
        tokens: 0,
        durationMs: 0,
        cost: 0,
      };
    }
  }

  stage = 'analysing';
  const call: AnalysisCallInput = {
    tenantId: input.tenantId,
    emailId: input.emailId,
    promptVersionId: input.promptVersionId,
    arm: input.arm,
    provider: input.provider,
    model: input.model,
    force: input.force,
  };
  const outcome = input.llm
    ? await llmActivities(input.llm, input.provider, input.model).analyzeWithLlm(call)
    : await db.analyzeWithHeuristic(call);

  stage = 'done';
  const a = outcome.labels;
  setCurrentDetails(
    `**${a.category}**, priority ${a.priority}, ${a.urgency} urgency${a.reply_needed ? ', reply needed' : ''}, ` +
      `language ${a.language}\n\n${input.provider}/${outcome.model}, prompt v${input.promptVersion}, ` +
      `${outcome.tokens} tokens, ${outcome.calls} call(s)${outcome.stored ? '' : ' (an earlier result stands)'}`,
  );
  return {
    ...base,
    model: outcome.model,
    analysisId: outcome.analysisId,
    reused: !outcome.stored,
    labels: outcome.labels,
    tokens: outcome.tokens,
    durationMs: outcome.durationMs,
    cost: outcome.cost,
  };
}
