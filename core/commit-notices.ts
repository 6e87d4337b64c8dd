/**
 * In-process notices that a run's store step committed, for the tool call in the same process that waits
 * on it. With eager start (TEMPORAL_EAGER_START) a run's first workflow task runs in this process's
 * worker, and with it the local store step that commits the email row: the call answers from that
 * step's notice instead of sending the run the `stored` update, which needs a workflow task (and a trip
 * through the server) of its own. A notice is a shortcut, never the record: the row is committed before
 * it is sent, nothing is kept for a key nobody waits on, and a call that hears nothing in time (the task
 * ran elsewhere, the step failed, a worker died) sends the update as before.
 */
export interface CommitNotices<T> {
  /** Listen for `key` (before the run starts); resolves with the step's result, or undefined when the
   * step failed, `timeoutMs` passed or the wait was cancelled. */
  expect(key: string, timeoutMs: number): { notice: Promise<T | undefined>; cancel(): void };
  /** The step for `key` committed (`value`) or failed (undefined). */
  notify(key: string, value: T | undefined): void;
}

export function createCommitNotices<T>(): CommitNotices<T> {
  const waiting = new Map<string, Set<(value: T | undefined) => void>>();
  return {
    expect(key, timeoutMs) {
      let settle: (value: T | undefined) => void = () => {};
      const notice = new Promise<T | undefined>((resolve) => {
        const timer = setTimeout(() => settle(undefined), timeoutMs);
        settle = (value) => {
          clearTimeout(timer);
          const set = waiting.get(key);
          set?.delete(settle);
          if (set?.size === 0) waiting.delete(key);
          resolve(value);
        };
      });
      // Calls for the same message at once each wait (only the one whose start ran eagerly hears it).
      const set = waiting.get(key) ?? new Set();
      set.add(settle);
      waiting.set(key, set);
      return { notice, cancel: () => settle(undefined) };
    },
    notify(key, value) {
      for (const settle of [...(waiting.get(key) ?? [])]) settle(value);
    },
  };
}
