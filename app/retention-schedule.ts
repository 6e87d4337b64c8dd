/**
 * The retention Temporal Schedule (`retention-rollup` by default): every hour at :05, overlap SKIP (a
 * run still going when the next is due makes that one skip, never pile up), catch-up window one day (after
 * an outage the missed action still runs once; the watermarks make it catch up every window).
 *
 * Applying is idempotent: the first start creates it, later starts update its spec, action and policies
 * to the current configuration and keep its state, so a paused schedule stays paused across restarts.
 */
import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleDescription,
  type ScheduleOptions,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { type RetentionInput, retentionRollupContract } from '../workflows/retention-rollup.contract.js';
import { summaryText } from '../workflows/search-attributes.js';

export const RETENTION_CATCHUP_WINDOW = '1 day';

export function retentionScheduleOptions(config: Config): ScheduleOptions {
  const { schedule, policy } = config.retention;
  const input: RetentionInput = { policy };
  return {
    scheduleId: schedule.id,
    spec: { intervals: [{ every: schedule.everyMs, offset: schedule.offsetMs }] },
    action: {
      type: 'startWorkflow',
      workflowType: retentionRollupContract.workflowType,
      // Temporal appends the action's time: `retention-rollup-2026-11-23T10:05:00Z`.
      workflowId: schedule.id,
      taskQueue: config.temporal.taskQueue,
      args: [input],
      staticSummary: summaryText(
        'Scheduled retention: roll up metrics, apply retention policies, delete queued files',
      ),
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: RETENTION_CATCHUP_WINDOW,
      pauseOnFailure: false,
    },
  };
}

/** Create the schedule, or bring an existing one up to date without touching its paused state. */
export async function applyRetentionSchedule(
  client: Client,
  config: Config,
  log: Logger,
): Promise<'created' | 'updated'> {
  const options = retentionScheduleOptions(config);
  try {
    await client.schedule.create(options);
    log.info('created the retention schedule', { scheduleId: options.scheduleId });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({
    spec: options.spec,
    action: options.action,
    policies: options.policies,
    state: { paused: previous.state.paused, note: previous.state.note },
  }));
  log.info('updated the retention schedule', { scheduleId: options.scheduleId });
  return 'updated';
}

/** What a person needs to know about the schedule: when it runs, what it last did, whether it is paused. */
export interface RetentionScheduleInfo {
  scheduleId: string;
  paused: boolean;
  note?: string;
  everySeconds: number;
  offsetSeconds: number;
  overlap: string;
  catchupWindowSeconds: number;
  workflowType: string;
  taskQueue: string;
  actionsTaken: number;
  skippedOverlap: number;
  missedCatchupWindow: number;
  nextRuns: string[];
  recentRuns: { scheduledAt: string; startedAt: string; workflowId: string; runId: string }[];
  running: { workflowId: string; runId: string }[];
}

export function scheduleInfo(d: ScheduleDescription): RetentionScheduleInfo {
  const interval = d.spec.intervals?.[0];
  return {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    ...(d.state.note ? { note: d.state.note } : {}),
    everySeconds: (interval?.every ?? 0) / 1000,
    offsetSeconds: (interval?.offset ?? 0) / 1000,
    overlap: d.policies.overlap ?? 'SKIP',
    catchupWindowSeconds: d.policies.catchupWindow / 1000,
    workflowType: d.action.workflowType,
    taskQueue: d.action.taskQueue ?? '',
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
    nextRuns: d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      startedAt: a.takenAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
    running: d.info.runningActions.map((a) => ({
      workflowId: a.workflow.workflowId,
      runId: a.workflow.firstExecutionRunId,
    })),
  };
}
