/**
 * Contract of retention (workflows/retention-rollup.ts). Runs started on request have the id
 * `retention/<tenant|all>/<run-now|dry-run>`: a second request while one runs joins it. The schedule
 * starts its own runs under the schedule's id (RETENTION_SCHEDULE_ID), which Temporal suffixes with the
 * action's time.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { PurgeTarget, RetentionPolicy } from '../core/retention.js';
import { type WorkflowContract, workflowContract } from './contract.js';
import { PATIENT_RETRY } from './retry-presets.js';

export interface RetentionInput {
  policy: RetentionPolicy;
  /**
   * Only this tenant's data: its emails, files and housekeeping rows. Rollups still run (they are shared
   * and delete nothing); the shared metric tables are purged by system runs only.
   */
  tenantId?: string;
  dryRun?: boolean;
  /**
   * The run's "now" (ISO). Default: the schedule's time for the action when a schedule started the run,
   * else the workflow's clock.
   */
  asOf?: string;
  /** Rollup activity calls before continuing as new (default 100): keeps each run's history small. */
  rollupCallsPerRun?: number;
  /** Carried across continue-as-new. */
  carry?: { report: RetentionReport; startedAt: number; cursor: { hour?: string; day?: string } };
}

export interface RollupSummary {
  /** The range this run rolled up, [from, to); empty when from = to. */
  from: string;
  to: string;
  windows: number;
  /** Rows the windows hold (tenant × tool × model × provider × param_hash per bucket). */
  groups: number;
  /** Rows inserted, updated or removed; 0 on a re-run over the same raw rows. */
  changed: number;
}

export interface RetentionReport {
  asOf: string;
  dryRun: boolean;
  /** `all` for a system run (the schedule), else the tenant's id. */
  scope: string;
  rollups: { hourly: RollupSummary; daily: RollupSummary };
  /**
   * Rows purged (or, dry, that would be) and the statements it took, per table; for staged_content also
   * the rows past the cut it kept because they are still the only copy, per reason.
   */
  purged: Partial<Record<PurgeTarget, { rows: number; batches: number; kept?: Record<string, number> }>>;
  emails: { tenants: number; emails: number; attachments: number; filesQueued: number; batches: number };
  files: { deleted: number; skipped: number; postponed: number; failed: number };
  durationMs: number;
}

export function retentionWorkflowId(scope: 'all' | (string & {}), dryRun: boolean): string {
  return `retention/${scope}/${dryRun ? 'dry-run' : 'run-now'}`;
}

export type RetentionRollupWorkflow = (input: RetentionInput) => Promise<RetentionReport>;
export const retentionRollupContract: WorkflowContract<RetentionRollupWorkflow> =
  workflowContract<RetentionRollupWorkflow>('retentionRollupWorkflow');

export const retentionActivityOptions: ActivityOptions = {
  // Each call stops looping after a few minutes of work and hands back to the workflow.
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: PATIENT_RETRY,
};
