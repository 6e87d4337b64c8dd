/**
 * Retention (migration 20261123004000): rollup windows, watermarks, bounded purges, email retention and
 * the file deletion queue. Every multi-row write is one SQL function call; this module only names them.
 */
import type { PurgeTarget } from '../core/retention.js';
import type { Queryable, Sql } from './db.js';

export type Grain = 'hour' | 'day';

export const WATERMARKS = {
  hour: 'performance_hourly',
  day: 'performance_daily',
  rawPurged: 'performance_metrics_purged',
} as const;

export interface RollupState {
  /** Every hour (day) before this is rolled up; null before the first rollup. */
  hour: Date | null;
  day: Date | null;
  /** Raw rows before this may be purged. */
  rawPurged: Date | null;
  oldestRaw: Date | null;
}

export async function rollupState(sql: Sql): Promise<RollupState> {
  const [row] = await sql<RollupState[]>`
    select (select watermark from public.retention_watermarks where name = ${WATERMARKS.hour}) as hour,
           (select watermark from public.retention_watermarks where name = ${WATERMARKS.day}) as day,
           (select nullif(watermark, '-infinity') from public.retention_watermarks
            where name = ${WATERMARKS.rawPurged}) as "rawPurged",
           (select min(ts) from public.performance_metrics) as "oldestRaw"`;
  return row!;
}

export async function advanceWatermark(sql: Queryable, grain: Grain, to: Date): Promise<void> {
  await sql`select public.advance_retention_watermark(${WATERMARKS[grain]}, ${to})`;
}

/**
 * Roll up one window and, unless it is a re-roll below the watermark, move the watermark past it, in one
 * transaction: a crash leaves the window either rolled up and counted or neither.
 */
export async function rollupWindow(
  sql: Sql,
  grain: Grain,
  from: Date,
  to: Date,
): Promise<{ groups: number; changed: number }> {
  return sql.begin(async (tx) => {
    const [row] =
      grain === 'hour'
        ? await tx<{ groups: number; changed: number }[]>`
            select groups, changed from public.rollup_performance_hourly(${from}, ${to})`
        : await tx<{ groups: number; changed: number }[]>`
            select groups, changed from public.rollup_performance_daily(${from.toISOString().slice(0, 10)}::date)`;
    await advanceWatermark(tx, grain, to);
    return row!;
  });
}

