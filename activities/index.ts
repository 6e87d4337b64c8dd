// All activities, built from their dependencies. Workers register them per task queue (email, database
// and analysis work on the main queue, uploads on the files queue, LLM calls on ai-<provider>); workflows
// import only the types (proxyActivities<EmailActivities>), never this runtime code.
import { type AnalysisActivityDeps, createAnalysisActivities } from './analysis-activities.js';
import { createEmailActivities, type EmailActivityDeps } from './email-activities.js';
import { createFileActivities, type FileActivityDeps } from './file-activities.js';
import { createMailboxActivities, type MailboxActivityDeps } from './mailbox-activities.js';
import { createMailboxSyncActivities, type MailboxSyncActivityDeps } from './mailbox-sync-activities.js';
import { createPromptRolloutActivities } from './prompt-rollout-activities.js';
import { createRawArchiveActivities } from './raw-archive-activities.js';
import { createRetentionActivities, type RetentionActivityDeps } from './retention-activities.js';
import { createWebhookActivities, type WebhookActivityDeps } from './webhook-activities.js';

export type ActivityDeps = EmailActivityDeps &
  MailboxActivityDeps &
  MailboxSyncActivityDeps &
  FileActivityDeps &
  AnalysisActivityDeps &
  RetentionActivityDeps &
  WebhookActivityDeps;

/** Activities of the main task queue. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createEmailActivities(deps),
    ...createMailboxActivities(deps),
    ...createMailboxSyncActivities(deps),
    ...createAnalysisActivities(deps),
    ...createPromptRolloutActivities(deps),
    ...createRetentionActivities(deps),
    ...createWebhookActivities(deps),
  };
}

/** Activities of the files task queue: uploads hold connections and chunks, so they are bounded apart. */
export function createFilesQueueActivities(deps: ActivityDeps) {
  return { ...createFileActivities(deps), ...createRawArchiveActivities(deps) };
}

export type { AnalysisActivities } from './analysis-activities.js';
export type { EmailActivities } from './email-activities.js';
export type { FileActivities } from './file-activities.js';
export type { MailboxSyncActivities } from './mailbox-sync-activities.js';
export type { PromptRolloutActivities } from './prompt-rollout-activities.js';
export type { RawArchiveActivities } from './raw-archive-activities.js';
export type { RetentionActivities } from './retention-activities.js';
export type { WebhookActivities } from './webhook-activities.js';
