// All activities, built from their dependencies. Workers call createActivities(deps); workflows import
// only the types (proxyActivities<EmailActivities>), never this runtime code.
import { createEmailActivities, type EmailActivityDeps } from './email-activities.js';
import { createMailboxActivities, type MailboxActivityDeps } from './mailbox-activities.js';

export type ActivityDeps = EmailActivityDeps & MailboxActivityDeps;

export function createActivities(deps: ActivityDeps) {
  return { ...createEmailActivities(deps), ...createMailboxActivities(deps) };
}

export type { EmailActivities } from './email-activities.js';