/** Rows a window would roll up into (a dry run's estimate of the groups). */
export async function countRollupGroups(sql: Sql, grain: Grain, from: Date, to: Date): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select 1 from public.performance_metrics where ts >= ${from} and ts < ${to}
      group by date_trunc(${grain}, ts, 'UTC'), tenant_id, tool_name, model_name, provider, param_hash
    ) g`;
  return row!.n;
}

/** One bounded purge statement: deletes (or, dry, counts) at most `limit` rows before `before`. */
export async function purgeBatch(
  sql: Sql,
  target: PurgeTarget,
  before: Date,
  limit: number,
  dryRun: boolean,
  tenantId?: string,
): Promise<number> {
  const tenant = tenantId ?? null;
  let rows: { n: number }[];
  switch (target) {
    case 'performance_metrics':
      rows = await sql`select public.purge_performance_metrics(${before}, ${limit}, ${dryRun}) as n`;
      break;
    case 'performance_hourly':
      rows = await sql`select public.purge_performance_hourly(${before}, ${limit}, ${dryRun}) as n`;
      break;
    case 'performance_daily':
      rows = await sql`select public.purge_performance_daily(${before}, ${limit}, ${dryRun}) as n`;
      break;
    case 'ingest_failures':
      rows = await sql`select public.purge_ingest_failures(${before}, ${limit}, ${dryRun}, ${tenant}) as n`;
      break;
    case 'staged_content':
      rows = await sql`select public.purge_staged_content(${before}, ${limit}, ${dryRun}, ${tenant}) as n`;
      break;
    case 'mailbox_messages':
      rows = await sql`select public.purge_mailbox_ledger(${before}, ${limit}, ${dryRun}, ${tenant}) as n`;
      break;
    case 'file_deletion_jobs':
      rows =
        await sql`select public.purge_file_deletion_jobs(${before}, ${limit}, ${dryRun}, ${tenant}) as n`;
      break;
    case 'events':
      rows = await sql`select public.purge_events(${before}, ${limit}, ${dryRun}, ${tenant}) as n`;
      break;
    case 'inbound_messages':
      rows = await sql`select public.purge_inbound_messages(${before}, ${limit}, ${dryRun}, ${tenant}) as n`;
      break;
    case 'inbound_webhook_tokens':
      rows = await sql`select public.purge_inbound_webhook_tokens(${before}, ${limit}, ${dryRun}) as n`;
      break;
  }
  return rows[0]!.n;
}

/** Why staged bytes past the cut are kept (migration 20261123005000), as reason → rows. */
export type StagedKeptReason = 'rawNotArchived' | 'attachmentNotStored' | 'uploadNotFinished';

export async function stagedContentKept(
  sql: Sql,
  before: Date,
  tenantId?: string,
): Promise<Partial<Record<StagedKeptReason, number>>> {
  const rows = await sql<{ reason: StagedKeptReason; rows: number }[]>`
    select reason, rows from public.staged_content_kept(${before}, ${tenantId ?? null})`;
  return Object.fromEntries(rows.map((r) => [r.reason, r.rows]));
}

/** Tenants with an email retention policy (all of them, or the one given). */
export async function tenantsWithEmailRetention(
  sql: Sql,
  tenantId?: string,
): Promise<{ tenantId: string; days: number }[]> {
  return sql<{ tenantId: string; days: number }[]>`
    select id as "tenantId", email_retention_days as days from public.organizations
    where email_retention_days is not null and (${tenantId ?? null}::uuid is null or id = ${tenantId ?? null})
    order by id`;
}

export interface EmailPurgeCounts {
  emails: number;
  attachments: number;
  filesQueued: number;
}

export async function purgeTenantEmails(
  sql: Sql,
  tenantId: string,
  before: Date,
  limit: number,
  dryRun: boolean,
): Promise<EmailPurgeCounts> {
  const [row] = await sql<EmailPurgeCounts[]>`
    select emails, attachments, files_queued as "filesQueued"
    from public.purge_tenant_emails(${tenantId}, ${before}, ${limit}, ${dryRun})`;
  return row!;
}

/** Set (or clear, with null) an organization's email retention. */
export async function setEmailRetention(
  sql: Queryable,
  tenantId: string,
  days: number | null,
): Promise<void> {
  await sql`update public.organizations set email_retention_days = ${days} where id = ${tenantId}`;
}

/** The organization's email retention in days (null: keep forever), locked for an update when `forUpdate`. */
export async function emailRetention(
  sql: Queryable,
  tenantId: string,
  opts: { forUpdate?: boolean } = {},
): Promise<number | null> {
  const [row] = await sql<{ days: number | null }[]>`
    select email_retention_days as days from public.organizations where id = ${tenantId}
    ${opts.forUpdate ? sql`for update` : sql``}`;
  return row?.days ?? null;
}

/** Queued deletion jobs that are due, in id order after `afterId` (a cursor: each job is seen once). */
export async function dueFileDeletions(
  sql: Sql,
  afterId: number,
  limit: number,
  tenantId?: string,
): Promise<number[]> {
  const rows = await sql<{ id: string }[]>`
    select id from public.file_deletion_jobs
    where status = 'queued' and not_before <= now() and id > ${afterId}
      and (${tenantId ?? null}::uuid is null or tenant_id = ${tenantId ?? null})
    order by id limit ${limit}`;
  return rows.map((r) => Number(r.id));
}

export async function countDueFileDeletions(sql: Sql, tenantId?: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from public.file_deletion_jobs
    where status = 'queued' and not_before <= now()
      and (${tenantId ?? null}::uuid is null or tenant_id = ${tenantId ?? null})`;
  return row!.n;
}

export type DeletionDecision =
  | { action: 'delete'; bucket: string; storagePath: string }
  | { action: 'skip' | 'postpone' | 'gone' };

/**
 * Delete one queued object: in one transaction, lock the job and the file row and decide; when the
 * answer is "delete", `removeObject` runs while the locks are held (so no upload can claim the same
 * bytes in between), then the file row goes and the job is done. If `removeObject` throws, nothing
 * changes and the error propagates.
 */
export async function deleteQueuedFile(
  sql: Sql,
  jobId: number,
  graceMinutes: number,
  removeObject: (bucket: string, storagePath: string) => Promise<void>,
): Promise<DeletionDecision['action']> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ action: DeletionDecision['action']; bucket: string; storage_path: string }[]>`
      select action, bucket, storage_path
      from public.begin_file_deletion(${jobId}, make_interval(mins => ${graceMinutes}))`;
    if (row!.action !== 'delete') return row!.action;
    await removeObject(row!.bucket, row!.storage_path);
    await tx`select public.finish_file_deletion(${jobId})`;
    return 'delete' as const;
  });
}

/** Record a failed attempt; returns the job's new status (`queued` to retry later, or `failed`). */
export async function failFileDeletion(
  sql: Sql,
  jobId: number,
  error: string,
  retryable: boolean,
): Promise<string> {
  const [row] = await sql<{ status: string }[]>`
    select public.fail_file_deletion(${jobId}, ${error}, ${retryable}) as status`;
  return row!.status;
}
