/**
 * Spaces calls at least 1/rate seconds apart within this process.
 *
 * Temporal's limits (maxTaskQueueActivitiesPerSecond on the server, maxActivitiesPerSecond in the
 * worker) are token buckets: after an idle spell they admit a burst of about twice the rate in the first
 * second, which is exactly what a provider's per-second quota rejects. The pacer smooths that burst;
 * the Temporal limits still bound the whole queue across workers.
 */
export interface Pacer {
  /** Resolves when the next call may start; rejects if `signal` aborts first. */
  take(signal?: AbortSignal): Promise<void>;
}

export function createPacer(ratePerSecond: number): Pacer {
  const interval = 1000 / ratePerSecond;
  let next = 0;
  return {
    take(signal) {
      const now = Date.now();
      const at = Math.max(now, next);
      next = at + interval;
      if (at === now) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, at - now);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    },
  };
}
