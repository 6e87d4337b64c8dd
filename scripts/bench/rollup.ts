/**
 * Retention benchmark on a real PostgreSQL: seed raw metrics (1,000,000 by default, over 10 days), then
 * run the retention activities exactly as the workflow does (in an activity context, heartbeats and all):
 *  - the rollup: every hour window, then every day window (daily percentiles from raw rows);
 *  - the raw purge of rows older than 7 days, in batches;
 *  - the longest single statement (the gap between two heartbeats: one window's transaction, or one
 *    purge batch);
 *  - the latency of a concurrent stream of metric inserts (record_ai_call, one connection, back to back)
 *    during the rollup and during the purge, against a baseline of the same stream with nothing else
 *    running, measured in the same run. If batches blocked writers, p99 and max would show it.
 */
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRetentionActivities } from '../../activities/retention-activities.js';
import { DAY_MS, floorTo, HOUR_MS, iso } from '../../core/retention.js';
import { createDatabase, provisionPostgres } from '../../dev-stack/postgres.js';
import { createDb, type Sql } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';
import type { StorageBackend } from '../../supabase/storage/backend.js';
import { percentile, table, timed } from './stats.js';

const quiet = () => {};

interface Stream {
  stop(): Promise<number[]>;
}

/** Insert one metric after another on its own connection, recording each insert's latency (ms). */
function insertStream(sql: Sql, label: string): Stream {
  const latencies: number[] = [];
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const call = {
        callKey: `bench-${label}-${n++}`,
        toolName: 'analyze_email',
        model: 'bench',
        provider: 'heuristic',
        durationMs: 100 + (n % 400),
        tokens: 50,
        paramHash: 'bench',
        success: true,
      };
      const start = performance.now();
      await sql`select public.record_ai_call(${sql.json(call)})`;
      latencies.push(performance.now() - start);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return latencies.sort((a, b) => a - b);
    },
  };
}

/** Run an activity as the worker would, recording the longest gap between heartbeats. */
async function asActivity<R>(
  fn: () => Promise<R>,
): Promise<{ result: R; ms: number; longestStepMs: number }> {
  const env = new MockActivityEnvironment();
  let last = performance.now();
  let longest = 0;
  env.on('heartbeat', () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  });
  const [result, ms] = await timed(() => env.run(fn) as Promise<R>);
  return { result, ms, longestStepMs: longest };
}

const stepRow = (label: string, count: number, rows: number, step: { ms: number; longestStepMs: number }) => [
  label,
  `${count}`,
  `${rows}`,
  step.ms / 1000,
  step.longestStepMs,
];

