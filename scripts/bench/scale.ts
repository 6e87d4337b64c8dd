/**
 * Cost as a tenant grows: the tenant is seeded in bulk (generate_series: emails in threads of five,
 * bodies from a vocabulary, each with its archived raw message's file row) to each size in turn, and at each size the bench measures
 *  - ingest_email over MCP (call to committed row), p50 and p95;
 *  - upsert_email alone (the per-tenant-locked statement that caps one tenant's ingest rate);
 *  - a small mbox import, messages per second;
 *  - search_emails over MCP: selective words (p50, p95) and one broad word (in 10% of the emails);
 * each as a ratio to the empty tenant, measured in the same run. At every non-empty size it also runs
 * one message through every per-message statement of the ingest path (staging, the store activity with
 * an attachment, the raw-message archive, the analysis plan) with auto_explain (ANALYZE, BUFFERS, nested
 * statements), prints each statement's top plan node and buffers, flags a scan that reads more than a
 * few rows of emails, and writes the full plans to a file.
 *
 *   npm run bench -- scale [--sizes 0,1000,100000,1000000] [--calls 100] [--searches 40] [--mailbox 300]
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createEmailActivities } from '../../activities/email-activities.js';
import { parseEmail } from '../../core/email.js';
import { planAnalysis } from '../../supabase/analysis-plan.js';
import type { Sql } from '../../supabase/db.js';
import { upsertEmail } from '../../supabase/emails.js';
import { rawPendingForEmail } from '../../supabase/raw-messages.js';
import { stageContent } from '../../supabase/staged-content.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { directBaseline, singleMessage } from './direct.js';
import { type BenchStack, benchDb, startBenchStack, writeMailbox } from './stack.js';
import { percentile, table, timed } from './stats.js';

const SEED_BATCH = 50_000;

interface Figures {
  size: number;
  ingestP50: number;
  ingestP95: number;
  upsertP50: number;
  upsertP95: number;
  mailboxPerS: number;
  searchP50: number;
  searchP95: number;
  broadP50: number;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '0,1000,100000,1000000' },
      calls: { type: 'string', default: '100' },
      searches: { type: 'string', default: '40' },
      mailbox: { type: 'string', default: '300' },
    },
  });
  const sizes = values.sizes
    .split(',')
    .map(Number)
    .sort((a, b) => a - b);
  const calls = Number(values.calls);
  const searches = Number(values.searches);
  const mailboxSize = Number(values.mailbox);

  const bench = await startBenchStack({ database: 'durable_inbox_bench_scale' });
  const seedSql = benchDb(bench, 1);
  const tenantId = bench.stack.defaultTenant.id;
  const results: Figures[] = [];
  const planFiles: string[] = [];
  try {
    const [{ fsync } = { fsync: '?' }] = await seedSql<
      { fsync: string }[]
    >`select current_setting('fsync') as fsync`;
    process.stdout.write(
      `\nscale benchmark: one tenant at ${sizes.join(' / ')} stored emails, ${calls} single calls, ` +
        `${searches} searches (${os.cpus().length} cores, Postgres fsync ${fsync})\n`,
    );
    let seeded = 0;
    for (const size of sizes) {
      seeded = await seedTo(seedSql, tenantId, seeded, size);
      const stored = await countEmails(seedSql, tenantId);
      process.stdout.write(`\n— ${stored} stored emails\n`);
      if (stored > 0) planFiles.push(await explainIngestPath(bench, tenantId, stored));
      results.push(await measure(bench, tenantId, stored, { calls, searches, mailboxSize }));
    }
    const base = results[0]!;
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    process.stdout.write(
      `\n${table([
        [
          'stored emails',
          'ingest p50 ms',
          'ingest p95 ms',
          'upsert p50 ms',
          'upsert p95 ms',
          'mbox msg/s',
          'search p50 ms',
          'search p95 ms',
          'broad search p50 ms',
        ],
        ...results.map((r) => [
          `${r.size}`,
          r.ingestP50,
          r.ingestP95,
          r.upsertP50,
          r.upsertP95,
          r.mailboxPerS,
          r.searchP50,
          r.searchP95,
          r.broadP50,
        ]),
      ])}\n\nratio to the first size (${base.size} emails)\n${table([
        ['stored emails', 'ingest p50', 'ingest p95', 'upsert p50', 'mbox msg/s', 'search p95'],
        ...results.map((r) => [
          `${r.size}`,
          ratio(r.ingestP50, base.ingestP50),
          ratio(r.ingestP95, base.ingestP95),
          ratio(r.upsertP50, base.upsertP50),
          ratio(r.mailboxPerS, base.mailboxPerS),
          ratio(r.searchP95, base.searchP95),
        ]),
      ])}\n\nfull plans: ${planFiles.join(', ') || '(none)'}\n` +
        '"broad search" ranks every match (10% of the tenant): its cost grows with the matches, by design.\n',
    );
  } finally {
    await seedSql.end();
    await bench.close();
  }
}

/** Seed the tenant from `from` to `to` emails, in batches; returns `to`. */
async function seedTo(sql: Sql, tenantId: string, from: number, to: number): Promise<number> {
  for (let lo = from; lo < to; lo += SEED_BATCH) {
    const hi = Math.min(to, lo + SEED_BATCH);
    // Without the outbox's triggers (events, Realtime broadcasts: `replica` skips ordinary triggers):
    // seeded mail is history nobody is told about, and per-row events were most of the seed's cost.
    const [, ms] = await timed(() =>
      sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`
      with raw as (
        insert into public.files (tenant_id, bucket, storage_path, filename, size_bytes, declared_mime,
          sha256, status, uploaded_at)
        select ${tenantId}, 'raw-messages', ${tenantId}::text || '/raw-messages/seed-' || i, 'message.eml',
          500, 'message/rfc822', encode(sha256(convert_to('raw:' || i, 'UTF8')), 'hex'), 'uploaded', now()
        from generate_series(${lo}::bigint, ${hi - 1}::bigint) as i
        returning id, sha256, split_part(storage_path, '/seed-', 2)::bigint as i
      )
      insert into public.emails (tenant_id, message_id, dedup_key, key_basis, thread_id, subject,
        from_address, sent_at, text_body, size_bytes, raw_sha256, raw_file_id, thread_keys, thread_match_keys)
      select ${tenantId}, 'seed-' || i || '@bench',
        encode(sha256(convert_to(${tenantId}::text || ':' || i, 'UTF8')), 'hex'), 'message-id',
        'mid:seed-' || (i / 5 * 5) || '@bench', 'seed thread ' || (i / 5),
        'sender' || (i % 1000) || '@example.com', timestamptz '2020-01-01' + i * interval '1 minute',
        'word' || (i * 7919 % 5000) || ' term' || (i * 104729 % 20000) || ' common' || (i % 10)
          || ' the body of seeded message ' || i, 500, raw.sha256, raw.id,
        array['mid:seed-' || i || '@bench', 'mid:seed-' || (i / 5 * 5) || '@bench', 'subj:seed thread ' || (i / 5)],
        array['mid:seed-' || i || '@bench', 'mid:seed-' || (i / 5 * 5) || '@bench']
      from raw`;
      }),
    );
    process.stdout.write(`  seeded ${hi} (${(((hi - lo) / ms) * 1000).toFixed(0)} rows/s)\n`);
  }
  // As autovacuum would have by then: the planner knows the sizes of every table it plans for.
  if (to > from) await sql`analyze`;
  return to;
}

