import { describe, expect, it } from 'vitest';
import { createCommitNotices } from '../../core/commit-notices.js';

describe('commit notices', () => {
  it('hands a notice to the call waiting on its key, and keeps nothing for keys nobody waits on', async () => {
    const notices = createCommitNotices<string>();
    notices.notify('nobody', 'lost');
    const { notice } = notices.expect('run-1', 1_000);
    notices.notify('run-2', 'other');
    notices.notify('run-1', 'stored');
    expect(await notice).toBe('stored');
    const later = notices.expect('nobody', 20);
    expect(await later.notice).toBeUndefined();
  });

  it('a failed step, a cancel or the timeout ends the wait with nothing; two waiters on a key wait apart', async () => {
    const notices = createCommitNotices<string>();
    const failed = notices.expect('a', 1_000);
    notices.notify('a', undefined);
    expect(await failed.notice).toBeUndefined();

    const cancelled = notices.expect('b', 1_000);
    cancelled.cancel();
    notices.notify('b', 'too late');
    expect(await cancelled.notice).toBeUndefined();

    const first = notices.expect('c', 1_000);
    const second = notices.expect('c', 1_000);
    second.cancel();
    notices.notify('c', 'stored');
    expect(await first.notice).toBe('stored');
    expect(await second.notice).toBeUndefined();

    const started = Date.now();
    expect(await notices.expect('d', 30).notice).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
