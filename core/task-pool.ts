/**
 * A pool that runs tasks added over time with at most `limit` in flight, and is drained when the caller
 * must know they all finished. Unlike inParallel (one batch, awaited whole), work added by one step
 * keeps running while the next step goes on: a slow task never holds up the steps after it.
 *
 * Pure, so workflows use it too: it only awaits the promises its tasks return. A task that rejects does
 * not stop the others; `drain` rejects with the first such error once everything has settled.
 */
export interface TaskPool {
  add(task: () => Promise<unknown>): void;
  /** Resolves when nothing is queued or running; rejects with the first task error, if any. */
  drain(): Promise<void>;
  /** Tasks queued or running. */
  readonly size: number;
}

export function createTaskPool(limit: number): TaskPool {
  const queue: (() => Promise<unknown>)[] = [];
  const waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let running = 0;
  let failure: { error: unknown } | undefined;

  const settleWaiters = () => {
    if (running > 0 || queue.length > 0 || waiting.length === 0) return;
    const failed = failure;
    failure = undefined;
    for (const w of waiting.splice(0)) {
      if (failed) w.reject(failed.error);
      else w.resolve();
    }
  };
  const pump = () => {
    while (running < Math.max(1, limit) && queue.length > 0) {
      const task = queue.shift()!;
      running++;
      task()
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .then(() => {
          running--;
          pump();
          settleWaiters();
        });
    }
  };

  return {
    add(task) {
      queue.push(task);
      pump();
    },
    drain() {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        settleWaiters();
      });
    },
    get size() {
      return running + queue.length;
    },
  };
}
