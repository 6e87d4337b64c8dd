/**
 * Process entry points:
 *   start                 the whole local stack + MCP on Streamable HTTP (what `npm start` runs)
 *   worker                a worker for the configured Temporal and database
 *   mcp --stdio           MCP over stdio for desktop clients (bridges to a running `npm start`)
 *   mcp --http            MCP over Streamable HTTP only (with the inbound webhooks)
 *   smtp                  the inbound SMTP listener on SMTP_INBOUND_PORT (default 2525 here)
 *   migrate               apply database migrations
 *   api-key create NAME   print a new API key for DURABLE_INBOX_TENANT (--rotate replaces a live one)
 *   health                exit 0 when the database and Temporal answer (container health checks)
 *   schedules             create or update the retention schedule and print it (what `npm run schedules` runs)
 *   codec-server          serve /encode and /decode for the Temporal Web UI (needs CODEC_SERVER_TOKEN)
 *   find-run --from ADDRESS | --message-id ID [--tenant ORG-ID]
 *                         list the runs of a sender or Message-ID (search attributes may be keyed hashes)
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { applyRetentionSchedule, scheduleInfo } from '../app/retention-schedule.js';
import { type Config, ConfigError, loadConfig } from '../core/config.js';
import { tenantImportDir } from '../core/import-path.js';
import { createLogger, type Logger } from '../core/logger.js';
import type { PayloadKey } from '../core/payload-keys.js';
import { formatKeyRing } from '../core/payload-keys.js';
import { registerSecrets } from '../core/redact.js';
import type { RunningSmtpServer } from '../mcp/smtp.js';
import { bridgeStdioToHttp, serveStdio } from '../mcp/stdio.js';
import { createDb } from '../supabase/db.js';
import { createApiKey as createNamedApiKey, generateApiKey } from '../supabase/tenants.js';
import { connectClient, type TemporalTarget, temporalTarget, workflowUiUrl } from '../temporal/client.js';
import { codecServerOrigins, type RunningCodecServer, startCodecServer } from '../temporal/codec-server.js';
import { dataConverterFor, resolvePayloadKeys } from '../temporal/data-converter.js';
import { findRuns, findRunsQuery, temporalListCommand } from '../temporal/find-runs.js';
import { EncryptionCodec } from '../temporal/payload-codec.js';
import { startRecovery, startSmtp } from './inbound-entry.js';
import {
  ensureLocalApiKey,
  readLiveStackState,
  readLocalApiKey,
  removeStackState,
  stdioPrincipal,
  writeStackState,
} from './local-identity.js';
import { startMcpEventHub, startMcpHttp, toolContext } from './mcp-entry.js';
import { openDatabase, type Stack, startStack } from './stack.js';
import {
  CHILD_ENV,
  EXIT_CONFIG,
  exitOnUnexpected,
  type Supervisor,
  stopWithSupervisor,
  superviseWorker,
} from './supervise.js';

const USAGE =
  'usage: durable-inbox <start | worker | mcp --stdio | mcp --http | smtp | migrate | api-key create <name> [--role admin|member|viewer] [--rotate] | health | schedules | codec-server | find-run --from <address> | --message-id <id> [--tenant <org-id>]>';

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stdio: { type: 'boolean' },
      http: { type: 'boolean' },
      worker: { type: 'boolean' },
      role: { type: 'string' },
      rotate: { type: 'boolean' },
      from: { type: 'string' },
      'message-id': { type: 'string' },
      tenant: { type: 'string' },
    },
  });
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const [command, sub, name] = positionals;

  switch (command) {
    case 'start':
      return start(config, log);
    case 'worker':
      if (process.env[CHILD_ENV]) return workerProcess(config, log);
      return supervise(superviseWorker({ log, memory: config.temporal.workerMemory }), log);
    case 'mcp':
      if (values.stdio) return mcpStdio(config, log, Boolean(values.worker));
      if (values.http) return mcpHttp(config, log);
      break;
    case 'smtp':
      return smtp(config, log);
    case 'migrate': {
      const db = await openDatabase(config, log);
      log.info('database is up to date');
      return db.close();
    }
    case 'health':
      return health(config);
    case 'api-key':
      if (sub === 'create' && name)
        return createApiKey(config, log, name, values.role, Boolean(values.rotate));
      break;
    case 'schedules':
      return schedules(config, log);
    case 'codec-server':
      return codecServer(config, log);
    case 'find-run':
      return findRun(config, log, {
        from: values.from,
        messageId: values['message-id'],
        tenant: values.tenant,
      });
  }
  throw new ConfigError(USAGE);
}

/**
 * With a real Postgres the worker runs in a supervised child process (restarted if it dies; see
 * workers/supervise.ts). With the embedded PGlite it stays in this process: PGlite serves one connection,
 * which this process's pool holds, and it lives and dies with this process, so there is no database
 * restart for a separate worker to survive. An unexpected exception then ends the whole stack, logged.
 */
