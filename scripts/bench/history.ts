/**
 * Where one run's time goes, read from its event history: how many events, workflow tasks, activity
 * tasks and local activities it took; when the email row was committed (the store step's completion,
 * from the start of the run); when the run completed; and how long workflow tasks waited for a worker.
 */
import type { temporal } from '@temporalio/proto';
import { eventMs as ms, percentile } from './stats.js';

type History = temporal.api.history.v1.IHistory;

export interface RunBreakdown {
  events: number;
  workflowTasks: number;
  activityTasks: number;
  localActivities: number;
  /** ms from the run's start to the store step's completion (the row is committed by then). */
  committedMs: number;
  completedMs: number;
  /** Sum of workflow-task waits (scheduled to started), ms. */
  workflowTaskWaitMs: number;
}

export function breakdown(history: History): RunBreakdown {
  const events = history.events ?? [];
  const t0 = ms(events[0]);
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  const storeDone =
    // A local store step completes in its marker (the first one); a scheduled one in its completion.
    events.find((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity') ??
    events.find((e) => {
      const done = e.activityTaskCompletedEventAttributes;
      const scheduled = done && byId.get(String(done.scheduledEventId));
      return scheduled?.activityTaskScheduledEventAttributes?.activityType?.name === 'ingestStagedEmail';
    });
  const waits = events.flatMap((e) => {
    const started = e.workflowTaskStartedEventAttributes;
    return started ? [ms(e) - ms(byId.get(String(started.scheduledEventId)))] : [];
  });
  return {
    events: events.length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    activityTasks: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    localActivities: events.filter(
      (e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity',
    ).length,
    committedMs: ms(storeDone) - t0,
    completedMs: ms(events.at(-1)) - t0,
    workflowTaskWaitMs: waits.reduce((a, b) => a + b, 0),
  };
}

/** Medians of each figure over many runs, as table rows. */
export function medianRows(runs: RunBreakdown[]): (string | number)[][] {
  const median = (f: (r: RunBreakdown) => number) =>
    percentile(
      runs.map(f).sort((a, b) => a - b),
      50,
    );
  return [
    ['history events', median((r) => r.events)],
    ['workflow tasks', median((r) => r.workflowTasks)],
    ['activity tasks', median((r) => r.activityTasks)],
    ['local activities', median((r) => r.localActivities)],
    ['workflow-task waits, ms (sum)', median((r) => r.workflowTaskWaitMs)],
    ['start → row committed, ms', median((r) => r.committedMs)],
    ['start → run completed, ms', median((r) => r.completedMs)],
  ];
}
