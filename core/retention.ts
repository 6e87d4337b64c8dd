/**
 * Retention policy and the UTC window arithmetic the retention workflow and its activities share. Pure
 * and free of Node built-ins: the workflow bundle imports it.
 */

/** How long each kind of data is kept, and how the work is cut up. Days are whole days. */
export interface RetentionPolicy {
  /** Raw performance_metrics rows (never deleted before their hour and day are rolled up). */
  rawDays: number;
  hourlyDays: number;
  dailyDays: number;
  ingestFailuresDays: number;
  /** staged_content rows nobody has staged for this long. */
  stagedContentDays: number;
  /** mailbox_messages rows of finished imports. */
  mailboxLedgerDays: number;
  /** file_deletion_jobs that are done or skipped. */
  fileJobsDays: number;
  /** Outbox events. */
  eventsDays: number;
  /** inbound_messages rows (SMTP and webhook mail) whose ingestion run started this long ago. */
  inboundDays: number;
  /** Webhook tokens kept against replays (a token is accepted for 2 minutes only). */
  webhookTokensDays: number;
  /** Rows per purge statement. */
  batchSize: number;
  /** An hour (or day) is rolled up only this long after it ends. */
  graceSeconds: number;
  /** Files claimed more recently than this are not deleted yet. */
  fileGraceMinutes: number;
  /** Hours before the run's time rolled up again even when the watermark is past them (backfills). */
  rerollHours: number;
}

/**
 * The bounded purges, named by the table each keeps in check; the run's report counts rows per target.
 * Tenant-scoped runs do only the tenant-owned ones: the metric tables are shared.
 */
export const PURGE_TARGETS = [
  'performance_metrics',
  'performance_hourly',
  'performance_daily',
  'ingest_failures',
  'staged_content',
  'mailbox_messages',
  'file_deletion_jobs',
  'events',
  'inbound_messages',
  'inbound_webhook_tokens',
] as const;
export type PurgeTarget = (typeof PURGE_TARGETS)[number];
export const TENANT_PURGE_TARGETS: readonly PurgeTarget[] = [
  'ingest_failures',
  'staged_content',
  'mailbox_messages',
  'file_deletion_jobs',
  'events',
  'inbound_messages',
];

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export function floorTo(ms: number, unit: number): number {
  return Math.floor(ms / unit) * unit;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Where rollups of one grain stand for a run at `asOf`: the windows to roll up are [from, to), in whole
 * units. `to` is the end of the last unit that ended at least `graceMs` ago. `from` is the watermark,
 * pulled back to re-roll the units that ended in the `rerollMs` before the run's last complete hour (a
 * backfilled run re-rolls its own windows; a normal run's re-roll is the hour it rolls up anyway, and a
 * day only in the run right after midnight). `from` is never before the oldest raw row, the rollup's own
 * retention (older rows would be purged at once), or the raw purge horizon (older windows are incomplete
 * and must not be rolled up again).
 */
export function rollupRange(opts: {
  unit: number;
  asOf: number;
  graceMs: number;
  rerollMs: number;
  keepMs: number;
  watermark: number | null;
  oldestRaw: number | null;
  purgedBefore: number | null;
}): { from: number; to: number } {
  const { unit } = opts;
  const lastHourEnd = floorTo(opts.asOf - opts.graceMs, HOUR_MS);
  const to = floorTo(lastHourEnd, unit);
  const reroll = floorTo(lastHourEnd - opts.rerollMs, unit);
  let from =
    opts.watermark === null
      ? opts.oldestRaw === null
        ? to
        : floorTo(opts.oldestRaw, unit)
      : Math.min(opts.watermark, reroll);
  from = Math.max(from, floorTo(opts.asOf - opts.keepMs, unit));
  if (opts.purgedBefore !== null) from = Math.max(from, Math.ceil(opts.purgedBefore / unit) * unit);
  return { from: Math.min(from, to), to };
}

const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS };

/** "90s", "5m", "1h", "1d" (or "0") in milliseconds; null when it is not one of those. */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  const match = DURATION.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : null;
}

/** Where each purge cuts for a run at `asOf`: rows before it go. `rawCut` comes from the rollup plan. */
export function purgeCutoffs(
  asOf: number,
  policy: RetentionPolicy,
  rawCut: number,
): Record<PurgeTarget, number> {
  const ago = (days: number) => asOf - days * DAY_MS;
  return {
    performance_metrics: rawCut,
    performance_hourly: floorTo(ago(policy.hourlyDays), HOUR_MS),
    performance_daily: floorTo(ago(policy.dailyDays), DAY_MS),
    ingest_failures: ago(policy.ingestFailuresDays),
    staged_content: ago(policy.stagedContentDays),
    mailbox_messages: ago(policy.mailboxLedgerDays),
    file_deletion_jobs: ago(policy.fileJobsDays),
    events: ago(policy.eventsDays),
    inbound_messages: ago(policy.inboundDays),
    inbound_webhook_tokens: ago(policy.webhookTokensDays),
  };
}
