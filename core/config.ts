/**
 * Configuration: every environment variable the product reads, parsed once with zod.
 *
 * Everything is optional; the defaults give the zero-install stack (embedded PGlite, a local Temporal
 * dev server, filesystem storage). An invalid value fails fast with a message that names the variable,
 * because a worker that starts with a half-valid config fails much later and much more confusingly.
 */
import path from 'node:path';
import { z } from 'zod';
import { type AiConfig, PRESETS, PROVIDERS } from './ai-providers.js';
import { type PayloadKey, parseKeyRing } from './payload-keys.js';
import { registerSecrets, secretsOfEnvironment } from './redact.js';
import { parseDuration, type RetentionPolicy } from './retention.js';

const MiB = 1024 * 1024;

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const postgresUrl = z
  .string()
  .trim()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
  .optional()
  .or(z.literal('').transform(() => undefined));

const httpUrl = z
  .url({ protocol: /^https?$/ })
  .optional()
  .or(z.literal('').transform(() => undefined));

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

/**
 * A comma-separated list, each entry trimmed and checked by `item`; empty or unset is `fallback` (default
 * none). Entries are lowercased unless `caseSensitive` (names whose case a rule checks, not folds).
 */
const commaList = (
  item: z.ZodType<string, string>,
  { fallback = '', caseSensitive = false }: { fallback?: string; caseSensitive?: boolean } = {},
) =>
  z
    .string()
    .trim()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((s) => (caseSensitive ? s.trim() : s.trim().toLowerCase()))
        .filter(Boolean),
    )
    .pipe(z.array(item));

/** A DNS name or IP literal as it appears in a Host header, without the port ([::1] for IPv6). */
const hostName = z
  .string()
  .regex(
    /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$/,
    'host names without port, comma-separated, e.g. mcp.example.com,localhost',
  );

/** An origin as browsers send it: http(s)://host[:port], nothing after. */
const origin = z.string().refine((v) => {
  try {
    const url = new URL(v);
    return (
      /^https?:$/.test(url.protocol) && url.pathname === '/' && !url.search && !url.hash && !url.username
    );
  } catch {
    return false;
  }
}, 'origins (scheme://host[:port]), comma-separated, e.g. https://app.example.com');

const taskQueueName = z.string().regex(/^[\w.-]+$/, 'letters, digits, ".", "_" and "-" only');

const positiveInt = z.coerce.number().int().positive();
const port = z.coerce.number().int().min(0).max(65535);
const days = positiveInt.max(36_500);
/** "90s", "5m", "1h", "1d" in milliseconds; `min` in milliseconds too. */
const duration = (min: number) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null || ms < min || ms > 7 * 86_400_000) {
        ctx.addIssue({
          code: 'custom',
          message: `a duration such as 90s, 5m, 1h or 1d, from ${min / 1000}s to 7d`,
        });
        return z.NEVER;
      }
      return ms;
    });

const tenantRef = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$|^[0-9a-f-]{36}$/i, 'must be an organization slug or uuid');
/** PAYLOAD_ENCRYPTION_KEYS: `id:base64key,…`, parsed here so a bad ring fails at start, naming the variable. */
const keyRing = optionalString.transform((v, ctx) => {
  if (v === undefined) return undefined;
  const ring = parseKeyRing(v);
  if ('error' in ring) {
    ctx.addIssue({ code: 'custom', message: ring.error });
    return z.NEVER;
  }
  return ring;
});

