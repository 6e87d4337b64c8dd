// All activities, built from their dependencies. Workers call createActivities(deps); workflows import
// only the types (proxyActivities<EmailActivities>), never this runtime code.
import { type AnalysisActivityDeps, createAnalysisActivities } from './analysis-activities.js';
import { createEmailActivities, type EmailActivityDeps } from './email-activities.js';

export type ActivityDeps = EmailActivityDeps & AnalysisActivityDeps;

export function createActivities(deps: ActivityDeps) {
  return { ...createEmailActivities(deps), ...createAnalysisActivities(deps) };
}

export type { AnalysisActivities } from './analysis-activities.js';
export type { EmailActivities } from './email-activities.js';
