/**
 * Bring up (or connect to) everything a process needs: the database with migrations applied, the
 * default tenant, Temporal (a dev server under .data/ when TEMPORAL_ADDRESS is unset) with the search
 * attributes registered, and optionally the worker. `shutdown()` stops them in reverse order.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import {
  DefaultLogger,
  type LogEntry,
  Runtime,
  type Worker,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { IngestedEmail } from '../activities/email-activities.js';
import { applyRetentionSchedule } from '../app/retention-schedule.js';
import { startWebhookWaker } from '../app/webhook-waker.js';
import { type CommitNotices, createCommitNotices } from '../core/commit-notices.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { configureMetrics } from '../core/metrics.js';
import type { PayloadKey } from '../core/payload-keys.js';
import { resolveTemporalCli } from '../dev-stack/temporal-cli.js';
import { startTemporalDevServer } from '../dev-stack/temporal-dev-server.js';
import { freePort } from '../dev-stack/util.js';
import { createDb, type Sql } from '../supabase/db.js';
import { startEmbeddedPostgres } from '../supabase/embedded.js';
import { migrate } from '../supabase/migrate.js';
import { createStorageBackend } from '../supabase/storage/index.js';
import { ensureOrganization, findTenant, type Tenant } from '../supabase/tenants.js';
import { connectClient, type TemporalTarget, temporalTarget } from '../temporal/client.js';
import { dataConverterFor, resolvePayloadKeys } from '../temporal/data-converter.js';
import { ensureSearchAttributes } from '../temporal/search-attributes.js';
import type { Tracing } from '../temporal/tracing.js';
import { connectWorkerConnection } from '../temporal/worker-connection.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';
import { ensureWorkerBuckets } from './buckets.js';
import { startMetricsServer } from './metrics-server.js';
import { createWorkers } from './worker.js';

export interface Stack {
  config: Config;
  sql: Sql;
  databaseUrl: string;
  embeddedDatabase: boolean;
  temporal: TemporalTarget;
  client: Client;
  /** The payload key ring (null: encryption off), for the codec server and a supervised worker. */
  payloadKeys: PayloadKey[] | null;
  /** The tenant DURABLE_INBOX_TENANT names (created on first start when it is a slug). */
  defaultTenant: Tenant;
  /** Running workers, one per task queue (empty unless runWorker). */
  workers: Worker[];
  /** The client shares the main queue worker's connection and may start runs eagerly (TEMPORAL_EAGER_START). */
  eagerStart: boolean;
  /** With eagerStart: store steps of this process's worker tell the tool call waiting on them. */
  commitNotices?: CommitNotices<IngestedEmail>;
  /** The Prometheus endpoint, when METRICS_PORT (or the caller) asked for one. */
  metricsUrl?: string;
  /** Traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set (temporal/tracing.ts, loaded only then). */
  tracing?: Tracing;
  shutdown(): Promise<void>;
}

export interface StackOptions {
  log: Logger;
  runWorker: boolean;
  workflowBundle?: WorkflowBundleOption;
  /** The codec server the local dev server's Web UI decodes payloads with (`--ui-codec-endpoint`). */
  uiCodecEndpoint?: string;
  /** Resolved by the caller already (it started the codec server with them). */
  payloadKeys?: PayloadKey[] | null;
  /** Serve /metrics on this port (0: any free one) even when METRICS_PORT is unset (`npm start`). */
  metricsPort?: number;
}