async function start(config: Config, log: Logger): Promise<void> {
  const inProcessWorker = config.database.kind === 'embedded';
  if (inProcessWorker) exitOnUnexpected(log, 'stack');
  const payloadKeys = await resolvePayloadKeys(config, log);
  // Before the dev server, whose Web UI is pointed at it (the token is the endpoint's first segment).
  const codec = payloadKeys ? await startCodecServerFor(config, log, payloadKeys) : undefined;
  const stack = await startStack(config, {
    log,
    runWorker: inProcessWorker,
    payloadKeys,
    uiCodecEndpoint: codec?.endpointWithToken,
    // The local stack always serves /metrics: on METRICS_PORT, or on a free port the banner prints.
    metricsPort: config.metrics.port ?? 0,
  }).catch(async (err: unknown) => {
    await codec?.close();
    throw err;
  });
  if (stack.temporal.uiUrl) codec?.allowOrigin(new URL(stack.temporal.uiUrl).origin);
  const supervisor = inProcessWorker
    ? undefined
    : superviseWorker({
        log,
        memory: config.temporal.workerMemory,
        env: {
          ...process.env,
          ...childPrivacyEnv(config, payloadKeys),
          TEMPORAL_ADDRESS: stack.temporal.address,
        },
      });
  const apiKey = await ensureLocalApiKey(stack.sql, config.dataDir, stack.defaultTenant);
  // The local tenant's import folder: `path` arguments resolve inside it, and only there.
  const importFolder = tenantImportDir(config.mailbox.importDir, stack.defaultTenant.slug);
  await mkdir(importFolder, { recursive: true, mode: 0o700 });
  const http = await startMcpHttp(stack, log);
  const smtpServer = config.inbound.smtp ? await startSmtp(stack, log) : undefined;
  const recovery = startRecovery(stack, log);
  await writeStackState(config.dataDir, {
    pid: process.pid,
    mcpUrl: http.url,
    temporalUiUrl: stack.temporal.uiUrl,
    temporalAddress: stack.temporal.address,
  });
  printBanner(stack, http.url, apiKey, importFolder, codec, smtpServer);
  await runUntilSignal(stack, log, async () => {
    await smtpServer?.close();
    await recovery.stop();
    await supervisor?.stop();
    await removeStackState(config.dataDir);
    await http.close();
    await codec?.close();
  });
}

/**
 * The supervised worker is given TEMPORAL_ADDRESS, which on its own means "a shared Temporal": it gets
 * this process's settings too, so it encrypts with the same keys and hashes (or not) like the tools.
 */
function childPrivacyEnv(config: Config, keys: PayloadKey[] | null): Record<string, string> {
  return {
    ...(keys ? { PAYLOAD_ENCRYPTION_KEYS: formatKeyRing(keys) } : { PAYLOAD_ENCRYPTION: 'off' }),
    TEMPORAL_CLEAR_SEARCH_ATTRIBUTES: String(config.privacy.searchAttributes.clear),
  };
}

/** The codec server of `npm start` and `codec-server`: CODEC_SERVER_TOKEN, or (npm start) a token of this run only. */
async function startCodecServerFor(
  config: Config,
  log: Logger,
  keys: PayloadKey[],
): Promise<RunningCodecServer> {
  const token = config.codecServer.token ?? randomBytes(24).toString('hex');
  registerSecrets([token]);
  return startCodecServer({
    host: config.codecServer.host,
    port: config.codecServer.port,
    token,
    codec: new EncryptionCodec(keys),
    allowedOrigins: codecServerOrigins(config),
    log,
  });
}

