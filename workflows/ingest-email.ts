/**
 * Email ingestion: parse a staged raw message, store it, upload its attachments, start its analysis,
 * return the email id.
 *
 * The input carries a reference to the raw message (tenant + SHA-256), never the message itself: the
 * history stays small and mail bodies stay out of Temporal. Both activities read the staged bytes, so
 * the parse result that crosses the history is only a small summary.
 *
 * The workflow id is `email/<tenant>/<dedupKey>` (emailWorkflowId in the contract), so a second request
 * for the same message finds this run instead of starting another.
 *
 * Attachments become files through uploadFileWorkflow children; a failed upload marks the attachment,
 * never the email (see uploadAttachment). The raw message itself goes to the `raw-messages` bucket
 * through the same upload steps (raw-archive.ts) and is linked from emails.raw_file_id.
 *
 * A newly stored email is then analysed by a CHILD workflow (analyzeEmailWorkflow), started with
 * ParentClosePolicy ABANDON and not awaited: ingestion completes as soon as the child has started, and
 * a slow, rate-limited or failing provider can never hold it up. The child keeps running on its own,
 * linked from this run's history, findable by its id `analysis/<tenant>/<emailId>/<provider>-v<n>`.
 */

import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { AnalysisActivities } from '../activities/analysis-activities.js';
import type { EmailActivities, PendingAttachment } from '../activities/email-activities.js';
import { ErrorType } from '../core/errors.js';
import { failureText } from '../core/failure.js';
import { inParallel } from '../core/in-parallel.js';
import { analyzeEmailWorkflow } from './analyze-email.js';
import {
  ATTACHMENTS_BUCKET,
  type AttachmentOutcome,
  INGEST_LAST_STEP,
  INGEST_STAGES,
  type IngestEmailInput,
  type IngestEmailResult,
  type IngestStage,
  ingestEmailActivityOptions,
  ingestProgressQuery,
} from './ingest-email.contract.js';
import { archiveRawMessages } from './raw-archive.js';
import {
  cutChars,
  detailsText,
  IngestStatus,
  searchAttribute,
  summaryText,
  TenantId,
  ThreadId,
} from './search-attributes.js';
import { uploadWorkflowId } from './upload-file.contract.js';
import { uploadFileWorkflow } from './upload-file.js';

// ---- Activities -----------------------------------------------------------------------------------

const {
  parseStagedEmail,
  storeStagedEmail,
  stageEmailAttachments,
  settleEmailAttachment,
  planEmailAnalysis,
} = proxyActivities<EmailActivities & AnalysisActivities>(ingestEmailActivityOptions);

// ---- Workflow -------------------------------------------------------------------------------------

const ATTACHMENT_UPLOADS_AT_ONCE = 4;

export async function ingestEmailWorkflow(input: IngestEmailInput): Promise<IngestEmailResult> {
  try {
    return await ingest(input);
  } catch (err) {
    // Failed runs are findable: IngestStatus = "failed". The failure itself says why.
    upsertSearchAttributes([searchAttribute(IngestStatus, 'failed')]);
    throw err;
  }
}