async function countEmails(sql: Sql, tenantId: string): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`select count(*)::int as n from public.emails where tenant_id = ${tenantId}`;
  return row!.n;
}

async function measure(
  bench: BenchStack,
  tenantId: string,
  size: number,
  opts: { calls: number; searches: number; mailboxSize: number },
): Promise<Figures> {
  const { call, config, stack } = bench;
  const tag = `s${size}`;
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);

  const ingest: number[] = [];
  for (let i = 0; i < opts.calls; i++)
    ingest.push((await timed(() => call('ingest_email', { raw: singleMessage(i, `mcp-${tag}`) })))[1]);

  const upsert: number[] = [];
  for (let i = 0; i < opts.calls; i++) {
    const parsed = await parseEmail(new TextEncoder().encode(singleMessage(i, `sql-${tag}`)), config.limits);
    upsert.push((await timed(() => upsertEmail(stack.sql, tenantId, parsed)))[1]);
  }

  const mailbox = generateMailbox(opts.mailboxSize, 0, 0, `scale-${tag}`);
  const file = writeMailbox(bench, `${tag}.mbox`, mailbox.mbox);
  const [, mailboxMs] = await timed(async () => {
    const { workflowId } = await call('ingest_mailbox', { path: file, wait: false });
    await stack.client.workflow.getHandle(workflowId as string).result();
  });

  const search: number[] = [];
  for (let i = 0; i < opts.searches; i++)
    search.push((await timed(() => call('search_emails', { query: `word${(i * 37) % 5000}` })))[1]);
  const broad: number[] = [];
  for (let i = 0; i < 5; i++)
    broad.push((await timed(() => call('search_emails', { query: `common${i}` })))[1]);

  sorted(ingest);
  sorted(upsert);
  sorted(search);
  sorted(broad);
  return {
    size,
    ingestP50: percentile(ingest, 50),
    ingestP95: percentile(ingest, 95),
    upsertP50: percentile(upsert, 50),
    upsertP95: percentile(upsert, 95),
    mailboxPerS: (opts.mailboxSize / mailboxMs) * 1000,
    searchP50: percentile(search, 50),
    searchP95: percentile(search, 95),
    broadP50: percentile(broad, 50),
  };
}

