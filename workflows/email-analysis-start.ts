/**
 * Start a stored email's analysis as a child workflow (ParentClosePolicy ABANDON, not awaited): the
 * parent completes as soon as the child has started, and a slow or failing provider never holds it up.
 * Workflow-side helper shared by email ingestion and the mailbox sync (no workflow definition of its own).
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ActivityFailure, ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { AnalysisActivities } from '../activities/analysis-activities.js';
import { failureText } from '../core/failure.js';
import {
  type AnalysisPlan,
  type AnalyzeEmailWorkflow,
  analyzeEmailContract,
} from './analyze-email.contract.js';
import { ingestEmailActivityOptions } from './ingest-email.contract.js';
import { searchAttribute, summaryText, TenantId } from './search-attributes.js';

const remote =
  proxyActivities<Pick<AnalysisActivities, 'planEmailAnalysis' | 'planEmailAnalyses'>>(
    ingestEmailActivityOptions,
  );
/** Emails planned per activity by startAnalyses: keeps each result (plans carry a summary) small. */
const PLANS_PER_ACTIVITY = 100;

export const ANALYSIS_OFF = 'Analysis is off (AI_ANALYSIS_ON_INGEST=false)';

/**
 * Start the analysis child and return its id, without waiting for it (see the header comment). A plan
 * that cannot be made (analysis off, no active prompt) is reported, never a reason to fail ingestion.
 */
export async function startAnalysis(
  tenantId: string,
  emailId: string,
  /** The plan step: a remote activity by default; ingestion passes its local one. */
  planEmailAnalysis: AnalysisActivities['planEmailAnalysis'] = remote.planEmailAnalysis,
): Promise<{ workflowId: string | null; note: string }> {
  let plan: Awaited<ReturnType<AnalysisActivities['planEmailAnalysis']>>;
  try {
    plan = await planEmailAnalysis({ tenantId, emailId });
  } catch (err) {
    return { workflowId: null, note: `Analysis not started: ${failureText(err)}` };
  }
  if (!plan) return { workflowId: null, note: ANALYSIS_OFF };
  await startPlanned(tenantId, plan);
  return { workflowId: plan.workflowId, note: `Analysis: \`${plan.workflowId}\` (${plan.summary})` };
}

/**
 * startAnalysis for many emails: their plans made a hundred per activity, then the children started.
 * Returns the emails whose analysis is started (or found off: `off`); one whose plan could not be made
 * is left out, so a caller's ledger can try it again.
 */
export async function startAnalyses(
  tenantId: string,
  emailIds: string[],
): Promise<{ off: boolean; started: string[] }> {
  const started: string[] = [];
  for (let at = 0; at < emailIds.length; at += PLANS_PER_ACTIVITY) {
    const batch = emailIds.slice(at, at + PLANS_PER_ACTIVITY);
    let planned: Awaited<ReturnType<AnalysisActivities['planEmailAnalyses']>>;
    try {
      planned = await remote.planEmailAnalyses({ tenantId, emailIds: batch });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      // Given up after its retries: these stay unstarted, for the caller's next catch-up.
      continue;
    }
    if (planned.off) return { off: true, started: emailIds };
    await Promise.all(
      planned.plans.map(async ({ emailId, plan }) => {
        if (!plan) return;
        await startPlanned(tenantId, plan);
        started.push(emailId);
      }),
    );
  }
  return { off: false, started };
}

async function startPlanned(tenantId: string, plan: AnalysisPlan): Promise<void> {
  try {
    await startChild<AnalyzeEmailWorkflow>(analyzeEmailContract.workflowType, {
      workflowId: plan.workflowId,
      args: [plan.input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
      staticSummary: summaryText(plan.summary),
    });
  } catch (err) {
    // Already analysed (or being analysed) with this prompt version: that run is the analysis.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
