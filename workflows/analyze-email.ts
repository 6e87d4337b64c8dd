/**
 * AI analysis of one stored email, with one prompt version.
 *
 * The workflow id is `analysis/<tenant>/<emailId>/<provider>-v<version>`, and the stored result is keyed
 * the same way, so analysing again without `force` returns the stored result without calling anyone.
 *
 * The provider call runs on the provider's own task queue (`ai-<provider>`), which the worker
 * rate-limits; retries there are classified by the activity (rate limits wait for the provider's
 * Retry-After; auth and bad requests fail at once). Database steps and the heuristic are local
 * activities in the worker that runs the workflow (ANALYSIS_LOCAL_STEPS_PATCH; older runs replay them
 * as activities on the main queue).
 * No mail text passes through this workflow, in either direction: activities read the email by id and
 * store the analysis themselves; the history carries ids, labels and figures.
 */
import {
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type { AnalysisActivities, AnalysisCallInput } from '../activities/analysis-activities.js';
import {
  ANALYSIS_LOCAL_STEPS_PATCH,
  type AnalysisStage,
  type AnalyzeEmailInput,
  type AnalyzeEmailResult,
  analysisDbActivityOptions,
  analysisDbLocalActivityOptions,
  analysisStageQuery,
  llmActivityOptions,
} from './analyze-email.contract.js';

// ---- Activities -----------------------------------------------------------------------------------

type DbSteps = Pick<AnalysisActivities, 'findAnalysis' | 'analyzeWithHeuristic'>;
const remoteDb = proxyActivities<DbSteps>(analysisDbActivityOptions);
const localDb = proxyLocalActivities<DbSteps>(analysisDbLocalActivityOptions);

// ---- Workflow -------------------------------------------------------------------------------------

export async function analyzeEmailWorkflow(input: AnalyzeEmailInput): Promise<AnalyzeEmailResult> {
  let stage: AnalysisStage = 'checking';
  setHandler(analysisStageQuery, () => stage);
  const db = patched(ANALYSIS_LOCAL_STEPS_PATCH) ? localDb : remoteDb;
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
    ? await proxyActivities<AnalysisActivities>(
        llmActivityOptions(input.llm, input.provider, input.model),
      ).analyzeWithLlm(call)
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
