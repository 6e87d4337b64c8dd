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
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ImapFlow } from 'imapflow';
import { connectMailbox, getMailbox } from '../../app/imap-mailboxes.js';
import { importMailbox } from '../../app/ingest.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { MboxSplitter } from '../../core/mbox.js';
import { provisionDovecot } from '../../dev-stack/dovecot.js';
import { createDatabase, provisionPostgres } from '../../dev-stack/postgres.js';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { startTemporalDevServer } from '../../dev-stack/temporal-dev-server.js';
import { createDb } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';
import { ensureOrganization } from '../../supabase/tenants.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { stdioPrincipal } from '../../workers/local-identity.js';
import { toolContext } from '../../workers/mcp-entry.js';
import { startStack } from '../../workers/stack.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { percentile, table, timed } from './stats.js';

const quiet = () => {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { messages: { type: 'string', default: '2000' }, appends: { type: 'string', default: '20' } },
  });
  const messages = Number(values.messages);
  const appends = Number(values.appends);

  const dovecot = await provisionDovecot({ users: { bench: 'bench-imap-password' }, log: quiet });
  const temporal = await startTemporalDevServer({
    cliPath: await resolveTemporalCli({ log: quiet }),
    headless: true,
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const])),
    log: quiet,
  });
  const postgres = await provisionPostgres({ log: quiet });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-bench-'));
  try {
    const databaseUrl = await createDatabase(postgres.url, 'durable_inbox_bench_sources');
    const admin = createDb({ url: databaseUrl, max: 1 });
    await migrate(admin);
    await admin.end();
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      DURABLE_INBOX_DATA_DIR: dataDir,
      DURABLE_INBOX_TENANT: 'bench',
      MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
      AI_ANALYSIS_ON_INGEST: 'false',
      LOG_LEVEL: 'error',
    });
    const stack = await startStack(config, { log: createLogger('error'), runWorker: true });
    const deps = toolContext(
      stack,
      await stdioPrincipal(stack.sql, stack.defaultTenant),
      createLogger('error'),
    );

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
      const connected = await connectMailbox(deps, {
        host: dovecot.host,
        port: dovecot.port,
        tls: 'none',
        username: 'bench',
        password: 'bench-imap-password',
        since: 'all',
      });
      for (;;) {
        const d = await getMailbox(deps, { mailboxId: connected.mailboxId });
        if (d.status === 'idle' && d.folderProgress[0]?.initialSync.complete) return d;
        if (process.env.BENCH_DEBUG) process.stderr.write(`${JSON.stringify(d)}\n`);
        await sleep(process.env.BENCH_DEBUG ? 3000 : 100);
      }
    });

    const other = await ensureOrganization(stack.sql, 'bench-mbox');
    const otherDeps = toolContext(stack, await stdioPrincipal(stack.sql, other), createLogger('error'));
    mkdirSync(path.join(config.mailbox.importDir, other.slug), { recursive: true });
    writeFileSync(path.join(config.mailbox.importDir, other.slug, 'bench.mbox'), mailbox.mbox);
    const [, mboxMs] = await timed(async () => {
      const started = await importMailbox(otherDeps, { path: 'bench.mbox', wait: false });
      await stack.client.workflow.getHandle(started.workflowId).result();
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
    await stack.shutdown();
  } finally {
    await postgres.stop();
    await temporal.stop();
    await dovecot.stop();
  }
}
