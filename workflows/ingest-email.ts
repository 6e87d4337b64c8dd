import { proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { EmailActivities } from '../activities/email-activities.js';
import { startAnalysis } from './email-analysis-start.js';
import { uploadEmailAttachments } from './email-attachments.js';
import {
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
import { cutChars, detailsText, IngestStatus, searchAttribute, ThreadId } from './search-attributes.js';

// ---- Activities -----------------------------------------------------------------------------------

const { ingestStagedEmail } = proxyActivities<EmailActivities>(ingestEmailActivityOptions);

// ---- Workflow -------------------------------------------------------------------------------------

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
  let stage: IngestStage = 'storing';
  setHandler(ingestProgressQuery, () => ({
    stage,
    step: INGEST_STAGES.indexOf(stage),
    total: INGEST_LAST_STEP,
  }));
  const advance = (next: IngestStage) => {
    stage = next;
    upsertSearchAttributes([searchAttribute(IngestStatus, next)]);
  };

  advance('storing');
  // A key that differs from the run's (caller and worker on different parser versions) is refused by
  // the activity with KeyMismatch, before anything is stored.
  const stored = await ingestStagedEmail({
    tenantId: input.tenantId,
    rawSha256: input.rawSha256,
    dedupKey: input.dedupKey,
    stageAttachments: Boolean(input.filesTaskQueue),
  });

  // The thread this email joined when it was stored; a later arrival can still merge threads. A long
  // id (`mid:` and a long Message-ID) is recorded as its hash, as the tool records MessageId.
  upsertSearchAttributes([searchAttribute(ThreadId, stored.threadId)]);

  let attachments: AttachmentOutcome[] = [];
  if (stored.pendingAttachments.length > 0 && input.filesTaskQueue) {
    advance('attachments');
    attachments = await uploadEmailAttachments(
      input.tenantId,
      stored.emailId,
      stored.pendingAttachments,
      input.filesTaskQueue,
    );
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
        `Subject: ${cutChars(stored.subject ?? '(none)', 500)}\n\nFrom: ${cutChars(stored.from ?? '(none)', 500)}` +
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
    dedupKey: stored.dedupKey,
    messageId: stored.messageId,
    subject: stored.subject,
    attachments,
    rawMessage,
    analysisWorkflowId,
  };
}
