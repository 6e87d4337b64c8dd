/**
 * A stored email's attachments become files: each through the upload workflow, as a child started by its
 * contract, at most ATTACHMENT_UPLOADS_AT_ONCE at a time. Workflow-side helper shared by the ingestion
 * and the mailbox import workflows (it is no workflow definition of its own). Workflow code.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeChild, proxyActivities, sleep } from '@temporalio/workflow';
import type { EmailActivities, PendingAttachment } from '../activities/email-activities.js';
import { failureText } from '../core/failure.js';
import { inParallel } from '../core/in-parallel.js';
import {
  ATTACHMENTS_BUCKET,
  type AttachmentOutcome,
  ingestEmailActivityOptions,
} from './ingest-email.contract.js';
import { cutChars, searchAttribute, summaryText, TenantId } from './search-attributes.js';
import { type UploadFileWorkflow, uploadFileContract, uploadWorkflowId } from './upload-file.contract.js';

const { stageEmailAttachments, settleEmailAttachment } =
  proxyActivities<EmailActivities>(ingestEmailActivityOptions);

const ATTACHMENT_UPLOADS_AT_ONCE = 4;

/**
 * Upload a stored email's attachments that are not stored yet (mailbox imports; a single ingestion gets
 * its pending attachments from ingestStagedEmail). Workflow code.
 */
export async function storeEmailAttachments(email: {
  tenantId: string;
  rawSha256: string;
  emailId: string;
  filesTaskQueue: string;
}): Promise<AttachmentOutcome[]> {
  const pending = await stageEmailAttachments(email);
  return uploadEmailAttachments(email.tenantId, email.emailId, pending, email.filesTaskQueue);
}

/** Upload attachments whose bytes are staged, at most ATTACHMENT_UPLOADS_AT_ONCE at a time. */
export function uploadEmailAttachments(
  tenantId: string,
  emailId: string,
  pending: PendingAttachment[],
  filesTaskQueue: string,
): Promise<AttachmentOutcome[]> {
  return inParallel(pending, ATTACHMENT_UPLOADS_AT_ONCE, (a) =>
    uploadAttachment(tenantId, emailId, a, filesTaskQueue),
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
      const file = await executeChild<UploadFileWorkflow>(uploadFileContract.workflowType, {
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
