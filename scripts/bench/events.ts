/**
 * Events benchmark on the real stack (Temporal dev server, PostgreSQL, worker, MCP over HTTP): the time
 * from an ingest transaction's commit (upsert_email, the same SQL the ingest activity runs) to
 *  (a) a subscribed MCP client's `notifications/resources/updated` over its session's SSE stream;
 *  (b) the `realtime.messages` row: written by the same transaction, so visible at commit (0 ms);
 * p50, p95 and p99 over `--emails`, alone and while an ingest_mailbox of `--mailbox` messages runs.
 *  (c) a webhook receiver on loopback (an endpoint of create_webhook, eventTypes email.received): the
 *      worker's waker hears the NOTIFY, wakes the endpoint's workflow, which claims and sends it; alone,
 *      split into its legs by the endpoint workflow's history (scripts/bench/webhook-history.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../core/config.js';
import { parseEmail } from '../../core/email.js';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import { createDatabase, provisionPostgres } from '../../dev-stack/postgres.js';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { startTemporalDevServer } from '../../dev-stack/temporal-dev-server.js';
import { createDb } from '../../supabase/db.js';
import { upsertEmail } from '../../supabase/emails.js';
import { migrate } from '../../supabase/migrate.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import { startStack } from '../../workers/stack.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { percentile, table } from './stats.js';
import { type DeliveryTiming, webhookLegRows } from './webhook-history.js';

const quiet = () => {};

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { emails: { type: 'string', default: '500' }, mailbox: { type: 'string', default: '5000' } },
  });
  const emails = Number(values.emails);
  const mailboxSize = Number(values.mailbox);

  const temporal = await startTemporalDevServer({
    cliPath: await resolveTemporalCli({ log: quiet }),
    headless: true,
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const])),
    log: quiet,
  });
  const postgres = await provisionPostgres({ log: quiet });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-bench-'));
  try {
    const databaseUrl = await createDatabase(postgres.url, 'durable_inbox_bench_events');
    const admin = createDb({ url: databaseUrl, max: 1 });
    await migrate(admin);
    await admin.end();
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      DURABLE_INBOX_DATA_DIR: dataDir,
      DURABLE_INBOX_TENANT: 'bench',
      MCP_HTTP_PORT: '0',
      LOG_LEVEL: 'error',
      AI_ANALYSIS_ON_INGEST: 'false',
      // Measured as deployed: payloads encrypted, mail search attributes keyed.
      PAYLOAD_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      SEARCH_ATTRIBUTE_HMAC_KEY: randomBytes(32).toString('base64'),
      WEBHOOK_ALLOW_PRIVATE: 'true',
      MAILBOX_CREDENTIALS_KEY: randomBytes(32).toString('hex'),
    });
    const stack = await startStack(config, { log: createLogger('error'), runWorker: true });
    const http = await startMcpHttp(stack, createLogger('error'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'bench', key, 'admin');
    const mcp = new Client({ name: 'bench', version: '1' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(http.url), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    );
    let notified: (() => void) | undefined;
    mcp.setNotificationHandler(ResourceUpdatedNotificationSchema, () => notified?.());
    await mcp.subscribeResource({ uri: 'inbox://recent' });
    const tenantId = stack.defaultTenant.id;
    // (c): a receiver on loopback, told of each message's subject as it arrives.
    const arrived = new Map<string, (at: number, wallAt: number) => void>();
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = performance.now();
        const wallAt = Date.now();
        res.end('ok');
        const subject = (JSON.parse(Buffer.concat(chunks).toString()) as { data: { subject?: string } }).data
          .subject;
        if (subject) arrived.get(subject)?.(at, wallAt);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const created = await mcp.callTool({
      name: 'create_webhook',
      arguments: { url: receiverUrl, eventTypes: ['email.received'] },
    });
    const hook = stack.client.workflow.getHandle(
      (created.structuredContent as { webhook: { workflowId: string } }).webhook.workflowId,
    );
    const timings: DeliveryTiming[] = [];

    const measure = async (tag: string): Promise<{ mcp: number[]; webhook: number[] }> => {
      const out: number[] = [];
      const hooked: number[] = [];
      for (let i = 0; i < emails; i++) {
        const raw =
          `From: Bench <bench@example.com>\r\nTo: inbox@example.org\r\nSubject: ${tag} ${i}\r\n` +
          `Message-ID: <events-${tag}-${i}@bench>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nBody ${i}\r\n`;
        const parsed = await parseEmail(Buffer.from(raw), config.limits);
        const heard = new Promise<number>((resolve) => {
          notified = () => resolve(performance.now());
        });
        const delivered = new Promise<[number, number]>((resolve) =>
          arrived.set(`${tag} ${i}`, (at, wallAt) => resolve([at, wallAt])),
        );
        await stack.sql.begin((tx) => upsertEmail(tx, tenantId, parsed));
        const committed = performance.now();
        // Wall clock too: the history's times are the server's, on this machine's clock.
        const committedAt = Date.now();
        out.push((await heard) - committed);
        const [arrivedAt, arrivedWall] = await delivered;
        hooked.push(arrivedAt - committed);
        if (tag === 'alone') timings.push({ committedAt, arrivedAt: arrivedWall });
        arrived.delete(`${tag} ${i}`);
      }
      return { mcp: out.sort((a, b) => a - b), webhook: hooked.sort((a, b) => a - b) };
    };

    const alone = await measure('alone');
    const legs = webhookLegRows(await hook.fetchHistory(), timings);
    // The load goes to another tenant, whose events the measuring session never hears of: each
    // notification it gets is for the email just committed.
    const load = await ensureOrganization(stack.sql, 'bench-load');
    const loadKey = generateApiKey();
    await registerApiKey(stack.sql, load.id, 'bench-load', loadKey);
    const loader = new Client({ name: 'bench-load', version: '1' });
    await loader.connect(
      new StreamableHTTPClientTransport(new URL(http.url), {
        requestInit: { headers: { Authorization: `Bearer ${loadKey}` } },
      }),
    );
    const folder = tenantImportDir(config.mailbox.importDir, load.slug);
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'bench.mbox'), generateMailbox(mailboxSize, 0, 0, 'bench').mbox);
    const started = await loader.callTool({
      name: 'ingest_mailbox',
      arguments: { path: 'bench.mbox', wait: false },
    });
    const { workflowId } = started.structuredContent as { workflowId: string };
    const loaded = await measure('loaded');
    const running = (await stack.client.workflow.getHandle(workflowId).describe()).status.name;
    await stack.client.workflow.getHandle(workflowId).result();

    const row = (name: string, xs: number[]) => [
      name,
      percentile(xs, 50),
      percentile(xs, 95),
      percentile(xs, 99),
      xs.at(-1)!,
    ];
    process.stdout.write(
      `\nevents benchmark: ${emails} emails, commit → sink in ms (${os.cpus().length} cores)\n\n${table([
        ['', 'p50', 'p95', 'p99', 'max'],
        row('(a) MCP resources/updated, alone', alone.mcp),
        row(`(a) during ingest_mailbox of ${mailboxSize} (${running} when done)`, loaded.mcp),
        row('(c) webhook receiver, alone', alone.webhook),
        ...legs,
        row(`(c) during ingest_mailbox of ${mailboxSize}`, loaded.webhook),
      ])}\n\nrealtime.messages rows are written in the ingest transaction itself: visible at commit.\n`,
    );
    await mcp.close();
    await loader.close();
    receiver.close();
    await http.close();
    await stack.shutdown();
  } finally {
    await temporal.stop();
    await postgres.stop();
  }
}
