/**
 * Start a stored email's analysis as a child workflow (ParentClosePolicy ABANDON, not awaited): the
 * parent completes as soon as the child has started, and a slow or failing provider never holds it up.
 * Workflow-side helper shared by email ingestion and the mailbox sync (no workflow definition of its own).
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { AnalysisActivities } from '../activities/analysis-activities.js';
import { failureText } from '../core/failure.js';
import { type AnalyzeEmailWorkflow, analyzeEmailContract } from './analyze-email.contract.js';
import { ingestEmailActivityOptions } from './ingest-email.contract.js';
import { searchAttribute, summaryText, TenantId } from './search-attributes.js';

const remote = proxyActivities<Pick<AnalysisActivities, 'planEmailAnalysis'>>(ingestEmailActivityOptions);

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
  return { workflowId: plan.workflowId, note: `Analysis: \`${plan.workflowId}\` (${plan.summary})` };
}
