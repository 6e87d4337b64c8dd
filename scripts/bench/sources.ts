/**
 * Mail sources: the IMAP sync against a local Dovecot (dev-stack/dovecot.ts), compared in the same run
 * with `ingest_mailbox` of the same messages.
 *   - initial sync throughput (messages/s) of one folder of N messages, from connect_mailbox until the
 *     folder's initial sync is complete, vs ingest_mailbox of those N messages as an mbox (another tenant);
 *   - latency from APPEND to the stored row while the mailbox is synced (IDLE), p50 and p95.
 * Analysis on ingest is off for both, so the figures compare the sync and the ingestion, not the analyser.
 *   npm run bench -- sources [--messages 2000] [--appends 20]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { MboxSplitter } from '../../core/mbox.js';
import { provisionDovecot } from '../../dev-stack/dovecot.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { startBenchStack, writeMailbox } from './stack.js';
import { percentile, table, timed } from './stats.js';

const quiet = () => {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Progress {
  mailboxId: string;
  status: string;
  lastError: string | null;
  folderProgress: { initialSync: { total: number; done: number; complete: boolean }; messages: unknown }[];
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { messages: { type: 'string', default: '2000' }, appends: { type: 'string', default: '20' } },
  });
  const messages = Number(values.messages);
  const appends = Number(values.appends);
  const debug = Boolean(process.env.BENCH_DEBUG);

  const dovecot = await provisionDovecot({ users: { bench: 'bench-imap-password' }, log: quiet });
  const bench = await startBenchStack({
    database: 'durable_inbox_bench_sources',
    // connect_mailbox is an admin's.
    role: 'admin',
    env: {
      MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
      AI_ANALYSIS_ON_INGEST: 'false',
      RETENTION_SCHEDULE_ENABLED: 'false',
    },
  });
  try {
    const { config, stack, call } = bench;

    // The same messages for both: the mbox, and APPENDed one by one to the IMAP folder.
    const mailbox = generateMailbox(messages, 0, 0, 'sources');
    const splitter = new MboxSplitter(config.limits.maxEmailBytes);
    const raws = [...splitter.push(Buffer.from(mailbox.mbox)), ...splitter.end()].flatMap((m) =>
      m.kind === 'message' ? [Buffer.from(m.raw)] : [],
    );
    const imap = new ImapFlow({
      host: dovecot.host,
      port: dovecot.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: 'bench', pass: 'bench-imap-password' },
      logger: false,
      // Idle for minutes while the sync runs: no socket timeout for this client.
      socketTimeout: 60 * 60_000,
    });
    imap.on('error', () => {});
    await imap.connect();
    for (const raw of raws) await imap.append('INBOX', raw);

    const [box, imapMs] = await timed(async () => {
      const connected = (await call('connect_mailbox', {
        host: dovecot.host,
        port: dovecot.port,
        tls: 'none',
        username: 'bench',
        password: 'bench-imap-password',
        since: 'all',
      })) as unknown as Progress;
      for (;;) {
        const d = (await call('get_mailbox', { mailboxId: connected.mailboxId })) as unknown as Progress;
        if (d.status === 'idle' && d.folderProgress[0]?.initialSync.complete) return d;
        if (debug) process.stderr.write(`${new Date().toISOString()} ${JSON.stringify(d)}\n`);
        await sleep(debug ? 3000 : 100);
      }
    });

    const callOther = await bench.callAs('bench-mbox');
    const file = writeMailbox(bench, 'bench.mbox', mailbox.mbox, 'bench-mbox');
    const [, mboxMs] = await timed(async () => {
      const { workflowId } = await callOther('ingest_mailbox', { path: file, wait: false });
      await stack.client.workflow.getHandle(workflowId as string).result();
    });

    // APPEND → stored row, while the mailbox sits in IDLE.
    const latencies: number[] = [];
    for (let i = 0; i < appends; i++) {
      const subject = `append latency ${i} ${randomBytes(4).toString('hex')}`;
      const raw = `From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\nMessage-ID: <lat-${i}-${Date.now()}@bench>\r\n\r\nx\r\n`;
      await sleep(500);
      const t0 = performance.now();
      await imap.append('INBOX', raw);
      for (;;) {
        const [row] =
          await stack.sql`select 1 from public.emails where tenant_id = ${stack.defaultTenant.id} and subject = ${subject}`;
        if (row) break;
        await sleep(20);
      }
      latencies.push(performance.now() - t0);
      if (debug)
        process.stderr.write(
          `${new Date().toISOString()} append ${i}: ${(performance.now() - t0).toFixed(0)} ms\n`,
        );
    }
    latencies.sort((a, b) => a - b);
    await imap.logout();

    const rate = (n: number, ms: number) => ((n / ms) * 1000).toFixed(1);
    process.stdout.write(
      `${table([
        ['what', 'messages', 'seconds', 'messages/s'],
        [
          'IMAP initial sync (connect → complete)',
          raws.length,
          (imapMs / 1000).toFixed(1),
          rate(raws.length, imapMs),
        ],
        [
          'ingest_mailbox of the same mbox',
          raws.length,
          (mboxMs / 1000).toFixed(1),
          rate(raws.length, mboxMs),
        ],
      ])}\n\nIMAP sync / ingest_mailbox throughput: ${(mboxMs / imapMs).toFixed(2)}×\n` +
        `APPEND → stored row while synced (IDLE), ${appends} messages: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms\n` +
        `mailbox ${box.mailboxId}: ${JSON.stringify(box.folderProgress[0]?.messages)}\n`,
    );
  } finally {
    await bench.close();
    await dovecot.stop();
  }
}
