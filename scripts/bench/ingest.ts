/**
 * Ingestion benchmark on the real stack (Temporal dev server, PostgreSQL, worker, MCP over HTTP):
 *  - mbox throughput: a generated mailbox through ingest_mailbox, in messages per second;
 *  - single-message latency: ingest_email calls, MCP call to committed row, p50 and p95;
 *  - peak RSS of this process (it hosts the worker and the MCP server).
 * Each is compared with a direct-insert baseline in the same process and database: the same parse, the
 * same SQL and the same raw-message archive to storage, with no Temporal.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createRawArchiver } from '../../activities/raw-archive-activities.js';
import { loadConfig } from '../../core/config.js';
import { parseEmail } from '../../core/email.js';
import { inParallel } from '../../core/in-parallel.js';
import { createLogger } from '../../core/logger.js';
import { MboxSplitter } from '../../core/mbox.js';
import { createDatabase, provisionPostgres } from '../../dev-stack/postgres.js';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { startTemporalDevServer } from '../../dev-stack/temporal-dev-server.js';
import { createDb, type Sql } from '../../supabase/db.js';
import { upsertEmail } from '../../supabase/emails.js';
import { migrate } from '../../supabase/migrate.js';
import { stageContent, stageContents } from '../../supabase/staged-content.js';
import { createStorageBackend } from '../../supabase/storage/index.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { generateMailbox } from '../../tests/support/mbox.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import { startStack } from '../../workers/stack.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';
import { percentile, table, timed } from './stats.js';

const quiet = () => {};

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { messages: { type: 'string', default: '5000' }, calls: { type: 'string', default: '200' } },
  });
  const messages = Number(values.messages);
  const calls = Number(values.calls);

  const temporal = await startTemporalDevServer({
    cliPath: await resolveTemporalCli({ log: quiet }),
    headless: true,
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const])),
    log: quiet,
  });
  const postgres = await provisionPostgres({ log: quiet });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-bench-'));
  try {
    const databaseUrl = await createDatabase(postgres.url, 'durable_inbox_bench');
    const admin = createDb({ url: databaseUrl, max: 1 });
    await migrate(admin);
    await admin.end();

    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      // Measured as deployed: payloads encrypted, mail search attributes keyed.
      PAYLOAD_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      SEARCH_ATTRIBUTE_HMAC_KEY: randomBytes(32).toString('base64'),
      DURABLE_INBOX_DATA_DIR: dataDir,
      DURABLE_INBOX_TENANT: 'bench',
      MCP_HTTP_PORT: '0',
      LOG_LEVEL: 'error',
    });
    const stack = await startStack(config, { log: createLogger('error'), runWorker: true });
    const http = await startMcpHttp(stack, createLogger('error'));
    const key = generateApiKey();
    await registerApiKey(stack.sql, stack.defaultTenant.id, 'bench', key);
    const mcp = new Client({ name: 'bench', version: '1' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(http.url), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    );
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = (await mcp.callTool({ name, arguments: args })) as CallToolResult;
      if (result.isError) throw new Error(JSON.stringify(result.content));
      return result.structuredContent as Record<string, unknown>;
    };

    // --- mbox throughput ---
    const mailbox = generateMailbox(messages, 0, 0, 'bench');
    mkdirSync(config.mailbox.importDir, { recursive: true });
    writeFileSync(path.join(config.mailbox.importDir, 'bench.mbox'), mailbox.mbox);
    const [, mboxMs] = await timed(async () => {
      const { workflowId } = await call('ingest_mailbox', { path: 'bench.mbox', wait: false });
      await stack.client.workflow.getHandle(workflowId as string).result();
    });
    const direct = await ensureOrganization(stack.sql, 'bench-direct');
    const archive = createRawArchiver({
      sql: stack.sql,
      storage: createStorageBackend(config.storage),
      files: config.files,
    });
    const archiveAll = (emails: { emailId: string; rawSha256: string }[]) =>
      inParallel(emails, 4, (e) => archive(direct.id, e, new AbortController().signal));
    const [, directMboxMs] = await timed(() =>
      directMailbox(stack.sql, direct.id, mailbox.mbox, config.limits, archiveAll),
    );

    // --- single-message latency ---
    const single = (i: number, tag: string) =>
      `From: Bench <bench@example.com>\r\nTo: inbox@example.org\r\nSubject: single ${tag} ${i}\r\n` +
      `Message-ID: <single-${tag}-${i}@bench>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nBody ${i}\r\n`;
    const viaMcp: number[] = [];
    for (let i = 0; i < calls; i++)
      viaMcp.push((await timed(() => call('ingest_email', { raw: single(i, 'mcp') })))[1]);
    const viaSql: number[] = [];
    for (let i = 0; i < calls; i++) {
      const raw = new TextEncoder().encode(single(i, 'sql'));
      viaSql.push(
        (
          await timed(async () => {
            const parsed = await parseEmail(raw, config.limits);
            await stageContent(stack.sql, direct.id, parsed.rawSha256, raw);
            const { emailId } = await upsertEmail(stack.sql, direct.id, parsed);
            await archiveAll([{ emailId, rawSha256: parsed.rawSha256 }]);
          })
        )[1],
      );
    }
    viaMcp.sort((a, b) => a - b);
    viaSql.sort((a, b) => a - b);

    const rate = (n: number, ms: number) => (n / ms) * 1000;
    process.stdout.write(
      `\ningest benchmark: ${messages} mbox messages, ${calls} single calls (${os.cpus().length} cores)\n\n${table(
        [
          ['figure', 'durable-inbox', 'direct baseline', 'ratio'],
          [
            'mbox messages/s',
            rate(messages, mboxMs),
            rate(messages, directMboxMs),
            rate(messages, mboxMs) / rate(messages, directMboxMs),
          ],
          [
            'single p50 ms',
            percentile(viaMcp, 50),
            percentile(viaSql, 50),
            percentile(viaMcp, 50) / percentile(viaSql, 50),
          ],
          [
            'single p95 ms',
            percentile(viaMcp, 95),
            percentile(viaSql, 95),
            percentile(viaMcp, 95) / percentile(viaSql, 95),
          ],
        ],
      )}\n\npeak RSS of this process (worker + MCP server + baseline): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`,
    );
    await mcp.close();
    await http.close();
    await stack.shutdown();
  } finally {
    await temporal.stop();
    await postgres.stop();
  }
}

/**
 * The same work as the mailbox activities: stage the raw messages, parse and store them in slices of 50
 * per transaction, and archive each slice's raw messages to storage.
 */
async function directMailbox(
  sql: Sql,
  tenantId: string,
  mbox: string,
  limits: Parameters<typeof parseEmail>[1],
  archiveAll: (emails: { emailId: string; rawSha256: string }[]) => Promise<unknown>,
) {
  const splitter = new MboxSplitter(limits.maxEmailBytes);
  const all = [...splitter.push(Buffer.from(mbox)), ...splitter.end()];
  for (let i = 0; i < all.length; i += 50) {
    const slice = all.slice(i, i + 50).flatMap((m) => (m.kind === 'message' ? [m.raw] : []));
    const parsed = await Promise.all(slice.map((raw) => parseEmail(raw, limits)));
    await stageContents(
      sql,
      tenantId,
      parsed.map((p, j) => ({ sha256: p.rawSha256, content: slice[j]! })),
    );
    const stored = await sql.begin(async (tx) => {
      const ids: { emailId: string; rawSha256: string }[] = [];
      for (const p of parsed)
        ids.push({ emailId: (await upsertEmail(tx, tenantId, p)).emailId, rawSha256: p.rawSha256 });
      return ids;
    });
    await archiveAll(stored);
  }
}