const envSchema = z.object({
  DATABASE_URL: postgresUrl,
  SUPABASE_DB_URL: postgresUrl,
  /** Supabase's transaction pooler (port 6543) cannot use prepared statements. */
  DATABASE_PREPARE: bool.optional(),
  DATABASE_POOL_MAX: positiveInt.max(200).default(10),

  SUPABASE_URL: httpUrl,
  SUPABASE_SERVICE_ROLE_KEY: optionalString,
  SUPABASE_JWT_SECRET: optionalString,

  TEMPORAL_ADDRESS: optionalString.pipe(
    z
      .string()
      .regex(/^[^\s/:]+:\d+$/, 'must be host:port, e.g. localhost:7233')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS: bool.optional(),
  /** How long starting a run may take before the caller reads TemporalUnavailable (nothing was started). */
  TEMPORAL_START_TIMEOUT_SECONDS: positiveInt.max(60).default(5),
  /** The same bound for the other calls a tool makes (describe, query, signal, update, a result). */
  TEMPORAL_CALL_TIMEOUT_SECONDS: positiveInt.max(120).default(10),
  TEMPORAL_UI_URL: httpUrl,
  TEMPORAL_TASK_QUEUE: taskQueueName.default('durable-inbox'),
  /**
   * Eager workflow start (issue 15): a process that runs the main queue's worker starts ingestion runs
   * with `requestEagerStart`, so the server hands the first workflow task back in the start's answer
   * instead of through its task queue. The client then shares the worker's native connection, and
   * ingest_email answers from the store step's in-process notice (core/commit-notices.ts). On by default:
   * it skips the server's task dispatch (about 30 ms a task on the dev server) and the update's own task.
   */
  TEMPORAL_EAGER_START: bool.default(true),
  /** Worker tuning of the main queue (unset: the SDK's defaults). */
  TEMPORAL_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).optional(),
  TEMPORAL_WORKFLOW_TASK_POLLERS: positiveInt.max(100).optional(),
  TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS: positiveInt.max(1000).optional(),
  TEMPORAL_STICKY_QUEUE_TIMEOUT_SECONDS: positiveInt.max(600).optional(),
  /**
   * The supervised worker process's memory (workers/worker-launch.ts): V8's heap growth after each full
   * GC (percent; 0 = V8's own, which lets the heap grow up to fourfold) and its young generation's
   * semi-space (MB; 0 = Node's default, 16).
   */
  WORKER_HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(1000).default(20),
  WORKER_MAX_SEMI_SPACE_MB: z.coerce.number().int().min(0).max(256).default(4),
  /** Where the dev server listens when the app starts one (no TEMPORAL_ADDRESS). */
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_DEV_UI_PORT: port.default(8233),

  /** on / off; unset means on, with a generated local key when neither TEMPORAL_ADDRESS nor keys are set. */
  PAYLOAD_ENCRYPTION: bool.optional(),
  PAYLOAD_ENCRYPTION_KEYS: keyRing,
  /** Keyed hashes of EmailFrom, MessageId and ThreadId (HMAC-SHA256): required on a shared Temporal. */
  SEARCH_ATTRIBUTE_HMAC_KEY: optionalString.pipe(
    z.string().min(32, 'at least 32 characters (openssl rand -base64 32)').optional(),
  ),
  /** Clear mail values in search attributes: the local default, off on a shared Temporal unless set. */
  TEMPORAL_CLEAR_SEARCH_ATTRIBUTES: bool.optional(),
  CODEC_SERVER_HOST: z.string().trim().min(1).default('127.0.0.1'),
  CODEC_SERVER_PORT: port.default(8789),
  /** The bearer token of the codec server (generated per `npm start` when unset). */
  CODEC_SERVER_TOKEN: optionalString.pipe(
    z.string().min(16, 'at least 16 characters (openssl rand -hex 24)').optional(),
  ),
  /** Web UI origins allowed to call the codec server, besides TEMPORAL_UI_URL's and Temporal Cloud's. */
  CODEC_SERVER_ALLOWED_ORIGINS: commaList(origin).transform((list) => list.map((o) => new URL(o).origin)),

  /** Prometheus scrape port (SDK and application metrics); unset, nothing listens. */
  METRICS_PORT: port.optional(),
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Label application metrics by tenant: only where the number of tenants is bounded. */
  METRICS_TENANT_LABELS: bool.default(false),
  /** OTLP/HTTP traces endpoint (e.g. http://localhost:4318); unset, no tracing code is loaded. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('durable-inbox'),

  DURABLE_INBOX_DATA_DIR: z.string().trim().min(1).default('.data'),
  /** The tenant the stdio entry acts for: an organization id (uuid) or slug. */
  DURABLE_INBOX_TENANT: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$|^[0-9a-f-]{36}$/i, 'must be an organization slug or uuid')
    .default('local'),

  /** Files that tools read by path (mbox imports, uploads) must be inside this directory. */
  DURABLE_INBOX_IMPORT_DIR: optionalString,
  MAILBOX_CONCURRENCY: positiveInt.max(64).default(4),
  MAILBOX_CHUNK_MESSAGES: positiveInt.max(5000).default(500),
  MAILBOX_SLICE_MESSAGES: positiveInt.max(500).default(100),
  MAX_MAILBOX_UPLOAD_BYTES: positiveInt.max(1024 * MiB).default(64 * MiB),
  /** 32 bytes, base64 or hex: encrypts IMAP credentials at rest (AES-256-GCM). Local default: a key file. */
  MAILBOX_CREDENTIALS_KEY: optionalString.pipe(
    z
      .string()
      .refine((v) => keyBytes(v) !== undefined, 'must be 32 bytes, as 64 hex digits or base64')
      .optional(),
  ),
  /** How often a mailbox whose server has no IDLE (or folders beyond the first) is checked for new mail. */
  MAILBOX_POLL_SECONDS: positiveInt.max(86_400).default(60),
  /** Messages fetched and stored per transaction by the mailbox sync. */
  MAILBOX_SYNC_BATCH: positiveInt.max(1000).default(50),

  MCP_HTTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  MCP_HTTP_PORT: port.default(8787),
  /** How long a `wait: true` tool call waits before returning the handle: below clients' 60 s timeout. */
  MCP_WAIT_SECONDS: positiveInt.max(55).default(40),
  /** Host names (no port) the HTTP entry answers besides localhost: DNS rebinding protection. */
  MCP_ALLOWED_HOSTS: commaList(hostName),
  /** Browser origins (scheme://host[:port]) allowed to call the HTTP entry. */
  MCP_ALLOWED_ORIGINS: commaList(origin).transform((list) => list.map((o) => new URL(o).origin)),
  /** Request-body bytes the HTTP entry buffers at once over all requests; default in loadConfig. */
  MCP_MAX_BODY_BYTES_IN_FLIGHT: positiveInt.optional(),
  /** Streamable HTTP sessions (for subscriptions) held at once; a new one past it gets 503. */
  MCP_MAX_SESSIONS: positiveInt.max(100_000).default(1000),
  /** A session nobody has used (no request, no open stream) for this long is closed. */
  MCP_SESSION_IDLE_SECONDS: positiveInt.max(7 * 86_400).default(1800),
  /** An SSE comment this often keeps idle streams open through proxies. */
  MCP_SSE_KEEPALIVE_SECONDS: positiveInt.max(300).default(15),
  /** Server-to-client messages a session keeps for a client that reconnects with Last-Event-ID. */
  MCP_SESSION_REPLAY_MESSAGES: positiveInt.max(100_000).default(1000),
  /** How often the outbox is read without a notification (the only wake-up on the embedded database). */
  EVENTS_POLL_MS: positiveInt.max(60_000).optional(),

  /** Webhooks to private, loopback and link-local addresses, and plain http: for tests and local use only. */
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  /** One webhook request, connect to last byte (at most 60 s). */
  WEBHOOK_TIMEOUT: duration(1000).default(10_000),
  /** The first wait after a failed attempt (growing fourfold, at most 12 h each), unless Retry-After says. */
  WEBHOOK_RETRY_FIRST: duration(50).default(5000),
  /** Attempts per delivery before its endpoint needs attention (13 with the default first wait: ~3 days). */
  WEBHOOK_MAX_ATTEMPTS: positiveInt.max(100).default(13),
  /** After rotate_webhook_secret, messages are signed with the old secret too for this long. */
  WEBHOOK_SECRET_GRACE: duration(1000).default(86_400_000),
  /** The link in Slack messages, `{emailId}` replaced, e.g. https://inbox.example.com/emails/{emailId}. */
  WEBHOOK_EMAIL_URL_TEMPLATE: optionalString.pipe(
    z
      .string()
      .refine(
        (v) => /^https?:\/\/[^\s]+$/.test(v) && v.includes('{emailId}'),
        'an http(s) URL with {emailId} in it',
      )
      .optional(),
  ),

  MAX_EMAIL_BYTES: positiveInt.max(200 * MiB).default(25 * MiB),
  MAX_ATTACHMENTS: positiveInt.max(10_000).default(100),
  MAX_HEADER_BYTES: positiveInt.max(16 * MiB).default(1 * MiB),
  MAX_MIME_DEPTH: positiveInt.max(256).default(50),

  /** Uploads run on their own task queue so a burst of big files cannot starve parsing and database work. */
  TEMPORAL_FILES_TASK_QUEUE: taskQueueName.default('files'),
  /** Concurrent uploads per worker process: each holds one 6 MB chunk and one connection. */
  FILES_WORKER_CONCURRENCY: positiveInt.max(64).default(4),
  MAX_UPLOAD_BYTES: positiveInt.max(50 * 1024 * MiB).default(1024 * MiB),
  /**
   * Buckets `upload_file` may write to, besides the workers' own (`attachments`, `raw-messages`): each
   * worker creates them at start. Any other bucket is NoSuchBucket; no upload creates one.
   */
  STORAGE_BUCKETS: commaList(
    z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'bucket names are 1-63 of a-z, 0-9, "_" and "-"'),
    { fallback: 'uploads', caseSensitive: true },
  ),
  /** Largest `content` (base64) upload: it crosses the MCP transport and is staged in Postgres. */
  MAX_INLINE_UPLOAD_BYTES: positiveInt.max(100 * MiB).default(20 * MiB),

  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),

  /** Inbound SMTP: off unless a port is set (0: any free port). */
  SMTP_INBOUND_PORT: z
    .literal('')
    .transform(() => undefined)
    .or(port.optional()),
  SMTP_INBOUND_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** The name the listener greets with (220 <name> ESMTP); default: the machine's host name. */
  SMTP_INBOUND_HOSTNAME: optionalString,
  /** PEM files; both set: STARTTLS is offered. */
  SMTP_TLS_CERT: optionalString,
  SMTP_TLS_KEY: optionalString,
  /** Both set: AUTH PLAIN/LOGIN is offered (over TLS, or on a loopback listener). */
  SMTP_AUTH_USERNAME: optionalString,
  SMTP_AUTH_PASSWORD: optionalString,
  /** Refuse MAIL FROM (530) until the client authenticated: a submission port, not an MX. */
  SMTP_AUTH_REQUIRED: bool.default(false),
  SMTP_MAX_CLIENTS: positiveInt.max(10_000).default(100),
  /** `*@<slug>.localhost` reaches organization <slug> without an inbound_addresses row; default on loopback listeners. */
  INBOUND_LOCALHOST_DOMAINS: bool.optional(),
  /** How often accepted mail whose run never started is looked for (and started). */
  INBOUND_RECOVERY_SECONDS: positiveInt.max(3600).default(30),
  /** Largest inbound webhook body; default 3 × MAX_EMAIL_BYTES + 1 MiB (Postmark's JSON carries the message twice). */
  INBOUND_MAX_BODY_BYTES: positiveInt.max(1024 * MiB).optional(),
  /** Mailgun: the HTTP webhook signing key (Settings → Webhooks); set, POST /inbound/mailgun is on. */
  MAILGUN_WEBHOOK_SIGNING_KEY: optionalString,
  MAILGUN_INBOUND_TENANT: optionalString.pipe(tenantRef.optional()),
  /** Postmark: the basic-auth credentials in the inbound webhook URL; set, POST /inbound/postmark is on. */
  POSTMARK_INBOUND_USERNAME: optionalString,
  POSTMARK_INBOUND_PASSWORD: optionalString,
  POSTMARK_INBOUND_TENANT: optionalString.pipe(tenantRef.optional()),
  /** SendGrid Inbound Parse: the signed-webhook public key (base64 DER or PEM); set, POST /inbound/sendgrid is on. */
  SENDGRID_INBOUND_PUBLIC_KEY: optionalString,
  /** Serve /inbound/sendgrid without a signature: anyone who knows the URL can deliver mail. */
  SENDGRID_INBOUND_UNSIGNED: bool.default(false),
  SENDGRID_INBOUND_TENANT: optionalString.pipe(tenantRef.optional()),

  /** Which analyser serves requests that name none: the heuristic unless an API key is set. */
  AI_PROVIDER: z
    .enum(PROVIDERS)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  AI_BASE_URL: httpUrl,
  AI_API_KEY: optionalString,
  AI_MODEL: optionalString,
  /** Override the preset: `json_schema` (structured output) or `json_object` (JSON mode + validation). */
  AI_RESPONSE_FORMAT: z
    .enum(['json_schema', 'json_object'])
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Provider calls per second on the provider's task queue (Temporal enforces it across workers). */
  AI_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().max(1000).default(5),
  AI_MAX_CONCURRENCY: positiveInt.max(200).default(4),
  AI_TIMEOUT_SECONDS: positiveInt.max(600).default(60),
  AI_MAX_INPUT_TOKENS: positiveInt.min(200).max(1_000_000).default(6000),
  AI_ANALYSIS_ON_INGEST: bool.default(true),
  TEMPORAL_AI_TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[\w.-]*$/, 'letters, digits, ".", "_" and "-" only')
    .default('ai-'),

  /**
   * Organizations (slugs or ids, comma-separated) whose owners and admins change the global default
   * prompts (every organization's admins change their own organization's prompts). Unset, the operator
   * organization does: RETENTION_OPERATOR_TENANT, by default DURABLE_INBOX_TENANT.
   */
  PROMPT_ADMIN_ORGS: z
    .string()
    .trim()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{0,62}$|^[0-9a-f-]{36}$/i, 'organization slugs or ids, comma-separated'),
      ),
    ),
  /** Default bake time of a prompt-rollout stage. */
  PROMPT_ROLLOUT_BAKE_SECONDS: positiveInt.max(30 * 86_400).default(3600),
  /** How often a baking rollout reads its metrics. */
  PROMPT_ROLLOUT_POLL_SECONDS: positiveInt.max(3600).default(30),
  /** The retention schedule: created or updated when a worker starts; off in tests unless a test wants it. */
  RETENTION_SCHEDULE_ENABLED: bool.default(true),
  RETENTION_SCHEDULE_ID: z
    .string()
    .regex(/^[\w.-]{1,200}$/, 'letters, digits, ".", "_" and "-" only')
    .default('retention-rollup'),
  RETENTION_SCHEDULE_EVERY: duration(1000).default(3_600_000),
  /** After the hour, so the hour that just ended is complete (plus RETENTION_ROLLUP_GRACE_SECONDS). */
  RETENTION_SCHEDULE_OFFSET: duration(0).default(300_000),
  RETENTION_RAW_DAYS: days.default(7),
  RETENTION_HOURLY_DAYS: days.default(90),
  RETENTION_DAILY_DAYS: days.default(730),
  RETENTION_INGEST_FAILURES_DAYS: days.default(30),
  /** Staged bytes (the claim check) are for running workflows; a week is far beyond any of them. */
  RETENTION_STAGED_CONTENT_DAYS: days.default(7),
  RETENTION_MAILBOX_LEDGER_DAYS: days.default(30),
  RETENTION_FILE_JOBS_DAYS: days.default(30),
  /** Outbox events (and, on plain Postgres, the compat realtime.messages rows). */
  RETENTION_EVENTS_DAYS: days.default(30),
  /** Inbound mail's ledger (SMTP, webhooks) once its run started: who sent what, when, from where. */
  RETENTION_INBOUND_DAYS: days.default(30),
  /** Mailgun webhook tokens remembered against replays (a token is accepted for 2 minutes only). */
  RETENTION_WEBHOOK_TOKENS_DAYS: days.default(1),
  /** Rows per purge statement: small enough that no statement holds locks for long. */
  RETENTION_BATCH_SIZE: positiveInt.max(100_000).default(1000),
  /** An hour is rolled up this long after it ends, so late metric writes still land in it. */
  RETENTION_ROLLUP_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(120),
  /** A file claimed (uploaded or deduplicated) this recently is never deleted: its owner may be linking it. */
  RETENTION_FILE_GRACE_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
  /** The organization whose owners and admins may steer the schedule and run retention for everyone. */
  RETENTION_OPERATOR_TENANT: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$|^[0-9a-f-]{36}$/i, 'must be an organization slug or uuid')
      .optional(),
  ),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env;
  /** Absolute path of the data dir (embedded database, storage, dev-server state). */
  dataDir: string;
  database:
    | { kind: 'external'; url: string; prepare: boolean; poolMax: number }
    | { kind: 'embedded'; dir: string };
  temporal: {
    address?: string;
    namespace: string;
    taskQueue: string;
    apiKey?: string;
    tls: boolean;
    /** TEMPORAL_START_TIMEOUT_SECONDS, in ms. */
    startTimeoutMs: number;
    /** TEMPORAL_CALL_TIMEOUT_SECONDS, in ms. */
    callTimeoutMs: number;
    /** TEMPORAL_EAGER_START: only where this process runs the main queue's worker. */
    eagerStart: boolean;
    /** The main queue's worker tuning; undefined fields keep the SDK's defaults. */
    worker: {
      maxCachedWorkflows?: number;
      workflowTaskPollers?: number;
      maxConcurrentWorkflowTasks?: number;
      stickyQueueTimeoutMs?: number;
    };
    /** The supervised worker process's V8 settings (WORKER_HEAP_GROWING_PERCENT, WORKER_MAX_SEMI_SPACE_MB). */
    workerMemory: { heapGrowingPercent: number; maxSemiSpaceMb: number };
    uiUrl?: string;
    devPort: number;
    devUiPort: number;
  };
  mcp: McpHttpConfig;
  /** The outbox readers (supabase/event-listener.ts). */
  events: { pollMs: number; notify: boolean };
  limits: { maxEmailBytes: number; maxAttachments: number; maxHeaderBytes: number; maxMimeDepth: number };
  files: {
    taskQueue: string;
    concurrency: number;
    importDir: string;
    maxUploadBytes: number;
    maxInlineBytes: number;
    /** STORAGE_BUCKETS: created at start with the workers' own. */
    buckets: string[];
  };
  /** Supabase Storage when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set, else directories. */
  storage: { kind: 'filesystem'; root: string } | { kind: 'supabase'; url: string; serviceRoleKey: string };
  supabase: { url?: string; serviceRoleKey?: string; jwtSecret?: string };
  mailbox: {
    importDir: string;
    concurrency: number;
    chunkMessages: number;
    sliceMessages: number;
    maxUploadBytes: number;
  };
  /** Outgoing webhooks (app/webhooks.ts, activities/webhook-activities.ts); secrets use the imap key. */
  webhooks: WebhookConfig;
  /** IMAP mailboxes: the credentials key (undefined: none configured and not the local default). */
  imap: { credentialsKey?: Uint8Array; keyFile?: string; pollSeconds: number; batchSize: number };
  tenant: string;
  logLevel: Env['LOG_LEVEL'];
  ai: AiConfig;
  /** Prompt rollouts: who may change prompts, and the defaults of start_prompt_rollout. */
  rollouts: { adminOrgs: string[]; bakeSeconds: number; pollSeconds: number };
  retention: RetentionConfig;
  inbound: InboundConfig;
  privacy: PrivacyConfig;
  codecServer: { host: string; port: number; token?: string; allowedOrigins: string[] };
  metrics: { port?: number; host: string; tenantLabels: boolean };
  tracing: { otlpEndpoint?: string; serviceName: string };
}

