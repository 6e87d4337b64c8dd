/**
 * IMAP mailbox sync: one long-running entity workflow per mailbox (`mailbox-sync/<tenant>/<mailboxId>`).
 *
 * Loop: a bounded sync pass (activity syncMailbox: new mail, the initial sync newest first, flags and
 * expunges), the new emails' attachments and raw messages to storage and their analysis started (the
 * same steps email ingestion takes), then, once caught up, a watch (IDLE, or polling) until the server
 * says something changed. Steering arrives as validated updates (pause, resume, resync, disconnect) that
 * cancel a running watch; `status` is a query. A refused login (MailboxAuthFailed, not retried) puts
 * the mailbox in needs_attention and the workflow waits for resume (connect_mailbox with new credentials
 * resumes it); network errors are retried by the activities with backoff. It continues as new before
 * its history grows large, carrying its state.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { MailboxSyncActivities } from '../activities/mailbox-sync-activities.js';
import { inParallel } from '../core/in-parallel.js';
import { createTaskPool } from '../core/task-pool.js';
import { ANALYSIS_OFF, startAnalyses, startAnalysis } from './email-analysis-start.js';
import { storeEmailAttachments } from './email-attachments.js';
import {
  disconnectMailboxUpdate,
  type MailboxSyncCarried,
  type MailboxSyncInput,
  type MailboxSyncState,
  type MailboxSyncStatus,
  mailboxStateOptions,
  mailboxSyncPassOptions,
  mailboxSyncStatusQuery,
  mailboxWatchOptions,
  pauseMailboxUpdate,
  resumeMailboxUpdate,
  resyncMailboxUpdate,
  type StoredFollowUp,
} from './mailbox-sync.contract.js';
import { archiveRawMessages } from './raw-archive.js';

const { syncMailbox } = proxyActivities<MailboxSyncActivities>(mailboxSyncPassOptions);
const { watchMailbox } = proxyActivities<MailboxSyncActivities>(mailboxWatchOptions);
const {
  setMailboxSyncStatus,
  forgetMailboxFolders,
  disconnectMailbox,
  mailboxFollowUpsPending,
  mailboxAnalysisPending,
  markMailboxAnalysisStarted,
} = proxyActivities<MailboxSyncActivities>(mailboxStateOptions);

/** Passes per run before continuing as new, whatever the server suggests. */
const PASSES_PER_RUN = 200;
const FOLLOW_UPS_AT_ONCE = 4;
const ANALYSIS_LEDGER_PATCH = 'mailbox-analysis-ledger';
const FOLLOW_UP_PIPELINE_PATCH = 'mailbox-follow-up-pipeline';
/**
 * Passes whose follow-ups run beside the sync: the next pass starts while at most this many are still
 * archiving and planning, so the staged raw bytes and the files queue's backlog stay bounded.
 */
const PASSES_FOLLOWING_UP = 2;
const REFUSALS = new Set(['MailboxAuthFailed', 'CredentialsKeyMissing', 'NotFound']);

