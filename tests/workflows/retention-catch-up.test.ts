/**
 * Catch-up after downtime: a week without runs is rolled up window by window on the next run, across
 * continue-as-new when the run's history would grow, and the report adds up over the whole chain. Real
 * dev server, a database of this file's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, floorTo, HOUR_MS, iso } from '../../core/retention.js';
import type { Stack } from '../../workers/stack.js';
import type { RetentionInput } from '../../workflows/retention-rollup.contract.js';
import { retentionRollupWorkflow } from '../../workflows/retention-rollup.js';
import { runCount, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { privateDatabase } from '../support/private-db.js';

describe('retention catch-up', () => {
  let stack: Stack;
  const T = floorTo(Date.now(), HOUR_MS) + 2 * HOUR_MS;

  beforeAll(async () => {
    stack = await startTestStack(testEnv({ DATABASE_URL: await privateDatabase('retention_catch_up') }));
    // One call every 10 minutes for 10 days.
    await stack.sql`
      insert into public.performance_metrics (call_key, ts, tool_name, model_name, provider, duration_ms,
        param_hash, success)
      select 'c-' || i, ${new Date(T - 10 * DAY_MS)}::timestamptz + i * interval '10 minutes', 'analyze_email',
        'm', 'heuristic', 100 + i % 50, 'p', true
      from generate_series(0, 10 * 24 * 6 - 1) i`;
  }, 120_000);
  afterAll(() => stack?.shutdown());

  async function run(asOf: number, extra: Partial<RetentionInput> = {}) {
    const workflowId = uniqueName('retention-catch-up');
    const report = await stack.client.workflow.execute(retentionRollupWorkflow, {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      args: [{ policy: stack.config.retention.policy, asOf: iso(asOf + 5 * 60_000), ...extra }],
    });
    return { report, runs: await runCount(stack.client, workflowId) };
  }

  it('rolls up a week of missed hours window by window after downtime, continuing as new on the way', async () => {
    // Nothing is rolled up yet, so nothing raw may be purged, however old.
    const [early] = await stack.sql<{ n: number }[]>`
      select public.purge_performance_metrics(${new Date(T)}, 100000) as n`;
    expect(early!.n).toBe(0);

    // The last run before the downtime, a week ago.
    const before = await run(T - 7 * DAY_MS);
    expect(before.report.rollups.hourly.windows).toBe(72);
    // Asked to purge everything, the raw purge stops at what both rollups cover: the daily watermark.
    const dayMark = floorTo(T - 7 * DAY_MS, DAY_MS);
    const [guarded] = await stack.sql<{ n: number; older: number; newer: number }[]>`
      with counts as (
        select (count(*) filter (where ts < ${new Date(dayMark)}))::int as older,
               (count(*) filter (where ts >= ${new Date(dayMark)}))::int as newer
        from public.performance_metrics
      )
      select public.purge_performance_metrics(${new Date(T)}, 100000) as n, older, newer from counts`;
    expect(guarded!.n).toBe(guarded!.older);
    expect(guarded!.n).toBeGreaterThan(0);
    const [left] = await stack.sql<
      { n: number }[]
    >`select count(*)::int as n from public.performance_metrics`;
    expect(left!.n).toBe(guarded!.newer);

    // A week later: 168 missed hours, in calls of at most 24 windows, at most 2 calls per run.
    const after = await run(T, { rollupCallsPerRun: 2 });
    expect(after.report.rollups.hourly).toMatchObject({
      from: iso(T - 7 * DAY_MS),
      to: iso(T),
      windows: 7 * 24,
      groups: 7 * 24,
      changed: 7 * 24,
    });
    expect(after.report.rollups.daily.windows).toBeGreaterThanOrEqual(7);
    // 7 hourly calls + 1–2 daily calls at 2 per run: at least 4 runs in the chain.
    expect(after.runs).toBeGreaterThanOrEqual(4);
    // The rest of the week-old rows are purged after the catch-up, by the last run of the chain.
    expect(after.report.purged.performance_metrics!.rows).toBe(3 * 24 * 6 - guarded!.n);

    const [rows] = await stack.sql<{ hours: number; calls: number; raw: number }[]>`
      select (select count(*)::int from public.performance_hourly) as hours,
             (select sum(call_count)::int from public.performance_hourly) as calls,
             (select count(*)::int from public.performance_metrics) as raw`;
    expect(rows).toEqual({ hours: 240, calls: 10 * 24 * 6, raw: 7 * 24 * 6 });
  });
});
