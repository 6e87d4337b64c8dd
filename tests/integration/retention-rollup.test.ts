/**
 * The retention workflow on the real dev server and a real Postgres (a database of this file's own: the
 * run purges and rolls up globally). 200,000 raw metrics over 10 days with known distributions:
 * - after one run, sampled hourly and daily rows equal percentile_cont recomputed in TypeScript over the
 *   same raw rows, every raw row is counted once, raw rows older than 7 days are gone and newer ones
 *   intact, and the catch-up ran window by window;
 * - a second run changes nothing (same rows, untouched, zero purged);
 * - a schedule backfill over a past range re-creates deleted hourly rows identically, and leaves rows
 *   whose raw metrics are purged alone;
 * - with batch size 1,000, purging 50,000 rows takes at least 50 batches;
 * - performance_report serves the series, per tenant under RLS.
 */
import type { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRetentionSchedule } from '../../app/retention-schedule.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { percentileCont } from '../../core/percentile.js';
import { DAY_MS, floorTo, HOUR_MS, iso, type RetentionPolicy } from '../../core/retention.js';
import type { RunningHttpServer } from '../../mcp/http.js';
import { asCaller } from '../../supabase/caller.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import type { Stack } from '../../workers/stack.js';
import type { RetentionInput, RetentionReport } from '../../workflows/retention-rollup.contract.js';
import { retentionRollupWorkflow } from '../../workflows/retention-rollup.js';
import { replayOptions, startTestStack, testEnv, uniqueName } from '../support/harness.js';
import { callOk, connectHttp } from '../support/mcp-clients.js';
import { privateDatabase } from '../support/private-db.js';

const ROWS = 200_000;
const SPAN_MS = 10 * DAY_MS;
const STEP_MS = SPAN_MS / ROWS; // 4.32 s: a row lands on every third hour boundary
const NIL = '00000000-0000-0000-0000-000000000000';

interface Group {
  tenant_id: string | null;
  tool_name: string;
  model_name: string;
  provider: string;
  param_hash: string;
}

interface Expected {
  call_count: number;
  error_count: number;
  avg_ms: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  min_ms: number;
  max_ms: number;
  total_tokens: number;
}

const AGGREGATES = `call_count, error_count, avg_ms, p50_ms, p95_ms, p99_ms, min_ms, max_ms, total_tokens::float8 as total_tokens`;

