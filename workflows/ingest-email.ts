/**
 * Email ingestion: parse a staged raw message, store it, return the email id.
 *
 * The input carries a reference to the raw message (tenant + SHA-256), never the message itself: the
 * history stays small and mail bodies stay out of Temporal. Both activities read the staged bytes, so
 * the parse result that crosses the history is only a small summary.
 *
 * The workflow id is `email/<tenant>/<dedupKey>` (see mcp/ingest), so a second request for the same
 * message finds this run instead of starting another.
 *
 * A newly stored email is then analysed by a CHILD workflow (analyzeEmailWorkflow), started with
 * ParentClosePolicy ABANDON and not awaited: ingestion completes as soon as the child has started, and
 * a slow, rate-limited or failing provider can never hold it up. The child keeps running on its own,
 * linked from this run's history, findable by its id `analysis/<tenant>/<emailId>/<provider>-v<n>`.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { AnalysisActivities } from '../activities/analysis-activities.js';
import type { EmailActivities } from '../activities/email-activities.js';
import { analyzeEmailWorkflow } from './analyze-email.js';
import { IngestStatus, TenantId } from './search-attributes.js';

// ---- Messages -------------------------------------------------------------------------------------

export interface IngestEmailInput {
  tenantId: string;
  rawSha256: string;
  /** The key the caller derived; the parse activity re-derives it and they must agree. */
  dedupKey: string;
}

export interface IngestEmailResult {
  emailId: string;
  /** false when the email already existed (a re-delivery or a retried request). */
  created: boolean;
  dedupKey: string;
  messageId: string | null;
  subject: string | null;
  /** The analysis child this run started (null: analysis off, or the email was already stored). */
  analysisWorkflowId: string | null;
}

export type IngestStage = 'parsing' | 'storing' | 'stored';
export interface IngestProgress {
  stage: IngestStage;
  step: number;
  total: number;
}

export const ingestProgressQuery = defineQuery<IngestProgress>('progress');

// ---- Activities -----------------------------------------------------------------------------------

const { parseStagedEmail, storeStagedEmail, planEmailAnalysis } = proxyActivities<
  EmailActivities & AnalysisActivities
>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

// ---- Workflow -------------------------------------------------------------------------------------

const STAGES: IngestStage[] = ['parsing', 'storing', 'stored'];
/** Progress runs from step 0 (parsing) to this step (stored). */
export const INGEST_LAST_STEP = STAGES.length - 1;

export async function ingestEmailWorkflow(input: IngestEmailInput): Promise<IngestEmailResult> {
  let stage: IngestStage = 'parsing';
  setHandler(ingestProgressQuery, () => ({ stage, step: STAGES.indexOf(stage), total: INGEST_LAST_STEP }));
  const advance = (next: IngestStage) => {
    stage = next;
    upsertSearchAttributes([{ key: IngestStatus, value: next }]);
  };

  advance('parsing');
  const summary = await parseStagedEmail(input);
  if (summary.dedupKey !== input.dedupKey) {
    // Only possible if the caller and the worker run different parser versions: refuse rather than
    // store the message under a key that no longer matches this workflow's id.
    throw ApplicationFailure.create({
      type: 'KeyMismatch',
      message: `the worker derived key ${summary.dedupKey}, the caller ${input.dedupKey}`,
      nonRetryable: true,
    });
  }

  advance('storing');
  const stored = await storeStagedEmail(input);

  advance('stored');
  const analysis = stored.created ? await startAnalysis(input.tenantId, stored.emailId) : undefined;
  const analysisWorkflowId = analysis?.workflowId ?? null;
  setCurrentDetails(
    `**${stored.created ? 'Stored' : 'Already stored'}** email \`${stored.emailId}\`\n\n` +
      `Subject: ${summary.subject ?? '(none)'}\n\nFrom: ${summary.from ?? '(none)'}` +
      (analysis ? `\n\n${analysis.note}` : ''),
  );
  return {
    emailId: stored.emailId,
    created: stored.created,
    dedupKey: summary.dedupKey,
    messageId: summary.messageId,
    subject: summary.subject,
    analysisWorkflowId,
  };
}

/**
 * Start the analysis child and return its id, without waiting for it (see the header comment). A plan
 * that cannot be made (analysis off, no active prompt) is reported, never a reason to fail ingestion.
 */
async function startAnalysis(
  tenantId: string,
  emailId: string,
): Promise<{ workflowId: string | null; note: string }> {
  let plan: Awaited<ReturnType<typeof planEmailAnalysis>>;
  try {
    plan = await planEmailAnalysis({ tenantId, emailId });
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const reason = cause instanceof ApplicationFailure ? `${cause.type}: ${cause.message}` : String(cause);
    return { workflowId: null, note: `Analysis not started: ${reason}` };
  }
  if (!plan) return { workflowId: null, note: 'Analysis is off (AI_ANALYSIS_ON_INGEST=false)' };
  try {
    await startChild(analyzeEmailWorkflow, {
      workflowId: plan.workflowId,
      args: [plan.input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [{ key: TenantId, value: tenantId }],
      staticSummary: plan.summary,
    });
  } catch (err) {
    // Already analysed (or being analysed) with this prompt version: that run is the analysis.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return { workflowId: plan.workflowId, note: `Analysis: \`${plan.workflowId}\` (${plan.summary})` };
}