export interface WebhookConfig {
  allowPrivate: boolean;
  timeoutMs: number;
  /** Response bytes read (and kept, cut to 500 characters) of a receiver's answer. */
  maxResponseBytes: number;
  retryFirstMs: number;
  maxAttempts: number;
  secretGraceMs: number;
  emailUrlTemplate?: string;
}

/** Mail that arrives by itself: the SMTP listener and the inbound-parse webhooks (app/inbound.ts). */
export interface InboundConfig {
  /** `*@<slug>.localhost` routes to organization <slug> without a row. */
  localhostDomains: boolean;
  recoveryEveryMs: number;
  /** An accepted message whose run has not started this long after is started by the sweep. */
  recoveryGraceMs: number;
  maxBodyBytes: number;
  smtp?: {
    host: string;
    port: number;
    hostname?: string;
    tls?: { certPath: string; keyPath: string };
    auth?: { username: string; password: string; required: boolean };
    maxClients: number;
  };
  mailgun?: { signingKey: string; tenant?: string };
  postmark?: { username: string; password: string; tenant?: string };
  sendgrid?: { publicKey?: string; tenant?: string };
}

/**
 * What Temporal may see. `encryption`: `keys` from PAYLOAD_ENCRYPTION_KEYS, `local` (a key generated into
 * the data dir: the zero-config local stack), or `off` (asked for, and warned about). `searchAttributes`:
 * mail values in clear, or keyed hashes under `hmacKey`.
 */