const ATTACHED = (i: number, tag: string) =>
  'From: Bench <bench@example.com>\r\nTo: inbox@example.org\r\n' +
  `Subject: Re: seed thread ${i}\r\nMessage-ID: <explain-${tag}-${i}@bench>\r\n` +
  `In-Reply-To: <seed-${i * 5}@bench>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n` +
  'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
  `--b\r\nContent-Type: text/plain\r\n\r\nA reply ${i}\r\n` +
  `--b\r\nContent-Type: text/plain; name="note.txt"\r\nContent-Disposition: attachment; filename="note.txt"\r\n\r\nnote ${tag} ${i}\r\n--b--\r\n`;

/**
 * Every per-message statement of the ingest path, on one connection with auto_explain: the app's
 * staging, the store activity (with an attachment, joining a seeded thread), the raw-message archive and
 * the analysis plan. Warm-up messages first, so plpgsql's cached (generic) plans are the ones shown.
 */
async function explainIngestPath(bench: BenchStack, tenantId: string, size: number): Promise<string> {
  const notices: string[] = [];
  const sql = postgres(bench.databaseUrl, {
    max: 1,
    onnotice: (n) => notices.push(String(n.message)),
  });
  try {
    await sql`load 'auto_explain'`;
    await sql.unsafe(`set auto_explain.log_min_duration = 0; set auto_explain.log_analyze = on;
      set auto_explain.log_buffers = on; set auto_explain.log_nested_statements = on;
      set auto_explain.log_level = notice; set auto_explain.log_timing = on`);
    const { config } = bench;
    const emails = createEmailActivities({
      sql,
      limits: config.limits,
      searchPrivacy: config.privacy.searchAttributes,
    });
    const direct = directBaseline(sql, config, tenantId);
    const tag = `x${size}`;
    for (let i = 0; i < 8; i++) {
      notices.length = 0;
      const raw = new TextEncoder().encode(ATTACHED(i, tag));
      const parsed = await parseEmail(raw, config.limits);
      await stageContent(sql, tenantId, parsed.rawSha256, raw);
      const stored = await emails.ingestStagedEmail({
        tenantId,
        rawSha256: parsed.rawSha256,
        dedupKey: parsed.dedupKey,
        stageAttachments: true,
      });
      await rawPendingForEmail(sql, tenantId, stored.emailId);
      await direct.single(singleMessage(i, `explain-${tag}`));
      await planAnalysis(sql, config.ai, { tenantId, emailId: stored.emailId, force: false }).catch(
        () => null,
      );
    }
  } finally {
    await sql.end();
  }
  const file = path.join(os.tmpdir(), `durable-inbox-explain-${size}.txt`);
  writeFileSync(file, notices.join('\n\n'));
  const rows = notices.map(summarisePlan);
  process.stdout.write(
    `  EXPLAIN (ANALYZE, BUFFERS) of the ingest path at ${size} emails (${rows.length} statements):\n${table([
      ['statement', 'top plan node', 'buffers', 'ms', 'flag'],
      ...rows.map((r) => [r.query, r.node, r.buffers, r.ms, r.flag]),
    ])}\n`,
  );
  return file;
}

/** One auto_explain notice: the query's first words, its top plan node, its buffers, and a flag. */
function summarisePlan(notice: string) {
  const query =
    /Query Text:\s*([\s\S]*?)\n(?=\S|\s{2}\S)/.exec(notice)?.[1]?.replace(/\s+/g, ' ').trim().slice(0, 70) ??
    '?';
  const lines = notice.split('\n');
  const planStart = lines.findIndex((l) => /cost=|actual time=/.test(l));
  const node = (lines[planStart] ?? '?')
    .replace(/\s+\(.*$/, '')
    .trim()
    .slice(0, 60);
  const buffers = (lines.slice(planStart).find((l) => /Buffers:/.test(l)) ?? '').replace(/.*Buffers:\s*/, '');
  const ms = Number(/duration: ([\d.]+) ms/.exec(notice)?.[1] ?? Number.NaN);
  const removed = Math.max(
    0,
    ...[...notice.matchAll(/Rows Removed by Filter: (\d+)/g)].map((m) => Number(m[1])),
  );
  const scans = /Seq Scan on emails/.test(notice);
  const flag = scans || removed > 100 ? `SCAN${removed ? ` (${removed} removed)` : ''}` : '';
  return { query, node, buffers: buffers.trim().slice(0, 40), ms, flag };
}
