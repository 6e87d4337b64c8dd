/**
 * Email ingestion: parse a staged raw message, store it, return the email id.
 *
 * The input carries a reference to the raw message (tenant + SHA-256), never the message itself: the
 * history stays small and mail bodies stay out of Temporal. Both activities read the staged bytes, so
 * the parse result that crosses the history is only a small summary.
 *
 * The workflow id is `email/<tenant>/<dedupKey>` (see mcp/ingest), so a second request for the same
 * message finds this run instead of starting another.
 */
import {
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { EmailActivities } from '../activities/email-activities.js';
import { IngestStatus, ThreadId } from './search-attributes.js';

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
  threadId: string;
  dedupKey: string;
  messageId: string | null;
  subject: string | null;
}

export type IngestStage = 'parsing' | 'storing' | 'stored';
export interface IngestProgress {
  stage: IngestStage;
  step: number;
  total: number;
}

export const ingestProgressQuery = defineQuery<IngestProgress>('progress');

// ---- Activities -----------------------------------------------------------------------------------

const { parseStagedEmail, storeStagedEmail } = proxyActivities<EmailActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

// ---- Workflow -------------------------------------------------------------------------------------

const STAGES: IngestStage[] = ['parsing', 'storing', 'stored'];
/** Progress runs from step 0 (parsing) to this step (stored). */
export const INGEST_LAST_STEP = STAGES.length - 1;

export async function ingestEmailWorkflow(input: IngestEmailInput): Promise<IngestEmailResult> {
  try {
    return await ingest(input);
  } catch (err) {
    // Failed runs are findable: IngestStatus = "failed". The failure itself says why.
    upsertSearchAttributes([{ key: IngestStatus, value: 'failed' }]);
    throw err;
  }
}

async function ingest(input: IngestEmailInput): Promise<IngestEmailResult> {
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

  // The thread this email joined when it was stored; a later arrival can still merge threads.
  upsertSearchAttributes([{ key: ThreadId, value: stored.threadId }]);
  advance('stored');
  setCurrentDetails(
    `**${stored.created ? 'Stored' : 'Already stored'}** email \`${stored.emailId}\`\n\n` +
      `Subject: ${summary.subject ?? '(none)'}\n\nFrom: ${summary.from ?? '(none)'}`,
  );
  return {
    emailId: stored.emailId,
    created: stored.created,
    threadId: stored.threadId,
    dedupKey: summary.dedupKey,
    messageId: summary.messageId,
    subject: summary.subject,
  };
}