export async function startStack(config: Config, opts: StackOptions): Promise<Stack> {
  const { log } = opts;
  const metricsPort = opts.metricsPort ?? config.metrics.port;
  const sdkMetricsUrl = await installRuntime(config.logLevel, log, metricsPort !== undefined);
  configureMetrics({ tenantLabels: config.metrics.tenantLabels });
  const cleanups: (() => Promise<void>)[] = [];
  const shutdown = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err) => log.warn('shutdown step failed', { error: err }));
    }
  };

  try {
    // First, so it is shut down (and flushed) last, after the workers stopped.
    const tracing = await startTracingIfConfigured(config, log, opts.workflowBundle !== undefined);
    if (tracing) cleanups.push(tracing.shutdown);
    let metricsUrl: string | undefined;
    if (metricsPort !== undefined) {
      const server = await startMetricsServer({
        host: config.metrics.host,
        port: metricsPort,
        sdkMetricsUrl,
        log,
      });
      cleanups.push(server.close);
      metricsUrl = server.url;
    }
    const db = await openDatabase(config, log);
    cleanups.push(db.close);
    const { sql, defaultTenant } = db;

    const payloadKeys =
      opts.payloadKeys === undefined ? await resolvePayloadKeys(config, log) : opts.payloadKeys;
    const dataConverter = dataConverterFor(payloadKeys);
    let devServer: { address: string; uiUrl: string } | undefined;
    if (!config.temporal.address) {
      const server = await startDevServer(config, log, opts.uiCodecEndpoint);
      cleanups.push(server.stop);
      devServer = server;
    }
    const temporal = temporalTarget(config, devServer);
    const workerConnection = opts.runWorker ? await connectWorkerConnection(temporal) : undefined;
    if (workerConnection) cleanups.push(() => workerConnection.close());
    // Eager start needs the client on the worker's own connection (TEMPORAL_EAGER_START).
    const eagerStart = Boolean(workerConnection && config.temporal.eagerStart);
    const client = await connectClient(
      temporal,
      dataConverter,
      tracing?.clientInterceptors,
      eagerStart ? workerConnection : undefined,
    );
    if (!eagerStart) cleanups.push(() => client.connection.close());
    // Eager runs store in this process's worker: their store steps tell the waiting call (ingest_email).
    const commitNotices = eagerStart ? createCommitNotices<IngestedEmail>() : undefined;
    await ensureSearchAttributes(client, log);

    const workers: Worker[] = [];
    if (workerConnection) {
      const connection = workerConnection;
      const storage = createStorageBackend(config.storage);
      await ensureWorkerBuckets(storage, log, config.files.buckets);
      const created = await createWorkers({
        connection,
        namespace: temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        files: config.files,
        deps: {
          sql,
          commitNotices,
          limits: config.limits,
          importDir: config.mailbox.importDir,
          imap: config.imap,
          webhooks: config.webhooks,
          storage,
          files: config.files,
          ai: config.ai,
          searchPrivacy: config.privacy.searchAttributes,
          operatorTenant: config.retention.operatorTenant,
        },
        dataConverter,
        workflowBundle: opts.workflowBundle,
        tracing: tracing?.worker,
        tuning: config.temporal.worker,
      });
      for (const worker of created) {
        const running = worker.run();
        running.catch((err) => log.error('worker stopped with an error', { error: err }));
        cleanups.push(async () => {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running.catch(() => {});
        });
        workers.push(worker);
      }
      // Events committed wake the endpoints' webhook delivery workflows (app/webhook-waker.ts).
      const waker = await startWebhookWaker({
        sql,
        temporal: {
          client,
          queues: { main: config.temporal.taskQueue, files: config.files.taskQueue },
          startTimeoutMs: config.temporal.startTimeoutMs,
        },
        ...config.events,
        log,
      });
      cleanups.push(waker.stop);
      // After the workers run, so the schedule's first action finds a poller on its queue.
      if (config.retention.schedule.enabled) {
        await applyRetentionSchedule(client, config, log).catch((err: unknown) =>
          log.warn('could not apply the retention schedule; run `npm run schedules` to retry', {
            error: err instanceof Error ? err.message : String(err),
          }),
        );
      }
    }

    return {
      config,
      sql,
      databaseUrl: db.url,
      embeddedDatabase: db.embedded,
      temporal,
      client,
      payloadKeys,
      defaultTenant,
      workers,
      eagerStart,
      commitNotices,
      metricsUrl,
      tracing,
      shutdown,
    };
  } catch (err) {
    await shutdown();
    throw err;
  }
}

/** Dynamically imported, so a process without OTEL_EXPORTER_OTLP_ENDPOINT never loads OpenTelemetry. */
async function startTracingIfConfigured(
  config: Config,
  log: Logger,
  prebuiltBundle: boolean,
): Promise<Tracing | undefined> {
  const { otlpEndpoint, serviceName } = config.tracing;
  if (!otlpEndpoint) return undefined;
  if (prebuiltBundle) {
    log.warn(
      'tracing: a prebuilt workflow bundle carries no tracing interceptors; workflow spans are missing',
    );
  }
  const { startTracing } = await import('../temporal/tracing.js');
  return startTracing({ otlpEndpoint, serviceName }, log);
}