export interface PrivacyConfig {
  encryption: { mode: 'keys'; keys: PayloadKey[] } | { mode: 'local' } | { mode: 'off' };
  searchAttributes: { clear: true } | { clear: false; hmacKey: string };
}

export interface McpHttpConfig {
  host: string;
  port: number;
  waitMs: number;
  /** Host names (lowercase, no port) accepted besides the loopback names a loopback listener accepts. */
  allowedHosts: string[];
  /** Origins (scheme://host[:port]) accepted besides localhost ones on a loopback listener. */
  allowedOrigins: string[];
  /** Largest request body: the largest tool payload, base64, plus the JSON-RPC envelope. */
  maxBodyBytes: number;
  /** Request-body bytes buffered at once over all requests of the process. */
  maxBodyBytesInFlight: number;
  sessions: { max: number; idleMs: number; keepAliveMs: number; replayMessages: number };
}

export interface RetentionConfig {
  schedule: { enabled: boolean; id: string; everyMs: number; offsetMs: number };
  policy: RetentionPolicy;
  /** Organization (slug or id) whose owners and admins operate retention for all tenants. */
  operatorTenant: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse the environment. Throws a ConfigError naming every bad variable. */
export function loadConfig(
  source: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = source[name];
      const shown = got === undefined || isSecret(name) ? '' : ` (got ${JSON.stringify(truncate(got))})`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const env = parsed.data;
  // Whatever is configured as a secret is never printed (logs, failures, tool results): core/redact.ts.
  registerSecrets(secretsOfEnvironment(source));
  const ai = aiConfig(env);
  const dataDir = path.resolve(cwd, env.DURABLE_INBOX_DATA_DIR);
  const dbUrl = env.DATABASE_URL ?? env.SUPABASE_DB_URL;
  // Tools read files by path only from here (mbox imports, file uploads).
  const importDir = path.resolve(cwd, env.DURABLE_INBOX_IMPORT_DIR ?? path.join(dataDir, 'import'));
  return {
    env,
    dataDir,
    database: dbUrl
      ? {
          kind: 'external',
          url: dbUrl,
          // Supabase's transaction pooler listens on 6543 and rejects prepared statements.
          prepare: env.DATABASE_PREPARE ?? !/:6543(\/|$)/.test(dbUrl),
          poolMax: env.DATABASE_POOL_MAX,
        }
      : { kind: 'embedded', dir: path.join(dataDir, 'pglite') },
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      apiKey: env.TEMPORAL_API_KEY,
      tls: env.TEMPORAL_TLS ?? Boolean(env.TEMPORAL_API_KEY),
      startTimeoutMs: env.TEMPORAL_START_TIMEOUT_SECONDS * 1000,
      callTimeoutMs: env.TEMPORAL_CALL_TIMEOUT_SECONDS * 1000,
      eagerStart: env.TEMPORAL_EAGER_START,
      worker: {
        maxCachedWorkflows: env.TEMPORAL_MAX_CACHED_WORKFLOWS,
        workflowTaskPollers: env.TEMPORAL_WORKFLOW_TASK_POLLERS,
        maxConcurrentWorkflowTasks: env.TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS,
        stickyQueueTimeoutMs:
          env.TEMPORAL_STICKY_QUEUE_TIMEOUT_SECONDS === undefined
            ? undefined
            : env.TEMPORAL_STICKY_QUEUE_TIMEOUT_SECONDS * 1000,
      },
      workerMemory: {
        heapGrowingPercent: env.WORKER_HEAP_GROWING_PERCENT,
        maxSemiSpaceMb: env.WORKER_MAX_SEMI_SPACE_MB,
      },
      uiUrl: env.TEMPORAL_UI_URL,
      devPort: env.TEMPORAL_DEV_PORT,
      devUiPort: env.TEMPORAL_DEV_UI_PORT,
    },
    mcp: mcpConfig(env),
    // LISTEN/NOTIFY wakes readers on a real Postgres (the poll is a safety net); the embedded database
    // serves one connection, so there the poll is the wake-up.
    events: { pollMs: env.EVENTS_POLL_MS ?? (dbUrl ? 2000 : 200), notify: Boolean(dbUrl) },
    limits: {
      maxEmailBytes: env.MAX_EMAIL_BYTES,
      maxAttachments: env.MAX_ATTACHMENTS,
      maxHeaderBytes: env.MAX_HEADER_BYTES,
      maxMimeDepth: env.MAX_MIME_DEPTH,
    },
    mailbox: {
      importDir,
      concurrency: env.MAILBOX_CONCURRENCY,
      chunkMessages: env.MAILBOX_CHUNK_MESSAGES,
      sliceMessages: env.MAILBOX_SLICE_MESSAGES,
      maxUploadBytes: env.MAX_MAILBOX_UPLOAD_BYTES,
    },
    webhooks: {
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: Math.min(env.WEBHOOK_TIMEOUT, 60_000),
      maxResponseBytes: 64 * 1024,
      retryFirstMs: env.WEBHOOK_RETRY_FIRST,
      maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
      secretGraceMs: env.WEBHOOK_SECRET_GRACE,
      emailUrlTemplate: env.WEBHOOK_EMAIL_URL_TEMPLATE,
    },
    imap: {
      credentialsKey: env.MAILBOX_CREDENTIALS_KEY ? keyBytes(env.MAILBOX_CREDENTIALS_KEY) : undefined,
      // The local default (embedded database, nothing configured): a key file of its own in the data dir.
      keyFile: dbUrl ? undefined : path.join(dataDir, 'mailbox-credentials.key'),
      pollSeconds: env.MAILBOX_POLL_SECONDS,
      batchSize: env.MAILBOX_SYNC_BATCH,
    },
    files: {
      taskQueue: env.TEMPORAL_FILES_TASK_QUEUE,
      concurrency: env.FILES_WORKER_CONCURRENCY,
      importDir,
      maxUploadBytes: env.MAX_UPLOAD_BYTES,
      maxInlineBytes: Math.min(env.MAX_INLINE_UPLOAD_BYTES, env.MAX_UPLOAD_BYTES),
      buckets: env.STORAGE_BUCKETS,
    },
    storage:
      env.SUPABASE_URL && env.SUPABASE_SERVICE_ROLE_KEY
        ? { kind: 'supabase', url: env.SUPABASE_URL, serviceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY }
        : { kind: 'filesystem', root: path.join(dataDir, 'storage') },
    supabase: {
      url: env.SUPABASE_URL,
      serviceRoleKey: env.SUPABASE_SERVICE_ROLE_KEY,
      jwtSecret: env.SUPABASE_JWT_SECRET,
    },
    tenant: env.DURABLE_INBOX_TENANT,
    logLevel: env.LOG_LEVEL,
    ai,
    rollouts: {
      adminOrgs: env.PROMPT_ADMIN_ORGS,
      bakeSeconds: env.PROMPT_ROLLOUT_BAKE_SECONDS,
      pollSeconds: env.PROMPT_ROLLOUT_POLL_SECONDS,
    },
    retention: retentionConfig(env),
    inbound: inboundConfig(env),
    privacy: privacyConfig(env),
    codecServer: {
      host: env.CODEC_SERVER_HOST,
      port: env.CODEC_SERVER_PORT,
      token: env.CODEC_SERVER_TOKEN,
      allowedOrigins: env.CODEC_SERVER_ALLOWED_ORIGINS,
    },
    metrics: { port: env.METRICS_PORT, host: env.METRICS_HOST, tenantLabels: env.METRICS_TENANT_LABELS },
    tracing: { otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: env.OTEL_SERVICE_NAME },
  };
}

