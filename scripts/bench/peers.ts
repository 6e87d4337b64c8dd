/**
 * durable-inbox against the job queues users pick instead, on the same work in one run: the same
 * generated mailbox and the same single messages, each message parsed, staged, stored with the same SQL
 * (upsert_email, slices of MAILBOX_SLICE_MESSAGES per transaction for the mailbox) and its raw message archived to the same
 * storage, through
 *  - durable-inbox: ingest_mailbox and ingest_email over MCP (Temporal dev server, worker in this process);
 *  - BullMQ 6.7 on Debian's redis-server (provisioned like Postgres), AOF `everysec`, worker in this process;
 *  - pg-boss 10.4 on the same Postgres, worker in this process (10.4 polls; 12 adds LISTEN/NOTIFY);
 *  - direct: the same calls with no queue.
 * Single messages: submit → row committed and raw message archived (the handler's completion).
 * CPU is counted over the processes each system uses: this one, Postgres, and the Temporal dev server
 * (durable-inbox) or redis-server (BullMQ).
 *
 *   npm run bench -- peers [--messages 2000] [--calls 50] [--systems durable,bullmq,pgboss,direct]
 */
import { parseArgs } from 'node:util';
import { Queue, QueueEvents, Worker } from 'bullmq';
import PgBoss from 'pg-boss';
import { provisionRedis } from '../../dev-stack/redis.js';
import { ensureOrganization } from '../../supabase/tenants.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { type DirectBaseline, directBaseline, mboxSlices, singleMessage } from './direct.js';
import { importHistory } from './import-history.js';
import { loadNote, parentPid, selfCpuMs, treeCpuMs } from './load.js';
import { startBenchStack, writeMailbox } from './stack.js';
import { percentile, table, timed } from './stats.js';

type Job = { kind: 'single'; raw: string } | { kind: 'slice'; raws: string[] };

interface Figures {
  mailboxPerS: number;
  mailboxCpuMs: number;
  /** The mailbox's CPU per message in this process, Postgres, and the queue's server. */
  mailboxCpuSplit: [number, number, number];
  single: number[];
  singleCpuMs: number;
}

/** One system under test: how it imports the mailbox and takes one message, and which processes it uses. */
interface System {
  name: string;
  pids: number[];
  start(): Promise<void>;
  mailbox(): Promise<void>;
  single(i: number): Promise<void>;
  stop(): Promise<void>;
}