export async function mailboxSyncWorkflow(input: MailboxSyncInput): Promise<MailboxSyncStatus> {
  const ref = { tenantId: input.tenantId, mailboxId: input.mailboxId };
  const carried: MailboxSyncCarried = input.carried ?? {
    paused: false,
    attention: null,
    resync: [],
    totals: { stored: 0, linked: 0, failed: 0, flagsChanged: 0, expunged: 0, downloaded: 0 },
  };
  let disconnected = false;
  let state: MailboxSyncState = carried.paused ? 'paused' : carried.attention ? 'needs_attention' : 'syncing';
  let passes = 0;
  let last: string | null = null;
  /** Set by every update: wakes a wait and cancels a watch. */
  let steered = false;
  let watch: CancellationScope | undefined;

  const status = (): MailboxSyncStatus => ({
    state,
    attention: carried.attention,
    passes,
    totals: carried.totals,
    last,
  });
  const steer = () => {
    steered = true;
    watch?.cancel();
  };
  const notDisconnected = () => {
    if (disconnected) throw new Error('the mailbox is disconnected');
  };

  setHandler(mailboxSyncStatusQuery, status);
  setHandler(
    pauseMailboxUpdate,
    async () => {
      carried.paused = true;
      state = 'paused';
      steer();
      await setMailboxSyncStatus({ ...ref, status: 'paused' });
      return status();
    },
    { validator: notDisconnected },
  );
  setHandler(
    resumeMailboxUpdate,
    async () => {
      carried.paused = false;
      carried.attention = null;
      state = 'syncing';
      steer();
      await setMailboxSyncStatus({ ...ref, status: 'syncing', error: null });
      return status();
    },
    { validator: notDisconnected },
  );
  setHandler(
    resyncMailboxUpdate,
    ({ folder }) => {
      carried.resync.push(folder);
      steer();
      return status();
    },
    {
      validator: ({ folder }) => {
        notDisconnected();
        if (folder !== null && (typeof folder !== 'string' || folder.length === 0 || folder.length > 1000)) {
          throw new Error('folder must be a folder name or null (all folders)');
        }
      },
    },
  );
  setHandler(
    disconnectMailboxUpdate,
    async () => {
      disconnected = true;
      state = 'disconnected';
      steer();
      await disconnectMailbox(ref);
      return status();
    },
    { validator: notDisconnected },
  );

  // Runs started before the ledger recorded analysis starts replay as they ran: they start analyses
  // without marking them and catch up only attachments and raw messages.
  const ledgered = patched(ANALYSIS_LEDGER_PATCH);
  // Runs from before the pipeline replay as they ran: each pass awaited its follow-ups, analysis planned
  // one activity per email even when off. Since: a pass's follow-ups run on this pool beside the next
  // passes, and the plans are skipped (analysis off) or made a hundred per activity.
  const pipelined = ledgered && patched(FOLLOW_UP_PIPELINE_PATCH);
  const followUps = pipelined ? createTaskPool(PASSES_FOLLOWING_UP) : undefined;
  /** Every follow-up finished: before the run waits, continues as new or ends. */
  const drainFollowUps = async () => {
    await followUps?.drain();
  };
  // Stored emails a crash left without their attachments or raw message (the commit came first), or
  // whose analysis was never started; starting one again is harmless (one run per email and prompt).
  const pending = await mailboxFollowUpsPending({ ...ref, limit: 500 });
  if (ledgered) {
    await followUp(input, pending, { analyse: false });
    await analyse(input, await mailboxAnalysisPending({ ...ref, limit: 500 }), true, pipelined);
  } else {
    await followUp(input, pending, { analyse: true, mark: false });
  }

  for (;;) {
    if (disconnected) break;
    if (carried.paused || carried.attention) {
      await drainFollowUps();
      state = carried.paused ? 'paused' : 'needs_attention';
      steered = false;
      await condition(() => steered);
      continue;
    }
    if (passes >= PASSES_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await drainFollowUps();
      await condition(allHandlersFinished);
      await continueAsNew<typeof mailboxSyncWorkflow>({ ...input, carried });
    }
    if (carried.resync.length > 0) {
      const folders = carried.resync.includes(null) ? null : (carried.resync as string[]);
      carried.resync = [];
      await forgetMailboxFolders({ ...ref, folders });
    }
    // Never more than PASSES_FOLLOWING_UP passes' follow-ups behind.
    if (followUps) await condition(() => followUps.size < PASSES_FOLLOWING_UP);
    state = 'syncing';
    passes++;
    let pass: Awaited<ReturnType<typeof syncMailbox>>;
    try {
      pass = await syncMailbox({
        ...ref,
        budget: input.passBudget,
        stageAttachments: Boolean(input.filesTaskQueue),
      });
    } catch (err) {
      const refusal = refusalOf(err);
      if (!refusal) throw err;
      // The activity has put the mailbox in needs_attention with the server's reason; wait for a person.
      carried.attention = refusal;
      last = refusal;
      continue;
    }
    for (const key of ['stored', 'linked', 'failed', 'flagsChanged', 'expunged', 'downloaded'] as const) {
      // A run carried from before `downloaded` was counted has no such total yet.
      carried.totals[key] = (carried.totals[key] ?? 0) + pass[key];
    }
    last = `pass ${passes}: ${pass.stored} stored, ${pass.linked} linked, ${pass.failed} failed, ${pass.flagsChanged} flag changes, ${pass.expunged} expunged, ${pass.downloaded} downloaded`;
    setCurrentDetails(
      `**${state}** · stored ${carried.totals.stored} · linked ${carried.totals.linked} · failed ${carried.totals.failed}\n\n${last}`,
    );
    if (followUps) {
      const created = pass.created;
      followUps.add(() => followUp(input, created, { analyse: true, mark: true, batched: true }));
    } else {
      await followUp(input, pass.created, { analyse: true, mark: ledgered });
    }
    if (pass.more || steered) {
      steered = false;
      continue;
    }
    // Caught up: the last passes' follow-ups finish before the watch (which may last an hour).
    await drainFollowUps();
    if (steered) {
      steered = false;
      continue;
    }
    state = 'idle';
    steered = false;
    watch = new CancellationScope();
    try {
      const seen = await watch.run(() => watchMailbox(ref));
      last = `watch: ${seen.reason}`;
    } catch (err) {
      if (!isCancellation(err)) {
        const refusal = refusalOf(err);
        if (!refusal) throw err;
        carried.attention = refusal;
        last = refusal;
      }
    } finally {
      watch = undefined;
    }
  }
  await drainFollowUps();
  await condition(allHandlersFinished);
  return status();
}