function bothOrNeither(env: Env, a: keyof Env, b: keyof Env): boolean {
  if (Boolean(env[a]) !== Boolean(env[b])) {
    throw new ConfigError(`Invalid configuration: ${env[a] ? b : a}: required when ${env[a] ? a : b} is set`);
  }
  return Boolean(env[a]);
}

function inboundConfig(env: Env): InboundConfig {
  const tls = bothOrNeither(env, 'SMTP_TLS_CERT', 'SMTP_TLS_KEY');
  const auth = bothOrNeither(env, 'SMTP_AUTH_USERNAME', 'SMTP_AUTH_PASSWORD');
  if (env.SMTP_AUTH_REQUIRED && !auth) {
    throw new ConfigError(
      'Invalid configuration: SMTP_AUTH_REQUIRED: needs SMTP_AUTH_USERNAME and SMTP_AUTH_PASSWORD',
    );
  }
  const postmark = bothOrNeither(env, 'POSTMARK_INBOUND_USERNAME', 'POSTMARK_INBOUND_PASSWORD');
  const local = isLoopbackHost(env.SMTP_INBOUND_HOST) && isLoopbackHost(env.MCP_HTTP_HOST);
  return {
    localhostDomains: env.INBOUND_LOCALHOST_DOMAINS ?? local,
    recoveryEveryMs: env.INBOUND_RECOVERY_SECONDS * 1000,
    recoveryGraceMs: Math.max(10_000, 2 * env.TEMPORAL_START_TIMEOUT_SECONDS * 1000),
    maxBodyBytes: env.INBOUND_MAX_BODY_BYTES ?? 3 * env.MAX_EMAIL_BYTES + MiB,
    smtp:
      env.SMTP_INBOUND_PORT === undefined
        ? undefined
        : {
            host: env.SMTP_INBOUND_HOST,
            port: env.SMTP_INBOUND_PORT,
            hostname: env.SMTP_INBOUND_HOSTNAME,
            tls: tls ? { certPath: env.SMTP_TLS_CERT!, keyPath: env.SMTP_TLS_KEY! } : undefined,
            auth: auth
              ? {
                  username: env.SMTP_AUTH_USERNAME!,
                  password: env.SMTP_AUTH_PASSWORD!,
                  required: env.SMTP_AUTH_REQUIRED,
                }
              : undefined,
            maxClients: env.SMTP_MAX_CLIENTS,
          },
    mailgun: env.MAILGUN_WEBHOOK_SIGNING_KEY
      ? { signingKey: env.MAILGUN_WEBHOOK_SIGNING_KEY, tenant: env.MAILGUN_INBOUND_TENANT }
      : undefined,
    postmark: postmark
      ? {
          username: env.POSTMARK_INBOUND_USERNAME!,
          password: env.POSTMARK_INBOUND_PASSWORD!,
          tenant: env.POSTMARK_INBOUND_TENANT,
        }
      : undefined,
    sendgrid:
      env.SENDGRID_INBOUND_PUBLIC_KEY || env.SENDGRID_INBOUND_UNSIGNED
        ? { publicKey: env.SENDGRID_INBOUND_PUBLIC_KEY, tenant: env.SENDGRID_INBOUND_TENANT }
        : undefined,
  };
}

