/**
 * Contract of email ingestion (workflows/ingest-email.ts): input, result, progress query, workflow id,
 * task queue and activity options.
 *
 * The workflow id is the message's natural key, `email/<tenant>/<dedupKey>`, so a second request for the
 * same message finds the first run instead of starting another.
 */
import {
  type ActivityOptions,
  defineQuery,
  defineUpdate,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { IngestedEmail } from '../activities/email-activities.js';
import type { AttachmentOutcome, RawMessageOutcome } from '../core/records.js';
import { type WorkflowContract, workflowContract } from './contract.js';
import { QUICK_RETRY } from './retry-presets.js';

export type { AttachmentOutcome, RawMessageOutcome };

export interface IngestEmailInput {
  tenantId: string;
  rawSha256: string;
  /** The key the caller derived; the parse activity re-derives it and they must agree. */
  dedupKey: string;
  /** Where attachment uploads run (TEMPORAL_FILES_TASK_QUEUE); without it attachments are only recorded. */
  filesTaskQueue?: string;
  /** false: the server that took the message has analysis on ingest off (AI_ANALYSIS_ON_INGEST), so the
   * run skips the plan step altogether. Absent (runs started before this field): the plan step decides. */
  analyse?: boolean;
}

export interface IngestEmailResult {
  emailId: string;
  /** false when the email already existed (a re-delivery or a retried request). */
  created: boolean;
  threadId: string;
  dedupKey: string;
  messageId: string | null;
  subject: string | null;
  /** Attachments uploaded (or failed) by this run; earlier runs' stored ones are not repeated. */
  attachments: AttachmentOutcome[];
  /** The raw message in the `raw-messages` bucket: stored (now or before), failed, or skipped (no files
   * queue). A failure leaves the email stored and its raw bytes staged; ingesting again completes it. */
  rawMessage: RawMessageOutcome;
  /** The analysis child this run started (null: analysis off, or the email was already stored). */
  analysisWorkflowId: string | null;
}

/** `storing` covers the parse, the key check and the store: one activity, one parse. */
export type IngestStage = 'storing' | 'attachments' | 'archiving' | 'stored';
export interface IngestProgress {
  stage: IngestStage;
  step: number;
  total: number;
}

export const INGEST_STAGES: IngestStage[] = ['storing', 'attachments', 'archiving', 'stored'];
/** Progress runs from step 0 (storing) to this step (stored). */
export const INGEST_LAST_STEP = INGEST_STAGES.length - 1;

export const ingestProgressQuery = defineQuery<IngestProgress>('progress');

/**
 * What the caller needs as soon as the email row is committed (issue 15): the run goes on with the
 * attachments, the raw-message archive and the analysis, whose outcomes the run's result gives later.
 */
export interface IngestStored {
  emailId: string;
  created: boolean;
  threadId: string;
  dedupKey: string;
  messageId: string | null;
  subject: string | null;
  /** Attachments this run still uploads (0: none, so the result's `attachments` will be empty). */
  attachmentsToUpload: number;
  /** Whether the run archives the raw message (a files queue is configured). */
  archives: boolean;
  /** Whether the run goes on to plan an analysis (a new email, analysis on ingest not off). */
  analyses: boolean;
}

/** What of the store step's result the caller's answer is built from (storedOf). */
export type StoreStepResult = Pick<
  IngestedEmail,
  'emailId' | 'created' | 'threadId' | 'dedupKey' | 'messageId' | 'subject' | 'pendingAttachments'
>;

/** The email's fields the caller reads at the commit and the run's result repeats. */
export function emailFieldsOf(stored: StoreStepResult) {
  return {
    emailId: stored.emailId,
    created: stored.created,
    threadId: stored.threadId,
    dedupKey: stored.dedupKey,
    messageId: stored.messageId,
    subject: stored.subject,
  };
}

/** What the caller reads at the commit, from the run's input and its store step's result. */
export function storedOf(
  input: Pick<IngestEmailInput, 'filesTaskQueue' | 'analyse'>,
  stored: StoreStepResult,
): IngestStored {
  return {
    ...emailFieldsOf(stored),
    attachmentsToUpload: input.filesTaskQueue ? stored.pendingAttachments.length : 0,
    archives: Boolean(input.filesTaskQueue),
    analyses: stored.created && input.analyse !== false,
  };
}

/**
 * Completes once the email is committed, with what is known then; fails as the store step failed. A run
 * that has stored already answers at once. The MCP tool waits for this, not for the whole run.
 */
export const ingestStoredUpdate = defineUpdate<IngestStored>('stored');

/** Every attachment is a file in this bucket (content-addressed, so shared bytes are stored once). */
export const ATTACHMENTS_BUCKET = 'attachments';

export function emailWorkflowId(tenantId: string, dedupKey: string): string {
  return `email/${tenantId}/${dedupKey}`;
}

export type IngestEmailWorkflow = (input: IngestEmailInput) => Promise<IngestEmailResult>;
export const ingestEmailContract: WorkflowContract<IngestEmailWorkflow> =
  workflowContract<IngestEmailWorkflow>('ingestEmailWorkflow');

/** Parsing, storing and settling: short database steps on the main queue. */
export const ingestEmailActivityOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: QUICK_RETRY,
};

/**
 * The store and the analysis plan run as LOCAL activities (issue 15): short database steps, run by the
 * worker that runs the workflow task, recorded as one marker each. No activity task goes through the
 * server and back: no dispatch wait, three fewer history events and one workflow task fewer per step.
 * Retries and the timeout are the same as above; a worker that dies mid-step leaves no marker, so the
 * workflow task times out and the step runs again on another worker (they are idempotent).
 */
export const ingestEmailLocalActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: QUICK_RETRY,
};

/** Runs started before the local steps replay the activities they scheduled (workflow patching). */
export const LOCAL_STEPS_PATCH = 'ingest-local-steps';

/**
 * Runs from this patch on take `IngestStatus = storing` from their start and upsert the thread with the
 * next stage: two search-attribute upserts fewer per run (each a history event and a visibility write).
 * It implies LOCAL_STEPS_PATCH; older runs replay their upserts as they ran.
 */
export const FEWER_UPSERTS_PATCH = 'ingest-fewer-upserts';