export interface OpenDatabase {
  sql: Sql;
  url: string;
  embedded: boolean;
  defaultTenant: Tenant;
  close(): Promise<void>;
}

/** The database alone, migrated, with the default tenant: for commands that need no Temporal. */
export async function openDatabase(config: Config, log: Logger): Promise<OpenDatabase> {
  let url: string;
  let sql: Sql;
  let stopEmbedded = async () => {};
  if (config.database.kind === 'external') {
    const { prepare, poolMax } = config.database;
    url = config.database.url;
    sql = createDb({ url, prepare, max: poolMax });
  } else {
    log.info('starting embedded PGlite database', { dir: config.database.dir });
    const pg = await startEmbeddedPostgres(config.database.dir);
    url = pg.url;
    sql = createDb({ url, max: pg.poolMax });
    stopEmbedded = pg.stop;
  }
  const close = async () => {
    await sql.end({ timeout: 5 });
    await stopEmbedded();
  };
  try {
    const applied = await migrate(sql);
    if (applied.length > 0) log.info('applied migrations', { versions: applied });
    const defaultTenant = await defaultTenantFor(sql, config.tenant);
    return { sql, url, embedded: config.database.kind === 'embedded', defaultTenant, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function defaultTenantFor(sql: Sql, idOrSlug: string): Promise<Tenant> {
  const found = await findTenant(sql, idOrSlug);
  if (found) return found;
  if (/^[0-9a-f-]{36}$/i.test(idOrSlug)) {
    throw new Error(`DURABLE_INBOX_TENANT: no organization with id ${idOrSlug}`);
  }
  return ensureOrganization(sql, idOrSlug, idOrSlug === 'local' ? 'Local' : idOrSlug);
}

async function startDevServer(config: Config, log: Logger, uiCodecEndpoint: string | undefined) {
  const cliPath = await resolveTemporalCli({ log: (msg) => log.info(msg) });
  log.info('starting Temporal dev server', { cli: cliPath });
  return startTemporalDevServer({
    cliPath,
    dbFilename: path.join(config.dataDir, 'temporal', 'dev-server.db'),
    // 0 means "any free port".
    port: config.temporal.devPort || undefined,
    uiPort: config.temporal.devUiPort || undefined,
    namespace: config.temporal.namespace,
    uiCodecEndpoint,
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword' as const])),
    log: (msg) => log.info(msg),
  });
}

let runtimeInstalled: { sdkMetricsUrl?: string } | undefined;

/**
 * The SDK's runtime, once per process and before any native connection: its log lines (activity and
 * workflow failures among them) go through our logger, so they are redacted like ours (at `info` it
 * prints every bundle, so it only speaks up at warn unless debugging); with metrics, its Prometheus
 * exporter on a loopback port that workers/metrics-server.ts folds into the one /metrics.
 */
async function installRuntime(
  level: Config['logLevel'],
  log: Logger,
  withMetrics: boolean,
): Promise<string | undefined> {
  if (runtimeInstalled) return runtimeInstalled.sdkMetricsUrl;
  const sdkPort = withMetrics ? await freePort('127.0.0.1') : undefined;
  const sdkMetricsUrl = sdkPort ? `http://127.0.0.1:${sdkPort}/metrics` : undefined;
  runtimeInstalled = { sdkMetricsUrl };
  const write = (entry: LogEntry) => {
    // The files and AI queues' workers carry activities only, by design: not worth a warning each.
    if (entry.message.startsWith('No workflows registered')) return;
    const at =
      entry.level === 'ERROR'
        ? 'error'
        : entry.level === 'WARN'
          ? 'warn'
          : entry.level === 'INFO'
            ? 'info'
            : 'debug';
    log[at](entry.message, { sdk: true, ...entry.meta });
  };
  Runtime.install({
    logger: new DefaultLogger(level === 'debug' ? 'DEBUG' : level === 'error' ? 'ERROR' : 'WARN', write),
    ...(sdkPort
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkPort}` } } } }
      : {}),
  });
  return sdkMetricsUrl;
}
