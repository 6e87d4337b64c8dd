/**
 * Application metrics (Prometheus, prom-client), on one registry that the metrics endpoint serves next
 * to the Temporal SDK's own (workers/metrics-server.ts). Recording is cheap and safe anywhere (no I/O);
 * nothing is exposed unless METRICS_PORT is set.
 *
 * Cardinality is bounded by construction: labels are providers, outcomes, error types, sources, buckets,
 * tables and arms, never ids. Tenants appear only with METRICS_TENANT_LABELS=true (for a deployment
 * whose number of tenants is bounded); otherwise the `tenant` label is `all`.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'durable_inbox_' });

let tenantLabels = false;

export function configureMetrics(options: { tenantLabels: boolean }): void {
  tenantLabels = options.tenantLabels;
}

/** The value of the `tenant` label: the tenant only when the setting allows it. */
export function tenantLabel(tenantId: string | undefined): string {
  return tenantLabels && tenantId ? tenantId : 'all';
}

const emailsIngested = new Counter({
  name: 'durable_inbox_emails_ingested_total',
  help: 'Emails accepted for ingestion (a run started or joined), by source',
  labelNames: ['source', 'tenant'] as const,
  registers: [metricsRegistry],
});
const emailsRefused = new Counter({
  name: 'durable_inbox_emails_refused_total',
  help: 'Emails refused before ingestion, by source and error type',
  labelNames: ['source', 'type', 'tenant'] as const,
  registers: [metricsRegistry],
});
const analysisCalls = new Counter({
  name: 'durable_inbox_analysis_calls_total',
  help: 'Analysis calls (heuristic or provider), by provider and outcome (ok or the error type)',
  labelNames: ['provider', 'outcome', 'tenant'] as const,
  registers: [metricsRegistry],
});
const analysisSeconds = new Histogram({
  name: 'durable_inbox_analysis_call_duration_seconds',
  help: 'Duration of analysis calls, by provider and outcome',
  labelNames: ['provider', 'outcome'] as const,
  buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [metricsRegistry],
});
const rolloutCalls = new Counter({
  name: 'durable_inbox_rollout_arm_calls_total',
  help: 'Analysis calls by prompt-rollout arm (baseline, or the candidate of a running rollout)',
  labelNames: ['provider', 'arm'] as const,
  registers: [metricsRegistry],
});
const rateLimitWaits = new Counter({
  name: 'durable_inbox_provider_rate_limit_waits_total',
  help: 'Provider calls that waited for the rate limit, by provider',
  labelNames: ['provider'] as const,
  registers: [metricsRegistry],
});
const rateLimitWaitSeconds = new Counter({
  name: 'durable_inbox_provider_rate_limit_wait_seconds_total',
  help: 'Seconds provider calls waited for the rate limit, by provider',
  labelNames: ['provider'] as const,
  registers: [metricsRegistry],
});
const uploadBytes = new Counter({
  name: 'durable_inbox_upload_bytes_total',
  help: 'Bytes uploaded to storage, by bucket',
  labelNames: ['bucket', 'tenant'] as const,
  registers: [metricsRegistry],
});
const uploadFailures = new Counter({
  name: 'durable_inbox_upload_failures_total',
  help: 'Failed upload attempts, by bucket and error type',
  labelNames: ['bucket', 'type'] as const,
  registers: [metricsRegistry],
});
const retentionPurged = new Counter({
  name: 'durable_inbox_retention_rows_purged_total',
  help: 'Rows deleted by retention, by table',
  labelNames: ['table'] as const,
  registers: [metricsRegistry],
});