const ALL = ['durable', 'bullmq', 'pgboss', 'direct'] as const;
const CONCURRENCY = 4;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: 'string', default: '2000' },
      calls: { type: 'string', default: '50' },
      systems: { type: 'string', default: ALL.join(',') },
    },
  });
  const messages = Number(values.messages);
  const calls = Number(values.calls);
  const wanted = new Set(values.systems.split(','));
  const bench = await startBenchStack({ database: 'durable_inbox_bench_peers' });
  const redis = await provisionRedis({ log: () => {} });
  const { stack, config } = bench;
  const results: Record<string, Figures> = {};
  const loadBefore = loadNote();
  try {
    const [{ fsync, backend } = { fsync: '?', backend: 0 }] = await stack.sql<
      { fsync: string; backend: number }[]
    >`select current_setting('fsync') as fsync, pg_backend_pid() as backend`;
    const postmaster = parentPid(backend);
    const mailboxFor = (tag: string) => generateMailbox(messages, 0, 0, `peers-${tag}`).mbox;
    const baseline = async (slug: string) =>
      directBaseline(stack.sql, config, (await ensureOrganization(stack.sql, slug)).id);
    const handle = (d: DirectBaseline) => async (job: Job) => {
      if (job.kind === 'single') await d.single(Buffer.from(job.raw, 'base64').toString('latin1'));
      else await d.slice(job.raws.map((r) => new Uint8Array(Buffer.from(r, 'base64'))));
    };
    const slicesOf = (mbox: string): Job[] =>
      mboxSlices(mbox, config.limits.maxEmailBytes, config.mailbox.sliceMessages).map((s) => ({
        kind: 'slice',
        raws: s.map((r) => Buffer.from(r).toString('base64')),
      }));
    const singleJob = (i: number, tag: string): Job => ({
      kind: 'single',
      raw: Buffer.from(singleMessage(i, tag), 'latin1').toString('base64'),
    });

    const notes: string[] = [];
    const systems: Record<(typeof ALL)[number], () => System> = {
      durable: () => {
        const file = writeMailbox(bench, 'peers.mbox', mailboxFor('durable'));
        return {
          name: 'durable-inbox',
          pids: [postmaster, bench.temporalPid],
          async start() {},
          async mailbox() {
            const { workflowId, runId } = await bench.call('ingest_mailbox', { path: file, wait: false });
            await stack.client.workflow.getHandle(workflowId as string).result();
            notes.push(await importHistory(stack.client, workflowId as string, runId as string));
          },
          async single(i) {
            await bench.call('ingest_email', { raw: singleMessage(i, 'durable') });
          },
          async stop() {},
        };
      },
      bullmq: () => {
        const connection = { host: redis.host, port: redis.port };
        const queue = new Queue<Job>('mail', { connection });
        const events = new QueueEvents('mail', { connection });
        let worker: Worker<Job> | undefined;
        // One listener for every job, rather than one per waitUntilFinished call.
        const waiting = new Map<string, { resolve(): void; reject(err: Error): void }>();
        events.on('completed', ({ jobId }) => waiting.get(jobId)?.resolve());
        events.on('failed', ({ jobId, failedReason }) => waiting.get(jobId)?.reject(new Error(failedReason)));
        const finished = (id: string) =>
          new Promise<void>((resolve, reject) => waiting.set(id, { resolve, reject })).finally(() =>
            waiting.delete(id),
          );
        return {
          name: 'BullMQ 6.7',
          pids: [postmaster, redis.pid],
          async start() {
            await events.waitUntilReady();
            const work = handle(await baseline('peer-bullmq'));
            worker = new Worker<Job>('mail', (job) => work(job.data), {
              connection,
              concurrency: CONCURRENCY,
            });
            await worker.waitUntilReady();
          },
          async mailbox() {
            const jobs = slicesOf(mailboxFor('bullmq')).map((data) => ({ name: 'slice', data }));
            const added = await queue.addBulk(jobs);
            await Promise.all(added.map((j) => finished(j.id!)));
          },
          async single(i) {
            const job = await queue.add('single', singleJob(i, 'bullmq'));
            await finished(job.id!);
          },
          async stop() {
            await worker?.close();
            await events.close();
            await queue.close();
          },
        };
      },
      pgboss: () => {
        const boss = new PgBoss({ connectionString: bench.databaseUrl, max: CONCURRENCY });
        boss.on('error', () => {});
        const done = new Map<string, () => void>();
        const finished = (id: string) => new Promise<void>((resolve) => done.set(id, resolve));
        return {
          name: 'pg-boss 10.4',
          pids: [postmaster],
          async start() {
            await boss.start();
            await boss.createQueue('mail');
            const work = handle(await baseline('peer-pgboss'));
            for (let w = 0; w < CONCURRENCY; w++) {
              await boss.work<Job>('mail', { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
                await work(job!.data);
                // Resolved after the handler returns; pg-boss then marks the job complete.
                setImmediate(() => done.get(job!.id)?.());
              });
            }
          },
          async mailbox() {
            const ids = await Promise.all(
              slicesOf(mailboxFor('pgboss')).map((data) => boss.send('mail', data)),
            );
            await Promise.all(ids.map((id) => finished(id!)));
          },
          async single(i) {
            await finished((await boss.send('mail', singleJob(i, 'pgboss')))!);
          },
          async stop() {
            await boss.stop({ graceful: false, wait: true });
          },
        };
      },
      direct: () => {
        let d: DirectBaseline | undefined;
        const mbox = mailboxFor('direct');
        return {
          name: 'direct, no queue',
          pids: [postmaster],
          async start() {
            d = await baseline('peer-direct');
          },
          async mailbox() {
            await d!.mailbox(mbox);
          },
          async single(i) {
            await d!.single(singleMessage(i, 'direct'));
          },
          async stop() {},
        };
      },
    };

    for (const key of ALL) {
      if (!wanted.has(key)) continue;
      const system = systems[key]();
      await system.start();
      const split = () => [selfCpuMs(), ...system.pids.map(treeCpuMs)];
      const cpu = () => split().reduce((a, b) => a + b, 0);
      const split0 = split();
      let cpu0 = cpu();
      const [, ms] = await timed(() => system.mailbox());
      const mailboxCpuMs = (cpu() - cpu0) / messages;
      const perMessage = split().map((v, i) => (v - split0[i]!) / messages);
      const mailboxCpuSplit: [number, number, number] = [perMessage[0]!, perMessage[1]!, perMessage[2] ?? 0];
      const single: number[] = [];
      cpu0 = cpu();
      for (let i = 0; i < calls; i++) single.push((await timed(() => system.single(i)))[1]);
      const singleCpuMs = (cpu() - cpu0) / calls;
      await system.stop();
      results[system.name] = {
        mailboxPerS: (messages / ms) * 1000,
        mailboxCpuMs,
        mailboxCpuSplit,
        single,
        singleCpuMs,
      };
    }

    const names = Object.keys(results);
    const reference = results['direct, no queue'] ?? results[names.at(-1)!]!;
    const referenceName = names.find((n) => results[n] === reference);
    const p = (xs: number[], q: number) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        q,
      );
    const row = (label: string, f: (r: Figures) => number) => [
      label,
      ...names.flatMap((n) => [
        f(results[n]!),
        f(reference) > 0 ? `${(f(results[n]!) / f(reference)).toFixed(2)}×` : '–',
      ]),
    ];
    const durable = results['durable-inbox'];
    const bull = results['BullMQ 6.7'];
    process.stdout.write(
      `\npeers benchmark: ${messages}-message mailbox in slices of ${config.mailbox.sliceMessages}, ` +
        `${calls} single messages one at a time ` +
        `(Postgres fsync ${fsync}; Redis AOF ${redis.appendfsync}; ${loadBefore} before, ${loadNote()} after)\n\n${table(
          [
            ['figure', ...names.flatMap((n) => [n, 'ratio'])],
            row('mailbox import, msg/s', (r) => r.mailboxPerS),
            row('mailbox CPU per message, ms', (r) => r.mailboxCpuMs),
            row('  of it in this process', (r) => r.mailboxCpuSplit[0]),
            row('  in Postgres', (r) => r.mailboxCpuSplit[1]),
            row('  in Temporal / Redis', (r) => r.mailboxCpuSplit[2]),
            row('single p50 ms', (r) => p(r.single, 50)),
            row('single p95 ms', (r) => p(r.single, 95)),
            row('single CPU per message, ms', (r) => r.singleCpuMs),
          ],
        )}\n\nratios are to ${referenceName}. CPU: this process (workers, MCP server and client) plus ` +
        'Postgres, and the Temporal dev server (durable-inbox) or redis-server (BullMQ).\n' +
        (durable && bull
          ? `durable-inbox mailbox import: ${(durable.mailboxPerS / bull.mailboxPerS).toFixed(2)}× BullMQ's in this run.\n`
          : '') +
        `pg-boss 10.4 polls (pollingIntervalSeconds 0.5), so its single-message latency includes up to half a second of polling.\n` +
        `\nwhat each guarantees:\n${GUARANTEES}\n${notes.join('\n')}`,
    );
  } finally {
    await redis.stop();
    await bench.close();
  }
}

const GUARANTEES = [
  '  durable-inbox: every step in the run history; a worker, database or server crash resumes the run mid-import, exactly once per message (ledger + natural keys)',
  '  BullMQ: jobs in Redis; with AOF everysec a Redis crash loses up to ~1 s of acknowledged jobs (AOF always closes that); a job retries whole',
  '  pg-boss: jobs in Postgres, transactional with the data; a job retries whole, no record of how far it got',
  '  direct: nothing survives a crash of the caller mid-message except what was committed',
]
  .map((l) => `${l}\n`)
  .join('');