/** The codec server alone, for a deployed Temporal's Web UI (Temporal Cloud's included). */
async function codecServer(config: Config, log: Logger): Promise<void> {
  const { token } = config.codecServer;
  if (!token) throw new ConfigError('codec-server needs CODEC_SERVER_TOKEN (e.g. openssl rand -hex 24)');
  const keys = await resolvePayloadKeys(config, log);
  if (!keys) throw new ConfigError('codec-server: payload encryption is off, there is nothing to decode');
  const server = await startCodecServerFor(config, log, keys);
  log.info('codec server listening', { url: server.url, encryptsWith: keys[0]!.id });
  process.stdout.write(`codec server ${server.url} (POST /encode, /decode; Authorization: Bearer <token>)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
}

/** Runs of a sender or Message-ID, and the query that found them (for the Web UI or the Temporal CLI). */
async function findRun(
  config: Config,
  log: Logger,
  request: { from?: string; messageId?: string; tenant?: string },
): Promise<void> {
  if (!request.from && !request.messageId)
    throw new ConfigError('find-run: give --from <address> or --message-id <id>');
  // An id, not a slug: looking a slug up would open the database, which a running local stack holds.
  if (request.tenant && !/^[0-9a-f-]{36}$/i.test(request.tenant)) {
    throw new ConfigError('find-run: --tenant takes an organization id (uuid)');
  }
  const query = findRunsQuery(config.privacy.searchAttributes, {
    from: request.from,
    messageId: request.messageId,
    tenantId: request.tenant,
  });
  await withCommandClient(config, log, async (client, target) => {
    const runs = await findRuns(client, query);
    process.stdout.write(`${temporalListCommand(target.namespace, query)}\n`);
    for (const run of runs) {
      process.stdout.write(
        `${run.workflowId}  ${run.runId}  ${run.type}  ${run.status}  ${run.startTime}  ${workflowUiUrl(target, run.workflowId, run.runId)}\n`,
      );
    }
    process.stdout.write(`${runs.length} run(s)\n`);
  });
}

/**
 * A client of the configured Temporal (TEMPORAL_ADDRESS, or the dev server of a running `npm start`),
 * with the data converter, for a command that runs once.
 */
async function withCommandClient(
  config: Config,
  log: Logger,
  use: (client: Client, target: TemporalTarget) => Promise<void>,
): Promise<void> {
  const running = config.temporal.address ? null : await readLiveStackState(config.dataDir);
  if (!config.temporal.address && !running) {
    throw new ConfigError('this command needs Temporal: set TEMPORAL_ADDRESS, or run `npm start` first');
  }
  const target = temporalTarget(
    config,
    running ? { address: running.temporalAddress, uiUrl: running.temporalUiUrl } : undefined,
  );
  const client = await connectClient(target, dataConverterFor(await resolvePayloadKeys(config, log)));
  try {
    await use(client, target);
  } finally {
    await client.connection.close();
  }
}

/** The worker itself, in a supervised child: an unexpected exception ends it (the supervisor restarts it). */
async function workerProcess(config: Config, log: Logger): Promise<void> {
  exitOnUnexpected(log);
  stopWithSupervisor();
  return runUntilSignal(await startStack(config, { log, runWorker: true }), log);
}

/** Until SIGINT/SIGTERM (the child is stopped first) or a child's configuration error. */
async function supervise(supervisor: Supervisor, log: Logger): Promise<void> {
  const signalled = new Promise<'signal'>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info('stopping', { signal });
      resolve('signal');
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const outcome = await Promise.race([signalled, supervisor.done]);
  if (outcome === 'signal') return supervisor.stop();
  if (outcome === EXIT_CONFIG)
    throw new ConfigError('the worker stopped on a configuration error (see above)');
}

async function mcpHttp(config: Config, log: Logger): Promise<void> {
  const stack = await startStack(config, { log, runWorker: false });
  const http = await startMcpHttp(stack, log);
  const recovery = startRecovery(stack, log);
  log.info('MCP server listening', { url: http.url });
  await runUntilSignal(stack, log, async () => {
    await recovery.stop();
    await http.close();
  });
}

/** The SMTP listener alone (workers run elsewhere), with the recovery sweep for what it accepted. */
async function smtp(config: Config, log: Logger): Promise<void> {
  const stack = await startStack(config, { log, runWorker: false });
  const server = await startSmtp(stack, log, config.inbound.smtp ? undefined : 2525);
  const recovery = startRecovery(stack, log);
  log.info('SMTP listener accepting mail', { host: server.host, port: server.port });
  process.stdout.write(`smtp listening on ${server.host}:${server.port}\n`);
  await runUntilSignal(stack, log, async () => {
    await server.close();
    await recovery.stop();
  });
}

async function mcpStdio(config: Config, log: Logger, withWorker: boolean): Promise<void> {
  if (config.database.kind === 'embedded') {
    const running = await readLiveStackState(config.dataDir);
    const key = await readLocalApiKey(config.dataDir);
    if (running && key) {
      log.info('bridging stdio to the running stack', { url: running.mcpUrl });
      return bridgeStdioToHttp(running.mcpUrl, key);
    }
  }
  // With no external Temporal this process owns the dev server, so it must also run the worker.
  const runWorker = withWorker || !config.temporal.address;
  const stack = await startStack(config, { log, runWorker });
  try {
    const principal = await stdioPrincipal(stack.sql, stack.defaultTenant);
    const events = await startMcpEventHub(stack, log);
    try {
      await serveStdio(toolContext(stack, principal, log), events);
    } finally {
      await events.stop();
    }
  } finally {
    await stack.shutdown();
  }
}

async function createApiKey(
  config: Config,
  log: Logger,
  name: string,
  role: string | undefined,
  rotate: boolean,
): Promise<void> {
  if (role && !['admin', 'member', 'viewer'].includes(role))
    throw new ConfigError('--role: admin, member or viewer');
  const db = await openDatabase(config, log);
  try {
    const key = generateApiKey();
    const tenant = db.defaultTenant;
    const result = await createNamedApiKey(db.sql, tenant.id, name, key, (role ?? 'member') as 'member', {
      rotate,
    });
    if (result.status === 'exists') {
      throw new ConfigError(
        `an API key named "${name}" already exists for ${tenant.slug}: pass --rotate to replace it (the old key stops working), or choose another name`,
      );
    }
    // Only the key goes to stdout, so `KEY=$(durable-inbox api-key create …)` keeps working.
    process.stdout.write(`${key}\n`);
    if (result.status === 'rotated') {
      process.stderr.write(
        `revoked the previous key "${name}" of ${tenant.slug} (created ${result.revokedCreatedAt.toISOString()}): it no longer works\n`,
      );
    }
  } finally {
    await db.close();
  }
}

/** Reachability of the configured database and Temporal, without migrating or starting anything. */
async function health(config: Config): Promise<void> {
  if (config.database.kind !== 'external' || !config.temporal.address) {
    throw new ConfigError('health checks a deployed service: set DATABASE_URL and TEMPORAL_ADDRESS');
  }
  const sql = createDb({ url: config.database.url, prepare: config.database.prepare, max: 1 });
  try {
    await sql`select 1`;
  } finally {
    await sql.end({ timeout: 2 });
  }
  // Reachability only: no payload crosses, so no codec is needed.
  const client = await connectClient(temporalTarget(config), {});
  try {
    await client.workflowService.getSystemInfo({});
  } finally {
    await client.connection.close();
  }
}

/**
 * Apply the retention schedule to the configured Temporal (TEMPORAL_ADDRESS, or the dev server of a
 * running `npm start`) and print it. Runs whatever RETENTION_SCHEDULE_ENABLED says: asking is explicit.
 */
async function schedules(config: Config, log: Logger): Promise<void> {
  await withCommandClient(config, log, async (client, target) => {
    const outcome = await applyRetentionSchedule(client, config, log);
    const info = scheduleInfo(await client.schedule.getHandle(config.retention.schedule.id).describe());
    process.stdout.write(`${outcome} schedule ${info.scheduleId}\n${JSON.stringify(info, null, 2)}\n`);
    process.stdout.write(`${target.uiUrl}/namespaces/${encodeURIComponent(target.namespace)}/schedules\n`);
  });
}

function printBanner(
  stack: Stack,
  mcpUrl: string,
  apiKey: string,
  importFolder: string,
  codec: RunningCodecServer | undefined,
  smtp?: RunningSmtpServer,
): void {
  const snippet = {
    mcpServers: {
      'durable-inbox': { command: 'npx', args: ['durable-inbox', 'mcp', '--stdio'], cwd: process.cwd() },
    },
  };
  const lines = [
    '',
    'durable-inbox is running',
    '',
    `  Temporal Web UI   ${stack.temporal.uiUrl}/namespaces/${stack.temporal.namespace}/workflows`,
    `  Temporal address  ${stack.temporal.address}`,
    codec
      ? `  Codec server      ${codec.url} (the Web UI decodes payloads with it; CODEC_SERVER_TOKEN or this run's token)`
      : '  Payloads          NOT encrypted (PAYLOAD_ENCRYPTION=off)',
    `  Metrics           ${stack.metricsUrl} (Prometheus: Temporal SDK and application series)`,
    `  Database          ${stack.embeddedDatabase ? `embedded PGlite (${stack.config.dataDir}/pglite)` : 'DATABASE_URL'}`,
    `  Tenant            ${stack.defaultTenant.slug} (${stack.defaultTenant.id})`,
    `  Import folder     ${importFolder}`,
    '                    `path` arguments (ingest_mailbox, upload_file) are relative to it',
    `  MCP (HTTP)        ${mcpUrl}`,
    `  API key           ${apiKey}`,
    '                    send it as "Authorization: Bearer <key>"',
    ...(smtp
      ? [
          `  SMTP (inbound)    ${smtp.host}:${smtp.port}`,
          ...(stack.config.inbound.localhostDomains
            ? [
                `                    mail to *@${stack.defaultTenant.slug}.localhost reaches ${stack.defaultTenant.slug}`,
              ]
            : []),
        ]
      : []),
    '',
    '  MCP client config for the stdio entry (e.g. claude_desktop_config.json):',
    '',
    ...JSON.stringify(snippet, null, 2)
      .split('\n')
      .map((l) => `    ${l}`),
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Keep running until SIGINT/SIGTERM, then stop cleanly; a second signal forces the exit. */
async function runUntilSignal(
  stack: Stack,
  log: Logger,
  beforeShutdown?: () => Promise<void>,
): Promise<void> {
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info('stopping', { signal });
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await beforeShutdown?.();
  await stack.shutdown();
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`durable-inbox: ${message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
