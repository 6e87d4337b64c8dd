/**
 * durable-inbox against the job queues users pick instead, on the same work in one run: the same
 * generated mailbox and the same single messages, each message parsed, staged, stored with the same SQL
 * (upsert_email, slices of 50 per transaction for the mailbox) and its raw message archived to the same
 * storage, through
 *  - durable-inbox: ingest_mailbox and ingest_email over MCP (Temporal dev server, worker in this process);
 *  - BullMQ 6.7 on Debian's redis-server (provisioned like Postgres), AOF `everysec`, worker in this process;
 *  - pg-boss 10.4 on the same Postgres, worker in this process (10.4 polls; 12 adds LISTEN/NOTIFY);
 *  - direct: the same calls with no queue.
 * Single messages: submit → row committed and raw message archived (the handler's completion).
 *
 *   npm run bench -- peers [--messages 2000] [--calls 50]
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Queue, QueueEvents, Worker } from 'bullmq';
import PgBoss from 'pg-boss';
import { provisionRedis } from '../../dev-stack/redis.js';
import { ensureOrganization } from '../../supabase/tenants.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { type DirectBaseline, directBaseline, mboxSlices, singleMessage } from './direct.js';
import { startBenchStack, writeMailbox } from './stack.js';
import { percentile, table, timed } from './stats.js';

type Job = { kind: 'single'; raw: string } | { kind: 'slice'; raws: string[] };

interface Figures {
  mailboxPerS: number;
  single: number[];
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { messages: { type: 'string', default: '2000' }, calls: { type: 'string', default: '50' } },
  });
  const messages = Number(values.messages);
  const calls = Number(values.calls);
  const bench = await startBenchStack({ database: 'durable_inbox_bench_peers' });
  const redis = await provisionRedis({ log: () => {} });
  const { stack, config } = bench;
  const results: Record<string, Figures> = {};
  const notes: string[] = [];
  try {
    const [{ fsync } = { fsync: '?' }] = await stack.sql<{ fsync: string }[]>`
      select current_setting('fsync') as fsync`;
    const mailboxFor = (tag: string) => generateMailbox(messages, 0, 0, `peers-${tag}`).mbox;
    const baseline = async (slug: string) =>
      directBaseline(stack.sql, config, (await ensureOrganization(stack.sql, slug)).id);
    const handle = (d: DirectBaseline) => async (job: Job) => {
      if (job.kind === 'single') await d.single(Buffer.from(job.raw, 'base64').toString('latin1'));
      else await d.slice(job.raws.map((r) => new Uint8Array(Buffer.from(r, 'base64'))));
    };
    const slicesOf = (mbox: string): Job[] =>
      mboxSlices(mbox, config.limits.maxEmailBytes).map((s) => ({
        kind: 'slice',
        raws: s.map((r) => Buffer.from(r).toString('base64')),
      }));
    const singleJob = (i: number, tag: string): Job => ({
      kind: 'single',
      raw: Buffer.from(singleMessage(i, tag), 'latin1').toString('base64'),
    });

    // --- durable-inbox ---
    {
      const file = writeMailbox(bench, 'peers.mbox', mailboxFor('durable'));
      const [, ms] = await timed(async () => {
        const { workflowId } = await bench.call('ingest_mailbox', { path: file, wait: false });
        await stack.client.workflow.getHandle(workflowId as string).result();
      });
      const single: number[] = [];
      for (let i = 0; i < calls; i++)
        single.push((await timed(() => bench.call('ingest_email', { raw: singleMessage(i, 'durable') })))[1]);
      results['durable-inbox'] = { mailboxPerS: (messages / ms) * 1000, single };
    }

    // --- BullMQ (it needs a Redis client package: ioredis or node-redis) ---
    const redisClient = ['ioredis', 'redis'].find((name) => {
      try {
        createRequire(import.meta.url).resolve(name);
        return true;
      } catch {
        return false;
      }
    });
    if (!redisClient) {
      notes.push(
        'BullMQ skipped: it needs a Redis client package (ioredis or redis), which is not installed here.',
      );
    } else {
      const connection = { host: redis.host, port: redis.port };
      const queue = new Queue<Job>('mail', { connection });
      const events = new QueueEvents('mail', { connection });
      await events.waitUntilReady();
      const run = handle(await baseline('peer-bullmq'));
      const worker = new Worker<Job>('mail', (job) => run(job.data), { connection, concurrency: 4 });
      await worker.waitUntilReady();
      const jobs = slicesOf(mailboxFor('bullmq'));
      const [, ms] = await timed(async () => {
        const added = await queue.addBulk(jobs.map((data) => ({ name: 'slice', data })));
        await Promise.all(added.map((j) => j.waitUntilFinished(events)));
      });
      const single: number[] = [];
      for (let i = 0; i < calls; i++) {
        const data = singleJob(i, 'bullmq');
        single.push(
          (await timed(async () => (await queue.add('single', data)).waitUntilFinished(events)))[1],
        );
      }
      results['BullMQ 6.7'] = { mailboxPerS: (messages / ms) * 1000, single };
      await worker.close();
      await events.close();
      await queue.close();
    }

    // --- pg-boss ---
    {
      const boss = new PgBoss({ connectionString: bench.databaseUrl, max: 4 });
      boss.on('error', () => {});
      await boss.start();
      await boss.createQueue('mail');
      const run = handle(await baseline('peer-pgboss'));
      const done = new Map<string, () => void>();
      const finished = (id: string) => new Promise<void>((resolve) => done.set(id, resolve));
      for (let w = 0; w < 4; w++) {
        await boss.work<Job>('mail', { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
          await run(job!.data);
          // Resolved after the handler returns; pg-boss then marks the job complete.
          setImmediate(() => done.get(job!.id)?.());
        });
      }
      const jobs = slicesOf(mailboxFor('pgboss'));
      const [, ms] = await timed(async () => {
        const ids = await Promise.all(jobs.map((data) => boss.send('mail', data)));
        await Promise.all(ids.map((id) => finished(id!)));
      });
      const single: number[] = [];
      for (let i = 0; i < calls; i++) {
        const data = singleJob(i, 'pgboss');
        single.push(
          (
            await timed(async () => {
              const id = await boss.send('mail', data);
              await finished(id!);
            })
          )[1],
        );
      }
      results['pg-boss 10.4'] = { mailboxPerS: (messages / ms) * 1000, single };
      await boss.stop({ graceful: false, wait: true });
    }

    // --- direct ---
    {
      const d = await baseline('peer-direct');
      const [, ms] = await timed(() => d.mailbox(mailboxFor('direct')));
      const single: number[] = [];
      for (let i = 0; i < calls; i++)
        single.push((await timed(() => d.single(singleMessage(i, 'direct'))))[1]);
      results['direct, no queue'] = { mailboxPerS: (messages / ms) * 1000, single };
    }

    const names = Object.keys(results);
    const direct = results['direct, no queue']!;
    const p = (xs: number[], q: number) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        q,
      );
    const row = (label: string, f: (r: Figures) => number) => [
      label,
      ...names.flatMap((n) => [f(results[n]!), `${(f(results[n]!) / f(direct)).toFixed(2)}×`]),
    ];
    process.stdout.write(
      `\npeers benchmark: ${messages}-message mailbox, ${calls} single messages one at a time ` +
        `(${os.cpus().length} cores; Postgres fsync ${fsync}; Redis AOF ${redis.appendfsync})\n\n${table([
          ['figure', ...names.flatMap((n) => [n, 'ratio'])],
          row('mailbox import, msg/s', (r) => r.mailboxPerS),
          row('single p50 ms', (r) => p(r.single, 50)),
          row('single p95 ms', (r) => p(r.single, 95)),
        ])}\n\nratios are to the direct baseline. pg-boss 10.4 polls (pollingIntervalSeconds 0.5), so its ` +
        `single-message latency includes up to half a second of polling.\n${notes.map((n) => `${n}\n`).join('')}`,
    );
  } finally {
    await redis.stop();
    await bench.close();
  }
}
