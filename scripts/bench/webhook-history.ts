/**
 * Where a webhook delivery's time goes, read from the endpoint workflow's history against the bench's
 * wall clock (one machine, one clock): commit → the `wake` signal recorded (the waker: NOTIFY, the
 * endpoints query, signal-with-start), → the workflow task that handles it started (Temporal's dispatch
 * to the worker), → the receiver has the request (the task: claim, open the secret, sign, send). A
 * delivery that the task still running for the previous one claimed and sent has no dispatch leg.
 */
import type { temporal } from '@temporalio/proto';
import { percentile } from './stats.js';

type Event = temporal.api.history.v1.IHistoryEvent;

const ms = (e: Event) =>
  e.eventTime ? Number(e.eventTime.seconds ?? 0) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : Number.NaN;

/** One delivery: wall-clock ms of its commit and of its arrival at the receiver. */
export interface DeliveryTiming {
  committedAt: number;
  arrivedAt: number;
}

export function webhookLegRows(
  history: temporal.api.history.v1.IHistory,
  timings: DeliveryTiming[],
): (string | number)[][] {
  const events = history.events ?? [];
  const signals = events.filter((e) => e.workflowExecutionSignaledEventAttributes).map(ms);
  const tasks = events.filter((e) => e.workflowTaskStartedEventAttributes).map(ms);
  const signaled = timings.flatMap((t) => {
    const at = signals.find((x) => x >= t.committedAt);
    return at === undefined || at > t.arrivedAt ? [] : [{ ...t, signaledAt: at }];
  });
  // A task that was still running (recording the previous attempt, claiming again) may have claimed
  // and sent it before any new task started for the signal.
  const dispatched = signaled.flatMap((t) => {
    const started = tasks.find((x) => x >= t.signaledAt);
    return started === undefined || started > t.arrivedAt ? [] : [{ ...t, startedAt: started }];
  });
  const leg = (name: string, xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return [name, percentile(sorted, 50), percentile(sorted, 95), '', ''];
  };
  return [
    leg(
      '  commit → wake signal recorded (waker)',
      signaled.map((t) => t.signaledAt - t.committedAt),
    ),
    leg(
      `  signal → new workflow task started (${dispatched.length} of ${timings.length})`,
      dispatched.map((t) => t.startedAt - t.signaledAt),
    ),
    leg(
      '  that task started → receiver (claim, sign, send)',
      dispatched.map((t) => t.arrivedAt - t.startedAt),
    ),
  ];
}
