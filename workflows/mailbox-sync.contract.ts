/**
 * Contract of the IMAP mailbox sync (workflows/mailbox-sync.ts): one long-running entity workflow per
 * mailbox, `mailbox-sync/<tenant>/<mailboxId>`. It is steered by validated updates (pause, resume,
 * resync, disconnect) that answer with the new status, and read by the `status` query. Its input and
 * history carry ids and counts only: credentials are read and decrypted by the activities.
 */
import { type ActivityOptions, defineQuery, defineUpdate } from '@temporalio/workflow';
import type { StoredFollowUp, SyncPassResult } from '../activities/mailbox-sync-activities.js';
import { type WorkflowContract, workflowContract } from './contract.js';
import { bounded, PATIENT_RETRY, QUICK_RETRY } from './retry-presets.js';

export type { StoredFollowUp, SyncPassResult };

export type MailboxSyncState = 'syncing' | 'idle' | 'paused' | 'needs_attention' | 'disconnected';

/** What the workflow carries across continue-as-new. */
export interface MailboxSyncCarried {
  paused: boolean;
  /** The refusal that stopped the sync (needs_attention) until resume or new credentials. */
  attention: string | null;
  /** Folders to re-list on the next pass; null in the list means all. */
  resync: (string | null)[];
  /** `downloaded`: bodies fetched (the rest were linked by Message-ID without one). */
  totals: {
    stored: number;
    linked: number;
    failed: number;
    flagsChanged: number;
    expunged: number;
    downloaded: number;
  };
}

export interface MailboxSyncInput {
  tenantId: string;
  mailboxId: string;
  /** Messages per pass (a pass is one activity, its batches MAILBOX_SYNC_BATCH each). */
  passBudget: number;
  /** Where attachment uploads and the raw archive run; without it, neither. */
  filesTaskQueue?: string;
  /** false: the server that connected the mailbox has analysis on ingest off (AI_ANALYSIS_ON_INGEST), so
   * the new emails' plans are skipped altogether, as email ingestion skips them. Absent (runs started
   * before this field) or true: the plans are made, and say "off" if the worker has it off. */
  analyse?: boolean;
  carried?: MailboxSyncCarried;
}

export interface MailboxSyncStatus {
  state: MailboxSyncState;
  attention: string | null;
  passes: number;
  totals: MailboxSyncCarried['totals'];
  /** What the last pass did, or the last watch saw. */
  last: string | null;
}

export const mailboxSyncStatusQuery = defineQuery<MailboxSyncStatus>('status');
export const pauseMailboxUpdate = defineUpdate<MailboxSyncStatus, []>('pause');
/** Resume a paused mailbox, or one waiting in needs_attention (after new credentials, say). */
export const resumeMailboxUpdate = defineUpdate<MailboxSyncStatus, []>('resume');
/** Re-list one folder (or all, with null): nothing already stored is stored again. */
export const resyncMailboxUpdate = defineUpdate<MailboxSyncStatus, [{ folder: string | null }]>('resync');
export const disconnectMailboxUpdate = defineUpdate<MailboxSyncStatus, []>('disconnect');

export function mailboxSyncWorkflowId(tenantId: string, mailboxId: string): string {
  return `mailbox-sync/${tenantId}/${mailboxId}`;
}

export type MailboxSyncWorkflow = (input: MailboxSyncInput) => Promise<MailboxSyncStatus>;
export const mailboxSyncContract: WorkflowContract<MailboxSyncWorkflow> =
  workflowContract<MailboxSyncWorkflow>('mailboxSyncWorkflow');

/** A pass: network errors and server restarts retry with backoff, forever; a refused login does not. */
export const mailboxSyncPassOptions: ActivityOptions = {
  startToCloseTimeout: '30 minutes',
  // Each batch heartbeats; a dead worker's pass is picked up again within this.
  heartbeatTimeout: '30 seconds',
  retry: { ...PATIENT_RETRY, maximumInterval: '5 minutes' },
};

/** The watch (IDLE) lasts up to an hour, heartbeating every few seconds; cancelled by any steering. */
export const mailboxWatchOptions: ActivityOptions = {
  startToCloseTimeout: '70 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { ...PATIENT_RETRY, maximumInterval: '5 minutes' },
};

export const mailboxStateOptions: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: bounded(QUICK_RETRY, 20),
};
