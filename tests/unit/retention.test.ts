import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';
import { percentileCont } from '../../core/percentile.js';
import { DAY_MS, HOUR_MS, parseDuration, purgeCutoffs, rollupRange } from '../../core/retention.js';

const T = Date.UTC(2026, 10, 23, 10, 0, 0); // 10:00 UTC
const base = { graceMs: 120_000, rerollMs: HOUR_MS, oldestRaw: null, purgedBefore: null } as const;
const hours = (r: { from: number; to: number }) => [(r.from - T) / HOUR_MS, (r.to - T) / HOUR_MS];

describe('rollupRange', () => {
  const hourly = { ...base, unit: HOUR_MS, keepMs: 90 * DAY_MS };
  const daily = { ...base, unit: DAY_MS, keepMs: 730 * DAY_MS };

  it('rolls up the hour that ended before the grace, and only that, on a normal run', () => {
    expect(hours(rollupRange({ ...hourly, asOf: T + 5 * 60_000, watermark: T - HOUR_MS }))).toEqual([-1, 0]);
    // Within the grace the hour that just ended is not rolled up yet (the one before is, again: a no-op).
    expect(hours(rollupRange({ ...hourly, asOf: T + 60_000, watermark: T - HOUR_MS }))[1]).toBe(-1);
  });

  it('catches up from the watermark after downtime, and starts at the oldest raw row on a first run', () => {
    const asOf = T + 5 * 60_000;
    expect(hours(rollupRange({ ...hourly, asOf, watermark: T - 7 * DAY_MS }))).toEqual([-168, 0]);
    expect(
      hours(rollupRange({ ...hourly, asOf, watermark: null, oldestRaw: T - 30 * 60_000 - 5 * HOUR_MS })),
    ).toEqual([-6, 0]);
    expect(hours(rollupRange({ ...hourly, asOf, watermark: null }))).toEqual([0, 0]);
  });

  it('never rolls up what its own retention would purge, nor windows whose raw rows are purged', () => {
    const asOf = T + 5 * 60_000;
    expect(hours(rollupRange({ ...hourly, asOf, keepMs: 2 * DAY_MS, watermark: T - 9 * DAY_MS }))).toEqual([
      -48, 0,
    ]);
    expect(
      hours(
        rollupRange({
          ...hourly,
          asOf: T - 2 * DAY_MS + 5 * 60_000,
          watermark: T,
          purgedBefore: T - HOUR_MS,
        }),
      ),
    ).toEqual([-48, -48]);
  });

  it('re-rolls the windows before a backfilled run even though the watermark is past them', () => {
    expect(hours(rollupRange({ ...hourly, asOf: T - DAY_MS + 5 * 60_000, watermark: T }))).toEqual([
      -25, -24,
    ]);
    expect(
      hours(rollupRange({ ...hourly, rerollMs: 6 * HOUR_MS, asOf: T - DAY_MS + 5 * 60_000, watermark: T })),
    ).toEqual([-30, -24]);
  });

  it('rolls up a day in the first run after midnight only', () => {
    const midnight = Date.UTC(2026, 10, 23);
    const day = (r: { from: number; to: number }) => [
      (r.from - midnight) / DAY_MS,
      (r.to - midnight) / DAY_MS,
    ];
    expect(day(rollupRange({ ...daily, asOf: midnight + 5 * 60_000, watermark: midnight - DAY_MS }))).toEqual(
      [-1, 0],
    );
    expect(day(rollupRange({ ...daily, asOf: midnight + 13 * HOUR_MS, watermark: midnight }))).toEqual([
      0, 0,
    ]);
    // A backfilled action just after an earlier midnight rolls that day up again.
    expect(day(rollupRange({ ...daily, asOf: midnight - DAY_MS + 5 * 60_000, watermark: midnight }))).toEqual(
      [-2, -1],
    );
  });
});

describe('retention settings', () => {
  it('parses durations', () => {
    expect(['90s', '5m', '1h', '2d', '0', '250ms'].map(parseDuration)).toEqual([
      90_000,
      300_000,
      HOUR_MS,
      2 * DAY_MS,
      0,
      250,
    ]);
    expect(['1 h', 'h', '-1h', '1w', ''].map(parseDuration)).toEqual([null, null, null, null, null]);
  });

  it('defaults to hourly at :05 with the documented policy, and names bad variables', () => {
    const { retention } = loadConfig({});
    expect(retention.schedule).toEqual({
      enabled: true,
      id: 'retention-rollup',
      everyMs: HOUR_MS,
      offsetMs: 300_000,
    });
    expect(retention.policy).toMatchObject({
      rawDays: 7,
      hourlyDays: 90,
      dailyDays: 730,
      batchSize: 1000,
      rerollHours: 1,
    });
    expect(retention.operatorTenant).toBe('local');
    expect(loadConfig({ RETENTION_SCHEDULE_EVERY: '6h' }).retention.policy.rerollHours).toBe(6);
    expect(() => loadConfig({ RETENTION_SCHEDULE_EVERY: 'hourly' })).toThrow(
      /RETENTION_SCHEDULE_EVERY: a duration/,
    );
    expect(() => loadConfig({ RETENTION_SCHEDULE_OFFSET: '2h' })).toThrow(
      /RETENTION_SCHEDULE_OFFSET: must be shorter than RETENTION_SCHEDULE_EVERY/,
    );
    expect(() => loadConfig({ RETENTION_BATCH_SIZE: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ RETENTION_RAW_DAYS: 'week' })).toThrow(/RETENTION_RAW_DAYS: .*\(got "week"\)/);
    expect(() => loadConfig({ RETENTION_SCHEDULE_ID: 'a b' })).toThrow(/RETENTION_SCHEDULE_ID: /);
  });

  it('cuts each table at its own age', () => {
    const asOf = T + 5 * 60_000;
    const policy = loadConfig({}).retention.policy;
    const cuts = purgeCutoffs(asOf, policy, T - 7 * DAY_MS);
    expect(cuts.performance_metrics).toBe(T - 7 * DAY_MS);
    expect(cuts.performance_hourly).toBe(T - 90 * DAY_MS);
    expect(cuts.performance_daily).toBe(Date.UTC(2026, 10, 23) - 730 * DAY_MS);
    expect(cuts.ingest_failures).toBe(asOf - 30 * DAY_MS);
    expect(cuts.events).toBe(asOf - 30 * DAY_MS);
    const shorter = loadConfig({ RETENTION_EVENTS_DAYS: '3' }).retention.policy;
    expect(purgeCutoffs(asOf, shorter, T).events).toBe(asOf - 3 * DAY_MS);
  });
});

describe('percentileCont', () => {
  it('interpolates like PostgreSQL', () => {
    expect(percentileCont([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentileCont([10], 0.99)).toBe(10);
    expect(percentileCont([0, 100], 0.95)).toBeCloseTo(95);
    expect(percentileCont([], 0.5)).toBeNaN();
  });
});
