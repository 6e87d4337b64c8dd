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
  const waiting = new Map<string, (value: T | undefined) => void>();
  return {
    expect(key, timeoutMs) {
      let settle: (value: T | undefined) => void = () => {};
      const notice = new Promise<T | undefined>((resolve) => {
        const timer = setTimeout(() => settle(undefined), timeoutMs);
        settle = (value) => {
          clearTimeout(timer);
          if (waiting.get(key) === settle) waiting.delete(key);
          resolve(value);
        };
      });
      // A second call for the same key (a retry racing the first) takes over; the first hears nothing.
      waiting.get(key)?.(undefined);
      waiting.set(key, settle);
      return { notice, cancel: () => settle(undefined) };
    },
    notify(key, value) {
      waiting.get(key)?.(value);
    },
  };
}