/**
 * On a shared Temporal (TEMPORAL_ADDRESS) payloads are encrypted and search attributes carry no mail
 * values unless the operator says otherwise; locally, a generated key and clear search attributes.
 */
function privacyConfig(env: Env): PrivacyConfig {
  const shared = Boolean(env.TEMPORAL_ADDRESS);
  const problems: string[] = [];
  let encryption: PrivacyConfig['encryption'];
  if (env.PAYLOAD_ENCRYPTION === false) encryption = { mode: 'off' };
  else if (env.PAYLOAD_ENCRYPTION_KEYS) {
    // Each key alone is a secret too, wherever it might appear without its ring.
    registerSecrets(env.PAYLOAD_ENCRYPTION_KEYS.map((k) => k.key.toString('base64')));
    encryption = { mode: 'keys', keys: env.PAYLOAD_ENCRYPTION_KEYS };
  } else if (!shared) encryption = { mode: 'local' };
  else {
    problems.push(
      'PAYLOAD_ENCRYPTION_KEYS: required when TEMPORAL_ADDRESS is set (payloads are encrypted on a shared Temporal): id:base64key, e.g. k1:$(openssl rand -base64 32); or PAYLOAD_ENCRYPTION=off',
    );
    encryption = { mode: 'off' };
  }
  const hmacKey = env.SEARCH_ATTRIBUTE_HMAC_KEY;
  const clear = env.TEMPORAL_CLEAR_SEARCH_ATTRIBUTES ?? (!shared && !hmacKey);
  if (!clear && !hmacKey) {
    problems.push(
      `SEARCH_ATTRIBUTE_HMAC_KEY: required when ${shared ? 'TEMPORAL_ADDRESS is set' : 'TEMPORAL_CLEAR_SEARCH_ATTRIBUTES=false'} (EmailFrom, MessageId and ThreadId are keyed hashes): e.g. $(openssl rand -base64 32); or TEMPORAL_CLEAR_SEARCH_ATTRIBUTES=true`,
    );
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return {
    encryption,
    searchAttributes: clear ? { clear: true } : { clear: false, hmacKey: hmacKey! },
  };
}

/** 127.0.0.0/8, ::1 and localhost: a listener only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function mcpConfig(env: Env): McpHttpConfig {
  if (!isLoopbackHost(env.MCP_HTTP_HOST) && env.MCP_ALLOWED_HOSTS.length === 0) {
    // Reachable from elsewhere: which Host names are legitimate is a deployment fact, so it must be said.
    throw new ConfigError(
      `Invalid configuration: MCP_ALLOWED_HOSTS: required when MCP_HTTP_HOST is not a loopback address (got ${JSON.stringify(env.MCP_HTTP_HOST)}): list the host names clients use, e.g. mcp.example.com,localhost`,
    );
  }
  // Every tool payload that crosses the transport is base64 (or text) in JSON: an inline upload, a raw
  // message, an uploaded mbox. 1.4 covers base64's 4/3 and escaping; 64 KiB is the JSON-RPC envelope.
  const largestPayload = Math.max(
    env.MAX_EMAIL_BYTES,
    Math.min(env.MAX_INLINE_UPLOAD_BYTES, env.MAX_UPLOAD_BYTES),
    env.MAX_MAILBOX_UPLOAD_BYTES,
  );
  const maxBodyBytes = Math.ceil(largestPayload * 1.4) + 64 * 1024;
  const maxBodyBytesInFlight = env.MCP_MAX_BODY_BYTES_IN_FLIGHT ?? Math.max(256 * MiB, 2 * maxBodyBytes);
  if (maxBodyBytesInFlight < maxBodyBytes) {
    throw new ConfigError(
      `Invalid configuration: MCP_MAX_BODY_BYTES_IN_FLIGHT: must be at least the largest request body, ${maxBodyBytes} bytes (from MAX_MAILBOX_UPLOAD_BYTES, MAX_EMAIL_BYTES and MAX_INLINE_UPLOAD_BYTES) (got ${maxBodyBytesInFlight})`,
    );
  }
  return {
    host: env.MCP_HTTP_HOST,
    port: env.MCP_HTTP_PORT,
    waitMs: env.MCP_WAIT_SECONDS * 1000,
    allowedHosts: env.MCP_ALLOWED_HOSTS,
    allowedOrigins: env.MCP_ALLOWED_ORIGINS,
    maxBodyBytes,
    maxBodyBytesInFlight,
    sessions: {
      max: env.MCP_MAX_SESSIONS,
      idleMs: env.MCP_SESSION_IDLE_SECONDS * 1000,
      keepAliveMs: env.MCP_SSE_KEEPALIVE_SECONDS * 1000,
      replayMessages: env.MCP_SESSION_REPLAY_MESSAGES,
    },
  };
}

function retentionConfig(env: Env): RetentionConfig {
  if (env.RETENTION_SCHEDULE_OFFSET >= env.RETENTION_SCHEDULE_EVERY) {
    throw new ConfigError(
      'Invalid configuration: RETENTION_SCHEDULE_OFFSET: must be shorter than RETENTION_SCHEDULE_EVERY',
    );
  }
  return {
    schedule: {
      enabled: env.RETENTION_SCHEDULE_ENABLED,
      id: env.RETENTION_SCHEDULE_ID,
      everyMs: env.RETENTION_SCHEDULE_EVERY,
      offsetMs: env.RETENTION_SCHEDULE_OFFSET,
    },
    policy: {
      rawDays: env.RETENTION_RAW_DAYS,
      hourlyDays: env.RETENTION_HOURLY_DAYS,
      dailyDays: env.RETENTION_DAILY_DAYS,
      ingestFailuresDays: env.RETENTION_INGEST_FAILURES_DAYS,
      stagedContentDays: env.RETENTION_STAGED_CONTENT_DAYS,
      mailboxLedgerDays: env.RETENTION_MAILBOX_LEDGER_DAYS,
      fileJobsDays: env.RETENTION_FILE_JOBS_DAYS,
      eventsDays: env.RETENTION_EVENTS_DAYS,
      inboundDays: env.RETENTION_INBOUND_DAYS,
      webhookTokensDays: env.RETENTION_WEBHOOK_TOKENS_DAYS,
      batchSize: env.RETENTION_BATCH_SIZE,
      graceSeconds: env.RETENTION_ROLLUP_GRACE_SECONDS,
      fileGraceMinutes: env.RETENTION_FILE_GRACE_MINUTES,
      // A run started by the schedule at T rolls up again the hours since the previous action, so a
      // backfill over a past range re-creates exactly that range's windows.
      rerollHours: Math.max(1, Math.ceil(env.RETENTION_SCHEDULE_EVERY / 3_600_000)),
    },
    operatorTenant: env.RETENTION_OPERATOR_TENANT ?? env.DURABLE_INBOX_TENANT,
  };
}

/** The AI settings; an LLM provider without what it needs stops the app, naming the variable. */
function aiConfig(env: Env): AiConfig {
  const provider =
    env.AI_PROVIDER ?? (env.AI_API_KEY ? (env.AI_BASE_URL ? 'openai-compatible' : 'openai') : 'heuristic');
  const common = {
    defaultProvider: provider,
    analyseOnIngest: env.AI_ANALYSIS_ON_INGEST,
    taskQueuePrefix: env.TEMPORAL_AI_TASK_QUEUE_PREFIX,
  };
  if (provider === 'heuristic') return common;
  const preset = PRESETS[provider];
  const missing = [
    !env.AI_API_KEY && 'AI_API_KEY',
    !(env.AI_BASE_URL ?? preset.baseURL) && 'AI_BASE_URL',
    !(env.AI_MODEL ?? preset.defaultModel) && 'AI_MODEL',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new ConfigError(
      `Invalid configuration: ${missing.map((name) => `${name}: required when AI_PROVIDER is ${provider}`).join('; ')}`,
    );
  }
  return {
    ...common,
    llm: {
      provider,
      baseURL: (env.AI_BASE_URL ?? preset.baseURL)!,
      apiKey: env.AI_API_KEY!,
      model: (env.AI_MODEL ?? preset.defaultModel)!,
      responseFormat: env.AI_RESPONSE_FORMAT ?? preset.responseFormat,
      pricePerMillion: preset.pricePerMillion,
      ratePerSecond: env.AI_RATE_LIMIT_PER_SECOND,
      maxConcurrency: env.AI_MAX_CONCURRENCY,
      timeoutMs: env.AI_TIMEOUT_SECONDS * 1000,
      maxInputTokens: env.AI_MAX_INPUT_TOKENS,
    },
  };
}

/** A 32-byte key written as 64 hex digits or as base64; undefined when it is neither. */
export function keyBytes(text: string): Uint8Array | undefined {
  const bytes = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  return bytes.length === 32 ? new Uint8Array(bytes) : undefined;
}

function isSecret(name: string): boolean {
  return /KEY|SECRET|PASSWORD|TOKEN|URL/.test(name);
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