describe('retention rollups', () => {
  let stack: Stack;
  let http: RunningHttpServer;
  let admin: McpClient;
  let memberB: McpClient;
  let env: Record<string, string>;
  let policy: RetentionPolicy;
  let tenantA: string;
  let tenantB: string;
  // Seeded relative to a future hour, so a stray scheduled run (real clock, earlier) can only re-do or
  // skip work this test's own runs do: it never purges further than they do.
  const T0 = floorTo(Date.now(), HOUR_MS) + 3 * HOUR_MS;
  const asOf = iso(T0 + 5 * 60_000);
  const start = T0 - SPAN_MS;
  const rawCut = T0 - 7 * DAY_MS;
  let groups: Group[];
  let firstReport: RetentionReport;

  const runRetention = (input: Partial<RetentionInput> = {}) =>
    stack.client.workflow.execute(retentionRollupWorkflow, {
      taskQueue: env.TEMPORAL_TASK_QUEUE!,
      workflowId: uniqueName('retention-test'),
      args: [{ policy, asOf, ...input }],
    });

  beforeAll(async () => {
    env = testEnv({
      DATABASE_URL: await privateDatabase('retention_rollup'),
      MCP_HTTP_PORT: '0',
      RETENTION_SCHEDULE_ID: uniqueName('retention-rollup-test'),
    });
    stack = await startTestStack(env);
    policy = stack.config.retention.policy;
    tenantA = stack.defaultTenant.id;
    tenantB = (await ensureOrganization(stack.sql, uniqueName('org-b'))).id;
    http = await startMcpHttp(stack, createLogger('warn'));
    const adminKey = generateApiKey();
    await registerApiKey(stack.sql, tenantA, 'admin', adminKey, 'admin');
    admin = await connectHttp(http.url, adminKey);
    const bKey = generateApiKey();
    await registerApiKey(stack.sql, tenantB, 'member', bKey, 'member');
    memberB = await connectHttp(http.url, bKey);

    // Known distributions: 24 groups (3 tenants incl. none × 2 tools × 2 models × 2 param hashes), equally
    // frequent; m-small uniform over 50..549 ms, m-large 200..1199 ms with a 5 s outlier every 97th call;
    // every 23rd call failed.
    await stack.sql`
      insert into public.performance_metrics (call_key, ts, tenant_id, tool_name, model_name, provider,
        duration_ms, token_count, param_hash, success, error_type)
      select 'seed-' || i, ${new Date(start)}::timestamptz + (i * ${STEP_MS})::float8 * interval '1 millisecond',
        case i % 3 when 0 then ${tenantA}::uuid when 1 then ${tenantB}::uuid end,
        case (i / 3) % 2 when 0 then 'analyze_email' else 'summarize' end,
        case (i / 6) % 2 when 0 then 'm-small' else 'm-large' end,
        case (i / 6) % 2 when 0 then 'heuristic' else 'openai' end,
        (case (i / 6) % 2 when 0 then 50 + (i * 7919) % 500
          else 200 + (i * 104729) % 1000 + case when i % 97 = 0 then 5000 else 0 end end)::int,
        (10 + i % 300)::int,
        case (i / 12) % 2 when 0 then 'p1' else 'p2' end,
        i % 23 <> 0,
        case when i % 23 = 0 then 'ProviderTimeout' end
      from generate_series(0::bigint, ${ROWS - 1}::bigint) i`;
    // Calls in the hour still running at asOf: neither rolled up nor purged.
    await stack.sql`
      insert into public.performance_metrics (call_key, ts, tenant_id, tool_name, model_name, provider,
        duration_ms, token_count, param_hash, success)
      select 'current-' || i, ${new Date(T0)}::timestamptz + i * interval '1 second', ${tenantA}::uuid,
        'analyze_email', 'm-small', 'heuristic', 100, 10, 'p1', true
      from generate_series(0, 49) i`;
    groups = await stack.sql<Group[]>`
      select distinct tenant_id, tool_name, model_name, provider, param_hash from public.performance_metrics
      order by 1, 2, 3, 4, 5`;
  }, 180_000);

  afterAll(async () => {
    await admin?.close();
    await memberB?.close();
    await http?.close();
    await stack?.client.schedule
      .getHandle(env.RETENTION_SCHEDULE_ID!)
      .delete()
      .catch(() => {});
    await stack?.shutdown();
  });

  /** What a rollup row must hold, recomputed here from the raw rows of one group and window. */
  async function expectedFor(g: Group, from: number, to: number): Promise<Expected> {
    const rows = await stack.sql<{ d: number; ok: boolean; tokens: number }[]>`
      select duration_ms as d, success as ok, token_count as tokens from public.performance_metrics
      where ts >= ${new Date(from)} and ts < ${new Date(to)} and tenant_id is not distinct from ${g.tenant_id}::uuid
        and tool_name = ${g.tool_name} and model_name = ${g.model_name} and provider = ${g.provider}
        and param_hash = ${g.param_hash}`;
    const sorted = rows.map((r) => r.d).sort((a, b) => a - b);
    return {
      call_count: rows.length,
      error_count: rows.filter((r) => !r.ok).length,
      avg_ms: sorted.reduce((a, b) => a + b, 0) / rows.length,
      p50_ms: percentileCont(sorted, 0.5),
      p95_ms: percentileCont(sorted, 0.95),
      p99_ms: percentileCont(sorted, 0.99),
      min_ms: sorted[0]!,
      max_ms: sorted.at(-1)!,
      total_tokens: rows.reduce((a, r) => a + r.tokens, 0),
    };
  }

  async function rolledUp(
    table: 'hourly' | 'daily',
    g: Group,
    bucket: number,
  ): Promise<Expected | undefined> {
    const [row] = await stack.sql<Expected[]>`
      select ${stack.sql.unsafe(AGGREGATES)} from ${stack.sql.unsafe(`public.performance_${table}`)}
      where bucket = ${new Date(bucket)} and tenant_key = ${g.tenant_id ?? NIL}
        and tool_name = ${g.tool_name} and model_name = ${g.model_name} and provider = ${g.provider}
        and param_hash = ${g.param_hash}`;
    return row;
  }

  const snapshot = (table: 'hourly' | 'daily') =>
    stack.sql`
      select bucket, tenant_key, tool_name, model_name, provider, param_hash, ${stack.sql.unsafe(AGGREGATES)},
             rolled_up_at
      from ${stack.sql.unsafe(`public.performance_${table}`)}
      order by bucket, tenant_key, tool_name, model_name, provider, param_hash`;

  it('rolls up hourly and daily percentiles equal to an independent computation, and purges raw rows older than 7 days', async () => {
    // Sample groups and windows across the whole span, before the raw rows of the old ones are purged.
    const firstDay = floorTo(start, DAY_MS) + DAY_MS;
    const hourSamples = [0, 1, 5, 47, 71, 72, 73, 150, 200, 239].map((h, i) => ({
      group: groups[(i * 7) % groups.length]!,
      from: start + h * HOUR_MS,
    }));
    const daySamples = [0, 2, 5, 8].map((d, i) => ({
      group: groups[(i * 5 + 3) % groups.length]!,
      from: firstDay + d * DAY_MS,
    }));
    const expectedHours = await Promise.all(
      hourSamples.map((s) => expectedFor(s.group, s.from, s.from + HOUR_MS)),
    );
    const expectedDays = await Promise.all(
      daySamples.map((s) => expectedFor(s.group, s.from, s.from + DAY_MS)),
    );
    expect(expectedHours.every((e) => e.call_count > 20)).toBe(true);
    const [counts] = await stack.sql<
      { old: number; newer: number; complete: number; daysComplete: number }[]
    >`
      select (count(*) filter (where ts < ${new Date(rawCut)}))::int as old,
             (count(*) filter (where ts >= ${new Date(rawCut)}))::int as newer,
             (count(*) filter (where ts < ${new Date(T0)}))::int as complete,
             (count(*) filter (where ts < ${new Date(floorTo(T0, DAY_MS))}))::int as "daysComplete"
      from public.performance_metrics`;
    expect(counts!.old).toBe(ROWS * 0.3);

    const handle = await stack.client.workflow.start(retentionRollupWorkflow, {
      taskQueue: env.TEMPORAL_TASK_QUEUE!,
      workflowId: uniqueName('retention-first'),
      args: [{ policy, asOf }],
    });
    firstReport = await handle.result();

    for (const [i, s] of hourSamples.entries()) {
      expect(await rolledUp('hourly', s.group, s.from), `hour ${iso(s.from)}`).toEqual(expectedHours[i]);
    }
    for (const [i, s] of daySamples.entries()) {
      expect(await rolledUp('daily', s.group, s.from), `day ${iso(s.from)}`).toEqual(expectedDays[i]);
    }
    // Every raw row of a completed hour (day) is counted exactly once; the running hour is not rolled up.
    const [sums] = await stack.sql<{ hourly: number; daily: number; hours: number; current: number }[]>`
      select (select sum(call_count)::int from public.performance_hourly) as hourly,
             (select sum(call_count)::int from public.performance_daily) as daily,
             (select count(distinct bucket)::int from public.performance_hourly) as hours,
             (select count(*)::int from public.performance_hourly where bucket >= ${new Date(T0)}) as current`;
    expect(sums).toEqual({ hourly: counts!.complete, daily: counts!.daysComplete, hours: 240, current: 0 });

    // Raw rows older than 7 days are gone; every newer one is intact.
    const [after] = await stack.sql<{ old: number; newer: number }[]>`
      select (count(*) filter (where ts < ${new Date(rawCut)}))::int as old,
             (count(*) filter (where ts >= ${new Date(rawCut)}))::int as newer
      from public.performance_metrics`;
    expect(after).toEqual({ old: 0, newer: counts!.newer });

    expect(firstReport.rollups.hourly).toMatchObject({ from: iso(start), to: iso(T0), windows: 240 });
    expect(firstReport.rollups.hourly.changed).toBe(firstReport.rollups.hourly.groups);
    expect(firstReport.purged.performance_metrics!.rows).toBe(ROWS * 0.3);
    expect(firstReport.purged.performance_metrics!.batches).toBeGreaterThanOrEqual(
      (ROWS * 0.3) / policy.batchSize,
    );

    // Catch-up ran window by window: 240 hours in calls of at most a day, not one query.
    const history = await handle.fetchHistory();
    const rollupCalls = (history.events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'rollupWindows',
    );
    expect(rollupCalls.length).toBeGreaterThanOrEqual(10 + 2);
    // The workflow code replays its own history: deterministic.
    await Worker.runReplayHistory(replayOptions(), history);
    // The report is the run's current details in the Web UI.
    const metadata = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
    expect(metadata.currentDetails).toContain('**done**');
    expect(metadata.currentDetails).toContain(`performance_metrics ${ROWS * 0.3} (`);

    const marks = await stack.sql<{ name: string; watermark: Date }[]>`
      select name, watermark from public.retention_watermarks order by name`;
    expect(Object.fromEntries(marks.map((m) => [m.name, m.watermark.toISOString()]))).toEqual({
      performance_daily: iso(floorTo(T0, DAY_MS)),
      performance_hourly: iso(T0),
      performance_metrics_purged: iso(rawCut),
    });
  });

  it('changes nothing on a second run: same rows, untouched, zero purged', async () => {
    const hourly = await snapshot('hourly');
    const daily = await snapshot('daily');
    const report = await runRetention();
    expect(report.rollups.hourly.changed).toBe(0);
    expect(report.rollups.daily.changed).toBe(0);
    expect(Object.values(report.purged).map((p) => p.rows)).toEqual(
      Object.values(report.purged).map(() => 0),
    );
    expect(report.emails.emails).toBe(0);
    expect(await snapshot('hourly')).toEqual(hourly);
    expect(await snapshot('daily')).toEqual(daily);
  });

  it('a backfill over a past range re-creates deleted hourly rows identically and leaves purged windows alone', async () => {
    const config = loadConfig(env);
    await applyRetentionSchedule(stack.client, config, createLogger('warn'));
    // Three recent hours (raw rows still there) lose their rows; one old hour (raw purged) keeps its own.
    const lost = [T0 - 2 * DAY_MS - 3 * HOUR_MS, T0 - 2 * DAY_MS - 2 * HOUR_MS, T0 - 2 * DAY_MS - HOUR_MS];
    const old = T0 - 8 * DAY_MS;
    const before = await stack.sql`
      select bucket, tenant_key, tool_name, model_name, provider, param_hash, ${stack.sql.unsafe(AGGREGATES)}
      from public.performance_hourly
      where bucket = any(${lost.map(iso)}::timestamptz[]) or bucket = ${new Date(old)}
      order by 1, 2, 3, 4, 5, 6`;
    expect(before.length).toBe(4 * 24);
    const deleted = await stack.sql`
      delete from public.performance_hourly where bucket = any(${lost.map(iso)}::timestamptz[])`;
    expect(deleted.count).toBe(3 * 24);

    // The schedule's actions at :05 after each lost hour roll that hour up again.
    const backfills = [
      { from: iso(lost[0]! + HOUR_MS), to: iso(lost[2]! + HOUR_MS + 10 * 60_000) },
      { from: iso(old + HOUR_MS), to: iso(old + HOUR_MS + 10 * 60_000) },
    ];
    for (const range of backfills) {
      const out = await callOk<{ backfill: { from: string } }>(admin, 'retention_schedule', {
        action: 'backfill',
        ...range,
      });
      expect(out.backfill.from).toBe(range.from);
    }
    const actionIds = [...lost, old].map(
      (t) => `${env.RETENTION_SCHEDULE_ID}-${iso(t + HOUR_MS + 5 * 60_000).replace('.000Z', 'Z')}`,
    );
    const reports = await Promise.all(actionIds.map((id) => resultOf(id)));
    expect(reports.slice(0, 3).map((r) => r.rollups.hourly.windows)).toEqual([1, 1, 1]);
    expect(reports[3]!.rollups.hourly.windows).toBe(0);

    const after = await stack.sql`
      select bucket, tenant_key, tool_name, model_name, provider, param_hash, ${stack.sql.unsafe(AGGREGATES)}
      from public.performance_hourly
      where bucket = any(${lost.map(iso)}::timestamptz[]) or bucket = ${new Date(old)}
      order by 1, 2, 3, 4, 5, 6`;
    expect(after).toEqual(before);
  });

  // Its own bound: the 50,000 inserts each write an event and its Realtime row, and the purge runs 50
  // batches; on a loaded machine that takes most of a minute. Not a timing.
  it('purges 50,000 rows in batches of 1,000 in at least 50 iterations', async () => {
    await stack.sql`
      insert into public.ingest_failures (tenant_id, sha256, reason, detail, created_at)
      select ${tenantB}, md5(i::text) || md5((-i)::text), 'InvalidEmail', 'old', ${new Date(T0 - 40 * DAY_MS)}
      from generate_series(1, 50000) i`;
    await stack.sql`
      insert into public.ingest_failures (tenant_id, sha256, reason, detail)
      select ${tenantB}, md5(i::text), 'InvalidEmail', 'recent' from generate_series(1, 10) i`;
    const report = await runRetention({ tenantId: tenantB, policy: { ...policy, batchSize: 1000 } });
    expect(report.scope).toBe(tenantB);
    expect(report.purged.ingest_failures!.rows).toBe(50_000);
    expect(report.purged.ingest_failures!.batches).toBeGreaterThanOrEqual(50);
    // A tenant's run never purges the shared metric tables.
    expect(report.purged.performance_metrics).toBeUndefined();
    const left = await stack.sql<{ detail: string; n: number }[]>`
      select detail, count(*)::int as n from public.ingest_failures where tenant_id = ${tenantB} group by detail`;
    expect(left).toEqual([{ detail: 'recent', n: 10 }]);
  }, 180_000);

  it('performance_report serves hourly and daily series of the caller’s tenant, under RLS', async () => {
    const from = iso(T0 - 2 * DAY_MS);
    const to = iso(T0 - DAY_MS);
    const out = await callOk<{
      granularity: string;
      rolledUpUntil: string;
      series: {
        tool: string;
        model: string;
        paramHash: string;
        shared: boolean;
        points: Record<string, number | string>[];
      }[];
      truncated: boolean;
    }>(admin, 'performance_report', { from, to, tool: 'analyze_email', model: 'm-large' });
    expect(out.granularity).toBe('hourly');
    expect(out.rolledUpUntil).toBe(iso(T0));
    expect(out.series.map((s) => [s.tool, s.model, s.paramHash, s.shared])).toEqual([
      ['analyze_email', 'm-large', 'p1', false],
      ['analyze_email', 'm-large', 'p2', false],
    ]);
    const group: Group = {
      tenant_id: tenantA,
      tool_name: 'analyze_email',
      model_name: 'm-large',
      provider: 'openai',
      param_hash: 'p1',
    };
    const point = out.series[0]!.points[5]!;
    const row = await rolledUp('hourly', group, Date.parse(point.bucket as string));
    expect(out.series[0]!.points).toHaveLength(24);
    expect(point).toEqual({
      bucket: point.bucket,
      calls: row!.call_count,
      errors: row!.error_count,
      errorRate: row!.error_count / row!.call_count,
      avgMs: row!.avg_ms,
      p50Ms: row!.p50_ms,
      p95Ms: row!.p95_ms,
      p99Ms: row!.p99_ms,
      tokens: row!.total_tokens,
    });

    // Ten days read daily rows; shared metrics only when asked for.
    const daily = await callOk<{ granularity: string; series: { shared: boolean; points: unknown[] }[] }>(
      admin,
      'performance_report',
      { from: iso(start), to: iso(T0), provider: 'heuristic', includeShared: true },
    );
    expect(daily.granularity).toBe('daily');
    expect(daily.series.filter((s) => s.shared)).toHaveLength(4);
    expect(daily.series.filter((s) => !s.shared)).toHaveLength(4);

    // Another tenant's member sees their own series, never tenant A's; RLS says the same.
    const b = await callOk<{ series: { points: { calls: number }[] }[] }>(memberB, 'performance_report', {
      from,
      to,
      tool: 'analyze_email',
      model: 'm-large',
    });
    expect(b.series).toHaveLength(2);
    const visible = await asCaller(
      stack.sql,
      { role: 'authenticated', sub: crypto.randomUUID() },
      (tx) => tx`select count(*)::int as n from public.performance_hourly where tenant_id is not null`,
    );
    expect(visible).toEqual([{ n: 0 }]);
  });

  /** The result of a schedule action's run, once the schedule has started it. */
  async function resultOf(workflowId: string): Promise<RetentionReport> {
    for (let i = 0; i < 240; i++) {
      try {
        return await stack.client.workflow.getHandle<typeof retentionRollupWorkflow>(workflowId).result();
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(`${workflowId} never started`);
  }
});
