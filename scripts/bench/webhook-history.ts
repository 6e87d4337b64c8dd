/**
 * Where a webhook delivery's time goes, read from the endpoint workflow's history against the bench's
 * wall clock (one machine, one clock): commit → the `wake` signal recorded (the waker: NOTIFY, the
 * endpoints query, signal-with-start), → the receiver has the request (Temporal's dispatch of the
 * workflow task, the claim, opening the secret, signing, sending). The workflow-task events are not
 * used: their times need not be when the task started on the worker, so they would split the second
 * leg wrongly.
 */
import type { temporal } from '@temporalio/proto';
import { eventMs as ms, percentile } from './stats.js';

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
  const signaled = timings.flatMap((t) => {
    const at = signals.find((x) => x >= t.committedAt);
    return at === undefined || at > t.arrivedAt ? [] : [{ ...t, signaledAt: at }];
  });
  const leg = (name: string, xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return [name, percentile(sorted, 50), percentile(sorted, 95), '', ''];
  };
  return [
    leg(
      `  commit → wake signal recorded (waker; ${signaled.length} of ${timings.length})`,
      signaled.map((t) => t.signaledAt - t.committedAt),
    ),
    leg(
      '  signal → receiver (dispatch, claim, sign, send)',
      signaled.map((t) => t.arrivedAt - t.signaledAt),
    ),
  ];
}