const latencyRow = (label: string, l: number[]) => [
  label,
  `${l.length}`,
  percentile(l, 50),
  percentile(l, 99),
  l.at(-1) ?? Number.NaN,
];

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { rows: { type: 'string', default: '1000000' }, batch: { type: 'string', default: '1000' } },
  });
  const rows = Number(values.rows);
  const batchSize = Number(values.batch);
  const postgres = await provisionPostgres({ log: quiet });
  try {
    const url = await createDatabase(postgres.url, 'durable_inbox_bench_rollup');
    const sql = createDb({ url, max: 2, applicationName: 'bench-retention' });
    const writer = createDb({ url, max: 1, applicationName: 'bench-writer' });
    await migrate(sql);
    const noStorage = {} as StorageBackend; // the rollup and the purge never touch storage
    const act = createRetentionActivities({ sql, storage: noStorage });
    const T0 = floorTo(Date.now(), HOUR_MS);
    const asOf = iso(T0 + 5 * 60_000);
    const stepMs = (10 * DAY_MS) / rows;

    process.stdout.write(`\nretention: ${rows} raw metrics over 10 days, purge batch ${batchSize}\n`);
    const [, seedMs] = await timed(
      () => sql`
        insert into public.performance_metrics (call_key, ts, tenant_id, tool_name, model_name, provider,
          duration_ms, token_count, param_hash, success)
        select 'seed-' || i, ${new Date(T0 - 10 * DAY_MS)}::timestamptz + (i * ${stepMs})::float8 * interval '1 millisecond',
          null, case i % 4 when 0 then 'analyze_email' when 1 then 'summarize' when 2 then 'classify' else 'extract' end,
          case (i / 4) % 3 when 0 then 'small' when 1 then 'medium' else 'large' end, 'openai',
          (50 + (i * 104729) % 2000 + case when i % 97 = 0 then 8000 else 0 end)::int, (i % 500)::int,
          'p' || (i / 12) % 4, i % 23 <> 0
        from generate_series(0::bigint, ${rows - 1}::bigint) i`,
    );
    await sql`analyze public.performance_metrics`;
    process.stdout.write(`  seeded in ${(seedMs / 1000).toFixed(1)} s\n`);

    // Baseline: the insert stream alone.
    const baseline = insertStream(writer, 'baseline');
    await new Promise((r) => setTimeout(r, 5000));
    const alone = await baseline.stop();

    const policy = { graceSeconds: 120, rerollHours: 1, hourlyDays: 90, dailyDays: 730, rawDays: 7 };
    const plan = await asActivity(() =>
      act.planRollups({
        asOf,
        dryRun: false,
        policy: {
          ...policy,
          ingestFailuresDays: 30,
          stagedContentDays: 7,
          mailboxLedgerDays: 30,
          fileJobsDays: 30,
          eventsDays: 30,
          inboundDays: 30,
          webhookTokensDays: 1,
          batchSize,
          fileGraceMinutes: 60,
        },
      }),
    );
    const duringRollup = insertStream(writer, 'rollup');
    const hourly = await asActivity(() =>
      act.rollupWindows({ grain: 'hour', ...plan.result.hour, maxWindows: 100_000, dryRun: false }),
    );
    const daily = await asActivity(() =>
      act.rollupWindows({ grain: 'day', ...plan.result.day, maxWindows: 100_000, dryRun: false }),
    );
    const rollupLatencies = await duringRollup.stop();

    const duringPurge = insertStream(writer, 'purge');
    const purge = await asActivity(() =>
      act.purgeTable({
        target: 'performance_metrics',
        before: plan.result.rawCut,
        batchSize,
        dryRun: false,
        budgetMs: Number.POSITIVE_INFINITY,
      }),
    );
    const purgeLatencies = await duringPurge.stop();

    process.stdout.write(
      `\n${table([
        ['step', 'windows/batches', 'rows', 'total s', 'longest statement ms'],
        stepRow('rollup hourly', hourly.result.windows, hourly.result.groups, hourly),
        stepRow('rollup daily (from raw)', daily.result.windows, daily.result.groups, daily),
        stepRow('purge raw > 7 days', purge.result.batches, purge.result.rows, purge),
      ])}\n`,
    );
    process.stdout.write(
      `  purge rate ${(purge.result.rows / (purge.ms / 1000)).toFixed(0)} rows/s; ` +
        `rollup ${((hourly.ms + daily.ms) / 1000).toFixed(1)} s for ${rows} rows\n`,
    );
    process.stdout.write(
      `\nconcurrent metric inserts (record_ai_call, one connection, back to back), ms\n${table([
        ['while', 'inserts', 'p50', 'p99', 'max'],
        latencyRow('baseline: nothing else running', alone),
        latencyRow('during the rollup', rollupLatencies),
        latencyRow('during the purge', purgeLatencies),
      ])}\n`,
    );
    const ratio = (l: number[], p: number) => (percentile(l, p) / percentile(alone, p)).toFixed(2);
    process.stdout.write(
      `  p99 ratio to baseline: rollup ${ratio(rollupLatencies, 99)}, purge ${ratio(purgeLatencies, 99)}\n`,
    );
    await writer.end();
    await sql.end();
  } finally {
    await postgres.stop();
  }
}
