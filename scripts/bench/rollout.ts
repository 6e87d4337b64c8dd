/**
 * The prompt-rollout hot path: what deciding an email's prompt costs once a rollout is open.
 * - baseline: the query analysis ran before rollouts existed (the active version, nothing else);
 * - resolvePromptVersion with no rollout open, and with one open at 25% (join + bucketing);
 * - the bucketing alone (one SHA-256 of the salted email id).
 * Sequential calls over one connection to a throw-away PostgreSQL; p50/p95 in microseconds and the ratio
 * to the baseline measured in the same run. Figures, not pass/fail.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { rolloutBucket } from '../../core/rollout-bucket.js';
import { DEFAULT_GATES } from '../../core/rollout-gates.js';
import { createDatabase, provisionPostgres } from '../../dev-stack/postgres.js';
import { createDb, type Sql } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';
import { openPromptRollout, setPromptRolloutStage } from '../../supabase/prompt-rollouts.js';
import { createPromptVersion, resolvePromptVersion } from '../../supabase/prompts.js';
import { percentile, table } from './stats.js';

const TOOL = 'analyze_email';
const PROVIDER = 'openai';

async function measure(n: number, fn: (i: number) => unknown): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < Math.min(200, n); i++) await fn(i); // warm-up: plans cached, connection hot
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn(i);
    samples.push((performance.now() - start) * 1000);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { calls: { type: 'string', default: '5000' } } });
  const calls = Number(values.calls);
  const postgres = await provisionPostgres({ log: () => {} });
  let sql: Sql | undefined;
  try {
    sql = createDb({ url: await createDatabase(postgres.url, 'durable_inbox_bench_rollout'), max: 1 });
    await migrate(sql);
    const db = sql;
    const keys = Array.from({ length: calls }, () => randomUUID());
    // A tenant with no prompt of its own: served by the global set, as most tenants are.
    const tenantId = randomUUID();
    const request = (i: number) => ({ tenantId, toolName: TOOL, provider: PROVIDER, subjectKey: keys[i]! });

    const baseline = await measure(
      calls,
      () => db`select id, version from public.system_prompts
               where tool_name = ${TOOL} and provider = ${PROVIDER} and is_active`,
    );
    const noRollout = await measure(calls, (i) => resolvePromptVersion(db, request(i)));

    const [active] = await db<{ id: string }[]>`
      select id from public.system_prompts where tool_name = ${TOOL} and provider = ${PROVIDER} and is_active`;
    const candidate = await createPromptVersion(db, {
      actor: 'bench',
      tenantId: null,
      scopeTenantId: null,
      toolName: TOOL,
      provider: PROVIDER,
      content: 'bench candidate',
      description: 'bench',
    });
    const rolloutId = randomUUID();
    await openPromptRollout(db, {
      id: rolloutId,
      toolName: TOOL,
      provider: PROVIDER,
      baselineId: active!.id,
      candidateId: candidate.id,
      stages: [25, 100],
      bakeSeconds: 60,
      gates: DEFAULT_GATES,
      workflowId: 'bench',
      actor: 'bench',
      tenantId: null,
      scopeTenantId: null,
    });
    await setPromptRolloutStage(db, rolloutId, {
      stage: 0,
      percent: 25,
      paused: false,
      action: 'bench',
      actor: 'bench',
      tenantId: null,
    });
    const arms: string[] = [];
    const withRollout = await measure(calls, async (i) => {
      arms[i] = (await resolvePromptVersion(db, request(i))).arm;
    });
    const candidates = arms.filter((a) => a === 'candidate').length;
    const bucketOnly = await measure(calls, (i) => rolloutBucket(keys[i]!, rolloutId));

    const row = (label: string, m: { p50: number; p95: number }) => [
      label,
      m.p50,
      m.p95,
      `${(m.p50 / baseline.p50).toFixed(2)}×`,
    ];
    process.stdout.write(
      `\nprompt resolution, ${calls} sequential calls, one connection (${os.cpus().length} cores)\n\n${table([
        ['', 'p50 µs', 'p95 µs', 'p50 / baseline'],
        row('baseline: active-version query', baseline),
        row('resolvePromptVersion, no rollout', noRollout),
        row('resolvePromptVersion, rollout at 25%', withRollout),
        row('bucketing alone (sha256)', bucketOnly),
      ])}\n\ncandidate share at 25%: ${((candidates / calls) * 100).toFixed(1)}% of ${calls}\n`,
    );
  } finally {
    await sql?.end();
    await postgres.stop();
  }
}
