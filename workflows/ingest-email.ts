/**
 * Email ingestion: parse a staged raw message, store it, upload its attachments, start its analysis,
 * return the email id.
 *
 * The input carries a reference to the raw message (tenant + SHA-256), never the message itself: the
 * history stays small and mail bodies stay out of Temporal. One activity (ingestStagedEmail) reads the
 * staged bytes once, parses them once, checks the key, stores the email and stages its attachments; what
 * crosses the history is ids and a small summary.
 *
 * The store and the analysis plan are LOCAL activities (issue 15: short database steps, no round trip
 * through the server's task queue; see ingestEmailLocalActivityOptions); runs started before that replay
 * the activities they scheduled (LOCAL_STEPS_PATCH). With analysis off on ingest the plan step is skipped.
 *
 * The caller does not wait for the whole run: the `stored` update (ingestStoredUpdate) completes as soon
 * as the store step has committed the row, with the email's id, thread and what the run still has to do;
 * it fails as the store step failed. The attachments, the archive and the analysis go on in this run.
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

import type { SearchAttributePair } from '@temporalio/common';
import {
  condition,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { AnalysisActivities } from '../activities/analysis-activities.js';
import type { EmailActivities } from '../activities/email-activities.js';
import { ANALYSIS_OFF, startAnalysis } from './email-analysis-start.js';
import { uploadEmailAttachments } from './email-attachments.js';
import {
  type AttachmentOutcome,
  emailFieldsOf,
  FEWER_UPSERTS_PATCH,
  INGEST_LAST_STEP,
  INGEST_STAGES,
  type IngestEmailInput,
  type IngestEmailResult,
  type IngestStage,
  type IngestStored,
  ingestEmailActivityOptions,
  ingestEmailLocalActivityOptions,
  ingestProgressQuery,
  ingestStoredUpdate,
  LOCAL_STEPS_PATCH,
  storedOf,
} from './ingest-email.contract.js';
import { archiveRawMessages } from './raw-archive.js';
import { cutChars, detailsText, IngestStatus, searchAttribute, ThreadId } from './search-attributes.js';

// ---- Activities -----------------------------------------------------------------------------------

type Steps = Pick<EmailActivities & AnalysisActivities, 'ingestStagedEmail' | 'planEmailAnalysis'>;
const remoteSteps = proxyActivities<Steps>(ingestEmailActivityOptions);
const localSteps = proxyLocalActivities<Steps>(ingestEmailLocalActivityOptions);

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
  // The caller's wait (ingestStoredUpdate): answered once the row is committed, or failed as the store
  // step failed. No commands: replaying runs from before this handler is unchanged.
  let committed: { stored: IngestStored } | { failure: unknown } | undefined;
  setHandler(ingestStoredUpdate, async () => {
    await condition(() => committed !== undefined);
    if (committed && 'failure' in committed) throw committed.failure;
    return (committed as { stored: IngestStored }).stored;
  });
  // Attributes held back to go with the next stage's upsert: one visibility write instead of two.
  let carried: SearchAttributePair[] = [];
  const advance = (next: IngestStage) => {
    stage = next;
    upsertSearchAttributes([...carried, searchAttribute(IngestStatus, next)]);
    carried = [];
  };

  // FEWER_UPSERTS_PATCH implies the local steps, so a new run records one patch marker, not two. Its
  // `storing` came with the start (startIngestRun); runs from before upsert it here.
  const fewerUpserts = patched(FEWER_UPSERTS_PATCH);
  const { ingestStagedEmail, planEmailAnalysis } =
    fewerUpserts || patched(LOCAL_STEPS_PATCH) ? localSteps : remoteSteps;
  if (fewerUpserts) stage = 'storing';
  else advance('storing');
  // A key that differs from the run's (caller and worker on different parser versions) is refused by
  // the activity with KeyMismatch, before anything is stored.
  const stored = await ingestStagedEmail({
    tenantId: input.tenantId,
    rawSha256: input.rawSha256,
    dedupKey: input.dedupKey,
    stageAttachments: Boolean(input.filesTaskQueue),
  }).catch((failure: unknown) => {
    committed = { failure };
    throw failure;
  });
  // What the caller reads at the commit and again in the run's result.
  const email = emailFieldsOf(stored);
  committed = { stored: storedOf(input, stored) };

  // The thread this email joined when it was stored; a later arrival can still merge threads. A long
  // id (`mid:` and a long Message-ID) is recorded as its hash, as the tool records MessageId.
  // Histories from before keyed hashes carry no threadSearchValue: they replay as they ran.
  const thread = searchAttribute(ThreadId, stored.threadSearchValue ?? stored.threadId);
  if (fewerUpserts) carried = [thread];
  else upsertSearchAttributes([thread]);

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
  const analysis = !stored.created
    ? undefined
    : input.analyse === false
      ? { workflowId: null, note: ANALYSIS_OFF }
      : await startAnalysis(input.tenantId, stored.emailId, planEmailAnalysis);
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
    ...email,
    attachments,
    rawMessage,
    analysisWorkflowId,
  };
}
