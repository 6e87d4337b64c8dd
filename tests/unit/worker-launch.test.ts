import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { workerLaunch } from '../../workers/worker-launch.js';

const defaults = { heapGrowingPercent: 20, maxSemiSpaceMb: 4 };

describe('workerLaunch', () => {
  it('launches a worker with the memory defaults, from the configuration', () => {
    expect(loadConfig({}).temporal.workerMemory).toEqual(defaults);
    expect(workerLaunch(defaults, { PATH: '/bin' })).toEqual({
      nodeArgs: ['--heap-growing-percent=20', '--max-semi-space-size=4'],
      env: { PATH: '/bin', MALLOC_ARENA_MAX: '2' },
    });
  });

  it("leaves the operator's choices alone: NODE_OPTIONS' semi-space, MALLOC_ARENA_MAX, and 0", () => {
    const launch = workerLaunch(defaults, {
      NODE_OPTIONS: '--max-semi-space-size=16',
      MALLOC_ARENA_MAX: '8',
    });
    expect(launch.nodeArgs).toEqual(['--heap-growing-percent=20']);
    expect(launch.env).toEqual({ NODE_OPTIONS: '--max-semi-space-size=16', MALLOC_ARENA_MAX: '8' });
    const config = loadConfig({ WORKER_HEAP_GROWING_PERCENT: '0', WORKER_MAX_SEMI_SPACE_MB: '0' });
    expect(workerLaunch(config.temporal.workerMemory, {}).nodeArgs).toEqual([]);
  });

  it('refuses settings V8 would not take', () => {
    expect(() => loadConfig({ WORKER_HEAP_GROWING_PERCENT: '-1' })).toThrow(/WORKER_HEAP_GROWING_PERCENT/);
    expect(() => loadConfig({ WORKER_MAX_SEMI_SPACE_MB: 'big' })).toThrow(/WORKER_MAX_SEMI_SPACE_MB/);
  });
});