async function ingest(input: IngestEmailInput): Promise<IngestEmailResult> {
  let stage: IngestStage = 'parsing';
  setHandler(ingestProgressQuery, () => ({
    stage,
    step: INGEST_STAGES.indexOf(stage),
    total: INGEST_LAST_STEP,
  }));
  const advance = (next: IngestStage) => {
    stage = next;
    upsertSearchAttributes([searchAttribute(IngestStatus, next)]);
  };

  advance('parsing');
  const summary = await parseStagedEmail(input);
  if (summary.dedupKey !== input.dedupKey) {
    // Only possible if the caller and the worker run different parser versions: refuse rather than
    // store the message under a key that no longer matches this workflow's id.
    throw ApplicationFailure.create({
      type: ErrorType.KeyMismatch,
      message: `the worker derived key ${summary.dedupKey}, the caller ${input.dedupKey}`,
      nonRetryable: true,
    });
  }

  advance('storing');
  const stored = await storeStagedEmail(input);

  // The thread this email joined when it was stored; a later arrival can still merge threads. A long
  // id (`mid:` and a long Message-ID) is recorded as its hash, as the tool records MessageId.
  upsertSearchAttributes([searchAttribute(ThreadId, stored.threadId)]);

  let attachments: AttachmentOutcome[] = [];
  if (summary.attachmentCount > 0 && input.filesTaskQueue) {
    advance('attachments');
    attachments = await storeEmailAttachments({
      ...input,
      emailId: stored.emailId,
      filesTaskQueue: input.filesTaskQueue,
    });
  }
  let rawMessage: IngestEmailResult['rawMessage'] = { status: 'skipped' };
  if (input.filesTaskQueue) {
    advance('archiving');
    const archive = await archiveRawMessages(input.tenantId, input.filesTaskQueue, {
      emailId: stored.emailId,
    });
    rawMessage = archive.failed ? { status: 'failed', error: archive.error } : { status: 'stored' };
  }
  advance('stored');
  const analysis = stored.created ? await startAnalysis(input.tenantId, stored.emailId) : undefined;
  const analysisWorkflowId = analysis?.workflowId ?? null;
  const failed = attachments.filter((a) => a.status === 'failed').length;
  setCurrentDetails(
    detailsText(
      `**${stored.created ? 'Stored' : 'Already stored'}** email \`${stored.emailId}\`\n\n` +
        `Subject: ${cutChars(summary.subject ?? '(none)', 500)}\n\nFrom: ${cutChars(summary.from ?? '(none)', 500)}` +
        (attachments.length
          ? `\n\nAttachments: ${attachments.length - failed} stored, ${failed} failed`
          : '') +
        (rawMessage.status === 'failed' ? `\n\nRaw message not archived: ${rawMessage.error}` : '') +
        (analysis ? `\n\n${analysis.note}` : ''),
    ),
  );
  return {
    emailId: stored.emailId,
    created: stored.created,
    threadId: stored.threadId,
    dedupKey: summary.dedupKey,
    messageId: summary.messageId,
    subject: summary.subject,
    attachments,
    rawMessage,
    analysisWorkflowId,
  };
}

/**
 * Upload an email's attachments that are not stored yet, at most ATTACHMENT_UPLOADS_AT_ONCE at a time.
 * Workflow code: ingestion and mailbox imports both call it.
 */
export async function storeEmailAttachments(email: {
  tenantId: string;
  rawSha256: string;
  emailId: string;
  filesTaskQueue: string;
}): Promise<AttachmentOutcome[]> {
  const pending = await stageEmailAttachments(email);
  return inParallel(pending, ATTACHMENT_UPLOADS_AT_ONCE, (a) =>
    uploadAttachment(email.tenantId, email.emailId, a, email.filesTaskQueue),
  );
}

/**
 * One attachment through the upload workflow, as a child. A failure marks the attachment, never the
 * email. The child's id is the upload's natural key; when the same bytes are being uploaded for another
 * email, wait for that run and start ours after it, which then finds the file already stored.
 */
async function uploadAttachment(
  tenantId: string,
  emailId: string,
  attachment: PendingAttachment,
  filesTaskQueue: string,
): Promise<AttachmentOutcome> {
  const key = { tenantId, emailId, partIndex: attachment.partIndex };
  for (let attempt = 0; ; attempt++) {
    try {
      const file = await executeChild(uploadFileWorkflow, {
        workflowId: uploadWorkflowId(tenantId, ATTACHMENTS_BUCKET, attachment.sha256),
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        args: [
          {
            tenantId,
            bucket: ATTACHMENTS_BUCKET,
            filename: attachment.filename,
            declaredMime: attachment.declaredMime,
            source: { kind: 'staged', sha256: attachment.sha256 },
            sha256: attachment.sha256,
            filesTaskQueue,
          },
        ],
        typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
        staticSummary: summaryText(
          `Upload attachment "${cutChars(attachment.filename, 80)}" of email ${emailId}`,
        ),
      });
      await settleEmailAttachment({
        ...key,
        status: 'stored',
        fileId: file.fileId,
        detectedMime: file.detectedMime,
      });
      return {
        partIndex: attachment.partIndex,
        filename: attachment.filename,
        status: 'stored',
        fileId: file.fileId,
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError && attempt < 60) {
        await sleep('2 seconds');
        continue;
      }
      const error = failureText(err);
      await settleEmailAttachment({ ...key, status: 'failed', error });
      return { partIndex: attachment.partIndex, filename: attachment.filename, status: 'failed', error };
    }
  }
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
    return { workflowId: null, note: `Analysis not started: ${failureText(err)}` };
  }
  if (!plan) return { workflowId: null, note: 'Analysis is off (AI_ANALYSIS_ON_INGEST=false)' };
  try {
    await startChild(analyzeEmailWorkflow, {
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
