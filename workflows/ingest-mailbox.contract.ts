/**
 * Contract of the mbox import (workflows/ingest-mailbox.ts). The run's id is the mailbox's SHA-256,
 * `mailbox/<tenant>/<sha256>`, so importing the same file again joins or returns the same run.
 */
import { type ActivityOptions, defineQuery } from '@temporalio/workflow';
import type { MailboxReport, MailboxSource } from '../activities/mailbox-activities.js';
import { type WorkflowContract, workflowContract } from './contract.js';
import { PATIENT_RETRY } from './retry-presets.js';

export type { MailboxReport, MailboxSource };

export interface IngestMailboxInput {
  tenantId: string;
  mailboxSha256: string;
  source: MailboxSource;
  /** Slices ingested at once. */
  concurrency: number;
  /** Messages read per scan activity. */
  chunkMessages: number;
  /**
   * Messages stored per slice activity, in one transaction, and archived per archive activity
   * (MAILBOX_SLICE_MESSAGES). Runs started before it was an input slice by LEGACY_SLICE_MESSAGES.
   */
  sliceMessages?: number;
  /** Where attachment uploads run (TEMPORAL_FILES_TASK_QUEUE); without it attachments are not uploaded. */
  filesTaskQueue?: string;
  /**
   * Only finish what an earlier completed run of this mailbox left: raw messages not archived and
   * attachments not stored, read from the ledger (app/ingest.ts starts such a run when the same file is
   * imported again). The file is not read again.
   */
  leftoversOnly?: boolean;
  /** Carried across continue-as-new. */
  position?: { offset: number; seq: number; total: number };
}

/** The slice size of runs started before `sliceMessages` was part of the input. */
export const LEGACY_SLICE_MESSAGES = 50;

export interface MailboxProgress {
  total: number;
  done: number;
  stored: number;
  failed: number;
  duplicates: number;
  pending: number;
}

export const mailboxProgressQuery = defineQuery<MailboxProgress>('progress');

export function mailboxWorkflowId(tenantId: string, mailboxSha256: string): string {
  return `mailbox/${tenantId}/${mailboxSha256}`;
}

export type IngestMailboxWorkflow = (input: IngestMailboxInput) => Promise<MailboxReport>;
export const ingestMailboxContract: WorkflowContract<IngestMailboxWorkflow> =
  workflowContract<IngestMailboxWorkflow>('ingestMailboxWorkflow');

export const ingestMailboxActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  // A dead worker's slice is picked up again within this, not after startToClose.
  heartbeatTimeout: '10 seconds',
  retry: PATIENT_RETRY,
};