const rolloutStages = new Counter({
  name: 'durable_inbox_rollout_stage_changes_total',
  help: 'Prompt-rollout stage changes, by the traffic percent moved to (paused when a pause)',
  labelNames: ['percent', 'paused'] as const,
  registers: [metricsRegistry],
});
const rolloutGates = new Counter({
  name: 'durable_inbox_rollout_gate_evaluations_total',
  help: 'Prompt-rollout stage gate evaluations, by result',
  labelNames: ['passed'] as const,
  registers: [metricsRegistry],
});
const rolloutsFinished = new Counter({
  name: 'durable_inbox_rollouts_finished_total',
  help: 'Prompt rollouts closed, by outcome (completed, rolled_back, aborted)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});
const mailboxSyncLag = new Histogram({
  name: 'durable_inbox_mailbox_sync_lag_seconds',
  help: 'IMAP: from the server receiving new mail (INTERNALDATE) to its email committed here (initial sync excluded)',
  buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
  registers: [metricsRegistry],
});

/** Where a message came from (a bounded label). */
const webhookAttempts = new Counter({
  name: 'durable_inbox_webhook_attempts_total',
  help: 'Webhook attempts by endpoint kind and outcome (delivered, retry, needs_attention, disabled, ping)',
  labelNames: ['kind', 'outcome', 'tenant'] as const,
  registers: [metricsRegistry],
});
const webhookAttemptSeconds = new Histogram({
  name: 'durable_inbox_webhook_attempt_duration_seconds',
  help: 'Webhook request duration by endpoint kind and answer class (2xx, 3xx, 4xx, 5xx, network)',
  labelNames: ['kind', 'answer'] as const,
  buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});

export type EmailSource = 'mcp' | 'mbox' | 'imap' | 'smtp' | 'mailgun' | 'postmark' | 'sendgrid';

export const metrics = {
  emailIngested(source: EmailSource, tenantId: string, count = 1): void {
    emailsIngested.inc({ source, tenant: tenantLabel(tenantId) }, count);
  },
  emailRefused(source: EmailSource, type: string, tenantId: string | undefined): void {
    emailsRefused.inc({ source, type, tenant: tenantLabel(tenantId) });
  },
  analysisCall(call: {
    provider: string;
    outcome: string;
    durationMs: number;
    tenantId?: string;
    arm?: string | null;
  }): void {
    analysisCalls.inc({ provider: call.provider, outcome: call.outcome, tenant: tenantLabel(call.tenantId) });
    analysisSeconds.observe({ provider: call.provider, outcome: call.outcome }, call.durationMs / 1000);
    rolloutCalls.inc({ provider: call.provider, arm: call.arm ?? 'baseline' });
  },
  rateLimitWait(provider: string, waitedMs: number): void {
    rateLimitWaits.inc({ provider });
    rateLimitWaitSeconds.inc({ provider }, waitedMs / 1000);
  },
  uploaded(bucket: string, bytes: number, tenantId: string): void {
    uploadBytes.inc({ bucket, tenant: tenantLabel(tenantId) }, bytes);
  },
  uploadFailed(bucket: string, type: string): void {
    uploadFailures.inc({ bucket, type });
  },
  rolloutStage(percent: number, paused: boolean): void {
    rolloutStages.inc({ percent: String(percent), paused: String(paused) });
  },
  rolloutGate(passed: boolean): void {
    rolloutGates.inc({ passed: String(passed) });
  },
  rolloutFinished(outcome: string): void {
    rolloutsFinished.inc({ outcome });
  },
  mailboxSyncLag(seconds: number): void {
    mailboxSyncLag.observe(Math.max(0, seconds));
  },
  retentionPurged(table: string, rows: number): void {
    if (rows > 0) retentionPurged.inc({ table }, rows);
  },
  webhookAttempt(a: {
    kind: string;
    outcome: string;
    status: number | null;
    durationMs: number;
    tenantId: string;
  }) {
    webhookAttempts.inc({ kind: a.kind, outcome: a.outcome, tenant: tenantLabel(a.tenantId) });
    const answer = a.status === null ? 'network' : `${Math.floor(a.status / 100)}xx`;
    webhookAttemptSeconds.observe({ kind: a.kind, answer }, a.durationMs / 1000);
  },
};
