/** The pool a mailbox run queues attachment uploads on: bounded, non-blocking, drained with errors. */
import { describe, expect, it } from 'vitest';
import { createTaskPool } from '../../core/task-pool.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('task pool', () => {
  it('runs at most `limit` at once, and a slow task does not hold up the ones added after it', async () => {
    const pool = createTaskPool(2);
    let running = 0;
    let most = 0;
    const finished: string[] = [];
    let releaseSlow!: () => void;
    const slow = new Promise<void>((r) => {
      releaseSlow = r;
    });
    pool.add(async () => {
      await slow;
      finished.push('slow');
    });
    for (const name of ['a', 'b', 'c']) {
      pool.add(async () => {
        running++;
        most = Math.max(most, running);
        await tick();
        running--;
        finished.push(name);
      });
    }
    for (let i = 0; i < 10; i++) await tick();
    expect(finished).toEqual(['a', 'b', 'c']);
    expect(most).toBe(1);
    expect(pool.size).toBe(1);
    releaseSlow();
    await pool.drain();
    expect(finished).toEqual(['a', 'b', 'c', 'slow']);
    expect(pool.size).toBe(0);
  });

  it('drains at once when empty, and rejects with the first error after all have settled', async () => {
    const pool = createTaskPool(3);
    await pool.drain();
    const done: number[] = [];
    pool.add(async () => {
      throw new Error('first');
    });
    pool.add(async () => {
      await tick();
      throw new Error('second');
    });
    pool.add(async () => {
      await tick();
      await tick();
      done.push(3);
    });
    await expect(pool.drain()).rejects.toThrow('first');
    expect(done).toEqual([3]);
    // The error was reported once: the pool is usable again.
    pool.add(async () => {
      done.push(4);
    });
    await pool.drain();
    expect(done).toEqual([3, 4]);
  });
});
