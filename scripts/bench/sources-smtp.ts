/**
 * Inbound SMTP on the real stack (Temporal dev server, PostgreSQL, worker, the listener): N messages
 * from 10 concurrent senders (one connection each, messages one after another as an MTA's queue runner
 * sends them), with real SMTP clients (nodemailer).
 *  - accepted/s: 250 replies per second (each one staged and committed before its reply);
 *  - stored/s: until every email row exists (the ingestion runs behind the replies);
 *  - the 250 reply's latency (DATA to reply), p50 and p95.
 * Baseline in the same run: the same messages through ingest_email's app function (parse, stage, start
 * the run; no wait), 10 at a time, so the SMTP door's own cost shows as the difference.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { ingestEmail } from '../../app/ingest.js';
import { loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { createDatabase, provisionPostgres } from '../../dev-stack/postgres.js';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { startTemporalDevServer } from '../../dev-stack/temporal-dev-server.js';
import type { Sql } from '../../supabase/db.js';
import { message } from '../../tests/support/inbound.js';
import { startSmtp } from '../../workers/inbound-entry.js';
import { toolContext } from '../../workers/mcp-entry.js';
import { startStack } from '../../workers/stack.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { percentile, table } from './stats.js';

const quiet = () => {};
const SENDERS = 10;

export async function runSmtp(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { messages: { type: 'string', default: '1000' } } });
  const total = Number(values.messages);
  const temporal = await startTemporalDevServer({
    cliPath: await resolveTemporalCli({ log: quiet }),
    headless: true,
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const])),
    log: quiet,
  });
  const postgres = await provisionPostgres({ log: quiet });
  try {
    const config = loadConfig({
      DATABASE_URL: await createDatabase(postgres.url, 'durable_inbox_bench_smtp'),
      TEMPORAL_ADDRESS: temporal.address,
      DURABLE_INBOX_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-bench-')),
      DURABLE_INBOX_TENANT: 'bench',
      LOG_LEVEL: 'error',
      AI_ANALYSIS_ON_INGEST: 'false',
      RETENTION_SCHEDULE_ENABLED: 'false',
    });
    const log = createLogger('error');
    const stack = await startStack(config, { log, runWorker: true });
    const smtp = await startSmtp(stack, log, 0);
    const to = `bench@${stack.defaultTenant.slug}.localhost`;
    try {
      // SMTP: 10 senders, each its own connection.
      const latencies: number[] = [];
      const start = performance.now();
      await Promise.all(
        Array.from({ length: SENDERS }, async (_, s) => {
          const client = nodemailer.createTransport({
            host: '127.0.0.1',
            port: smtp.port,
            ignoreTLS: true,
            pool: true,
            maxConnections: 1,
          });
          for (let i = s; i < total; i += SENDERS) {
            const t0 = performance.now();
            await client.sendMail({
              envelope: { from: 'a@remote.example', to: [to] },
              raw: message(`smtp-${i}`, { to }),
            });
            latencies.push(performance.now() - t0);
          }
          client.close();
        }),
      );
      const acceptedMs = performance.now() - start;
      await waitForRows(stack.sql, stack.defaultTenant.id, 'smtp-', total);
      const storedMs = performance.now() - start;

      // Baseline: the app function the MCP tool calls, 10 at a time, not waiting for the run.
      const ctx = toolContext(
        stack,
        {
          actor: 'bench',
          claims: { role: 'authenticated' },
          tenants: [{ tenantId: stack.defaultTenant.id, role: 'admin' }],
        },
        log,
      );
      const b0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: SENDERS }, async () => {
          for (let i = next++; i < total; i = next++)
            await ingestEmail(ctx, { raw: message(`app-${i}`), wait: false });
        }),
      );
      const appAcceptedMs = performance.now() - b0;
      await waitForRows(stack.sql, stack.defaultTenant.id, 'app-', total);
      const appStoredMs = performance.now() - b0;

      latencies.sort((a, b) => a - b);
      process.stdout.write(
        `\nInbound SMTP, ${total} messages, ${SENDERS} concurrent senders\n\n${table([
          ['', 'accepted/s', 'stored/s', 'reply p50 ms', 'reply p95 ms'],
          [
            'SMTP listener',
            (total * 1000) / acceptedMs,
            (total * 1000) / storedMs,
            percentile(latencies, 50),
            percentile(latencies, 95),
          ],
          ['ingestEmail (baseline)', (total * 1000) / appAcceptedMs, (total * 1000) / appStoredMs, '-', '-'],
        ])}\n`,
      );
    } finally {
      await smtp.close();
      await stack.shutdown();
    }
  } finally {
    await postgres.stop();
    await temporal.stop();
  }
}

async function waitForRows(sql: Sql, tenantId: string, prefix: string, count: number): Promise<void> {
  for (;;) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from public.emails where tenant_id = ${tenantId} and message_id like ${`${prefix}%`}`;
    if (row!.n >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
