/**
 * The whole stack for a benchmark, as a user runs it: a Temporal dev server, a PostgreSQL cluster, the
 * worker and the MCP server in this process, and an MCP client over HTTP holding an API key.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type Config, loadConfig } from '../../core/config.js';
import { tenantImportDir } from '../../core/import-path.js';
import { createLogger } from '../../core/logger.js';
import { createDatabase, type ProvisionedPostgres, provisionPostgres } from '../../dev-stack/postgres.js';
import { resolveTemporalCli } from '../../dev-stack/temporal-cli.js';
import { startTemporalDevServer } from '../../dev-stack/temporal-dev-server.js';
import { createDb, type Sql } from '../../supabase/db.js';
import { migrate } from '../../supabase/migrate.js';
import { ensureOrganization, generateApiKey, registerApiKey } from '../../supabase/tenants.js';
import { startMcpHttp } from '../../workers/mcp-entry.js';
import { type Stack, startStack } from '../../workers/stack.js';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

const quiet = () => {};

export type ToolCall = (name: string, args: Record<string, unknown>) => Promise<Record<string, unknown>>;

export interface BenchStack {
  config: Config;
  stack: Stack;
  postgres: ProvisionedPostgres;
  databaseUrl: string;
  /** The Temporal dev server's process (benches read its CPU time). */
  temporalPid: number;
  /** The environment the stack was configured from (for worker processes of the same stack). */
  env: Record<string, string>;
  /** Call a tool as the default tenant's key holder; an error result throws. */
  call: ToolCall;
  /** A client for another tenant (created on first use). */
  callAs(tenantSlug: string): Promise<ToolCall>;
  close(): Promise<void>;
}

export async function startBenchStack(opts: {
  database: string;
  env?: Record<string, string>;
  /** Task-queue fairness on the dev server (default on, as the app starts it). */
  fairness?: boolean;
  /** The role of the API keys the bench's MCP clients hold (default: the key's default, member). */
  role?: 'admin' | 'member' | 'viewer';
  /** Run the worker in this process (default); without it, the bench starts worker processes. */
  runWorker?: boolean;
}): Promise<BenchStack> {
  const temporal = await startTemporalDevServer({
    cliPath: await resolveTemporalCli({ log: quiet }),
    headless: true,
    fairness: opts.fairness,
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const])),
    log: quiet,
  });
  const postgres = await provisionPostgres({ log: quiet });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durable-inbox-bench-'));
  const databaseUrl = await createDatabase(postgres.url, opts.database);
  const admin = createDb({ url: databaseUrl, max: 1 });
  await migrate(admin);
  await admin.end();

  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    // Measured as deployed: payloads encrypted, mail search attributes keyed.
    PAYLOAD_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    SEARCH_ATTRIBUTE_HMAC_KEY: randomBytes(32).toString('base64'),
    DURABLE_INBOX_DATA_DIR: dataDir,
    DURABLE_INBOX_TENANT: 'bench',
    MCP_HTTP_PORT: '0',
    LOG_LEVEL: 'error',
    ...opts.env,
  };
  const config = loadConfig(env);
  const stack = await startStack(config, { log: createLogger('error'), runWorker: opts.runWorker ?? true });
  const http = await startMcpHttp(stack, createLogger('error'));
  const clients: Client[] = [];
  const connectAs = async (tenantId: string): Promise<ToolCall> => {
    const key = generateApiKey();
    await registerApiKey(stack.sql, tenantId, 'bench', key, opts.role);
    const mcp = new Client({ name: 'bench', version: '1' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(http.url), {
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      }),
    );
    clients.push(mcp);
    return async (name, args) => {
      const result = (await mcp.callTool({ name, arguments: args })) as CallToolResult;
      if (result.isError) throw new Error(JSON.stringify(result.content));
      return result.structuredContent as Record<string, unknown>;
    };
  };
  return {
    config,
    stack,
    postgres,
    databaseUrl,
    temporalPid: temporal.pid,
    env,
    call: await connectAs(stack.defaultTenant.id),
    callAs: async (slug) => connectAs((await ensureOrganization(stack.sql, slug)).id),
    async close() {
      for (const c of clients) await c.close();
      await http.close();
      await stack.shutdown();
      await temporal.stop();
      await postgres.stop();
    },
  };
}

/** `--set KEY=VALUE` options (repeatable) as settings for startBenchStack's env. */
export function settingsOf(set: string[]): Record<string, string> {
  return Object.fromEntries(set.map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
}

/** A pool of its own on the bench database (for seeding, baselines and EXPLAIN). */
export function benchDb(bench: BenchStack, max = 4): Sql {
  return createDb({ url: bench.databaseUrl, max, applicationName: 'bench' });
}

/** Put an mbox file in a tenant's import folder; returns the path ingest_mailbox takes. */
export function writeMailbox(bench: BenchStack, name: string, mbox: string, tenantSlug = 'bench'): string {
  const dir = tenantImportDir(bench.config.mailbox.importDir, tenantSlug);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), mbox);
  return name;
}
