/**
 * Spaces calls at least 1/rate seconds apart within this process.
 *
 * Temporal's limits (maxTaskQueueActivitiesPerSecond on the server, maxActivitiesPerSecond in the
 * worker) are token buckets: after an idle spell they admit a burst of about twice the rate in the first
 * second, which is exactly what a provider's per-second quota rejects. The pacer smooths that burst;
 * the Temporal limits still bound the whole queue across workers.
 *
 * Callers wait in line and each is released 1/rate after the previous one was *actually* released, so
 * a stalled event loop delays calls but never lets them out in a burst to catch up.
 */
export interface Pacer {
  /** Resolves when the next call may start; rejects if `signal` aborts first. */
  take(signal?: AbortSignal): Promise<void>;
}

/** `onWait`: told how long a call waited for its turn, when it waited at all (metrics). */
export function createPacer(ratePerSecond: number, onWait?: (waitedMs: number) => void): Pacer {
  const interval = 1000 / ratePerSecond;
  let lastRelease = Number.NEGATIVE_INFINITY;
  let line: Promise<void> = Promise.resolve();
  return {
    take(signal) {
      const turn = line.then(async () => {
        signal?.throwIfAborted();
        const wait = lastRelease + interval - Date.now();
        if (wait > 0) {
          await delay(wait, signal);
          onWait?.(wait);
        }
        lastRelease = Date.now();
      });
      // An aborted caller leaves the line; the next one still waits its turn.
      line = turn.catch(() => {});
      return turn;
    },
  };
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