/** New emails: attachments and raw messages to storage, analysis started; as email ingestion does. */
async function followUp(
  input: MailboxSyncInput,
  created: StoredFollowUp[],
  options: { analyse: boolean; mark?: boolean; batched?: boolean },
): Promise<void> {
  if (created.length === 0) return;
  const { tenantId, filesTaskQueue } = input;
  if (filesTaskQueue) {
    await Promise.all([
      inParallel(
        created.filter((e) => e.attachmentCount > 0),
        FOLLOW_UPS_AT_ONCE,
        (email) => storeEmailAttachments({ ...email, tenantId, filesTaskQueue }),
      ),
      archiveRawMessages(tenantId, filesTaskQueue, { emailIds: created.map((e) => e.emailId) }),
    ]);
  }
  if (options.analyse) {
    await analyse(
      input,
      created.map((e) => e.emailId),
      options.mark ?? true,
      options.batched ?? false,
    );
  }
}

/**
 * Start the emails' analysis and mark it started on the ledger. One whose plan could not be made (not
 * "analysis is off": a failure) stays unmarked, so the next run's catch-up tries it again.
 */
async function analyse(
  input: MailboxSyncInput,
  emailIds: string[],
  mark: boolean,
  /** Skipped when the connecting server had analysis off, else planned a hundred per activity. */
  batched: boolean,
): Promise<void> {
  if (emailIds.length === 0) return;
  let started: string[] = [];
  if (batched && input.analyse === false) {
    started = emailIds;
  } else if (batched) {
    started = (await startAnalyses(input.tenantId, emailIds)).started;
  } else {
    await inParallel(emailIds, FOLLOW_UPS_AT_ONCE, async (emailId) => {
      const outcome = await startAnalysis(input.tenantId, emailId);
      if (outcome.workflowId || outcome.note === ANALYSIS_OFF) started.push(emailId);
    });
  }
  if (!mark) return;
  await markMailboxAnalysisStarted({
    tenantId: input.tenantId,
    mailboxId: input.mailboxId,
    emailIds: started,
  });
}

/** `<Type>: <message>` of a refusal the sync must not retry, or null for anything else. */
function refusalOf(err: unknown): string | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type && REFUSALS.has(cause.type)) {
    return `${cause.type}: ${cause.message}`;
  }
  return null;
}
