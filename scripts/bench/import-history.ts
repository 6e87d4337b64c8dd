/**
 * Where an mbox import's time goes, from its event histories (every run of the continue-as-new chain):
 * events and workflow tasks per chunk, and per activity type how many ran, how long they waited for a
 * worker (scheduled → started) and how long they ran (started → closed), as medians and sums.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { eventMs as ms, percentile, table } from './stats.js';

type Event = temporal.api.history.v1.IHistoryEvent;

export async function importHistory(client: Client, workflowId: string, firstRunId: string): Promise<string> {
  const events: Event[] = [];
  let runs = 0;
  for (let runId: string | undefined = firstRunId; runId; runs++) {
    const history: temporal.api.history.v1.IHistory = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const runEvents: Event[] = history.events ?? [];
    events.push(...runEvents);
    runId = runEvents.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  // Event ids restart in every run: key by run and id.
  const byType = new Map<string, { waits: number[]; runs: number[] }>();
  let run = 0;
  const scheduled = new Map<string, Event>();
  const started = new Map<string, Event>();
  let chunks = 0;
  let workflowTasks = 0;
  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes) run++;
    const key = (id: unknown) => `${run}/${String(id)}`;
    if (e.workflowTaskCompletedEventAttributes) workflowTasks++;
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      scheduled.set(key(e.eventId), e);
      if (s.activityType?.name === 'scanMailboxChunk') chunks++;
    }
    if (e.activityTaskStartedEventAttributes)
      started.set(key(e.activityTaskStartedEventAttributes.scheduledEventId), e);
    const closed =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (closed) {
      const sched = scheduled.get(key(closed.scheduledEventId));
      const start = started.get(key(closed.scheduledEventId));
      const name = sched?.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      const entry = byType.get(name) ?? { waits: [], runs: [] };
      entry.waits.push(ms(start) - ms(sched));
      entry.runs.push(ms(e) - ms(start));
      byType.set(name, entry);
    }
  }
  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const wall = ms(events.at(-1)) - ms(events[0]);
  return (
    `import history: ${runs} runs, ${chunks} chunks, ${events.length} events ` +
    `(${(events.length / Math.max(1, chunks)).toFixed(0)} per chunk), ${workflowTasks} workflow tasks, ` +
    `${(wall / 1000).toFixed(1)} s from first to last event\n${table([
      ['activity', 'count', 'wait p50 ms', 'run p50 ms', 'run sum s', 'wait sum s'],
      ...[...byType].map(([name, t]) => [
        name,
        String(t.runs.length),
        median(t.waits),
        median(t.runs),
        sum(t.runs) / 1000,
        sum(t.waits) / 1000,
      ]),
    ])}\n`
  );
}
