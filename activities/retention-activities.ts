/**
 * Retention activities: plan and run rollup windows, purge in bounded batches, apply email retention and
 * work the file deletion queue. They run at least once, so every step is idempotent: rollups upsert
 * their windows, purges delete what is still there, and a retried loop resumes from its last heartbeat
 * with its counts. Each loop also stops after a time budget and says so (`done: false`), so the workflow
 * calls it again: no activity runs unbounded, and each statement touches at most one batch of rows.
 */
import { Context } from '@temporalio/activity';
import { metrics } from '../core/metrics.js';
import {
  DAY_MS,
  floorTo,
  HOUR_MS,
  iso,
  type PurgeTarget,
  type RetentionPolicy,
  rollupRange,
} from '../core/retention.js';
import type { Sql } from '../supabase/db.js';
import { recordRunEvent } from '../supabase/events.js';
import {
  advanceWatermark,
  countDueFileDeletions,
  countRollupGroups,
  deleteQueuedFile,
  dueFileDeletions,
  failFileDeletion,
  type Grain,
  purgeBatch,
  purgeTenantEmails,
  rollupState,
  rollupWindow,
  type StagedKeptReason,
  stagedContentKept,
  tenantsWithEmailRetention,
} from '../supabase/retention.js';
import type { StorageBackend } from '../supabase/storage/backend.js';
import { StorageFailure } from '../supabase/storage/errors.js';
import { findTenant } from '../supabase/tenants.js';
import type { RetentionReport } from '../workflows/retention-rollup.contract.js';

export interface RetentionActivityDeps {
  sql: Sql;
  storage: StorageBackend;
  /** The organization (slug or id) told of runs over every tenant (RETENTION_OPERATOR_TENANT). */
  operatorTenant?: string;
}

export interface Window {
  /** ISO timestamps; [from, to) in whole hours or days. */
  from: string;
  to: string;
}

export interface RollupPlan {
  hour: Window;
  day: Window;
  /** The cut below which raw rows may go once these windows are rolled up. */
  rawCut: string;
}

export interface RollupWindowsResult {
  windows: number;
  groups: number;
  changed: number;
  /** Where the next call starts; equals `to` when the range is done. */
  next: string;
}

export interface PurgeResult {
  rows: number;
  /** Statements run (a dry run counts in one). */
  batches: number;
  /** false when the time budget ran out first: call again. */
  done: boolean;
  /** staged_content, once done: rows past the cut kept because something still needs them, per reason. */
  kept?: Partial<Record<StagedKeptReason, number>>;
}

export interface EmailRetentionResult {
  tenants: number;
  emails: number;
  attachments: number;
  filesQueued: number;
  batches: number;
  done: boolean;
}

export interface FileDeletionResult {
  /** Objects deleted (or, dry, due for deletion). */
  deleted: number;
  skipped: number;
  postponed: number;
  /** Attempts that failed: retried by a later run, or given up (the job says why). */
  failed: number;
  done: boolean;
}

/** How long one activity call keeps looping before handing back to the workflow. */
const DEFAULT_BUDGET_MS = 4 * 60_000;

const UNIT: Record<Grain, number> = { hour: HOUR_MS, day: DAY_MS };

function cancelled(): boolean {
  return Context.current().cancellationSignal.aborted;
}

function resumeFrom<T>(): T | undefined {
  return Context.current().info.heartbeatDetails as T | undefined;
}

export function createRetentionActivities(deps: RetentionActivityDeps) {
  const { sql, storage } = deps;

  return {
    /**
     * The run's last step: `retention.completed` with the report's figures, told to the tenant the run
     * was for (a run over every tenant: the operator organization), once per run.
     */
    async finishRetention(input: { report: RetentionReport; tenantId?: string }): Promise<boolean> {
      const tenantId =
        input.tenantId ??
        (deps.operatorTenant ? (await findTenant(sql, deps.operatorTenant))?.id : undefined);
      if (!tenantId) return false;
      const { workflowId = '', runId = '' } = Context.current().info.workflowExecution ?? {};
      const { report } = input;
      return recordRunEvent(sql, tenantId, 'retention.completed', workflowId, {
        runId,
        workflowId,
        scope: report.scope,
        dryRun: report.dryRun,
        asOf: report.asOf,
        purged: Object.fromEntries(Object.entries(report.purged).map(([table, p]) => [table, p?.rows ?? 0])),
        emails: report.emails.emails,
        filesDeleted: report.files.deleted,
        durationMs: report.durationMs,
      });
    },

    /** Which hour and day windows a run at `asOf` rolls up (see core/retention.ts rollupRange). */
    async planRollups(input: {
      asOf: string;
      policy: RetentionPolicy;
      dryRun: boolean;
    }): Promise<RollupPlan> {
      const { policy } = input;
      const asOf = Date.parse(input.asOf);
      const state = await rollupState(sql);
      const common = {
        asOf,
        graceMs: policy.graceSeconds * 1000,
        rerollMs: policy.rerollHours * HOUR_MS,
        oldestRaw: state.oldestRaw?.getTime() ?? null,
        purgedBefore: state.rawPurged?.getTime() ?? null,
      };
      const hour = rollupRange({
        ...common,
        unit: HOUR_MS,
        keepMs: policy.hourlyDays * DAY_MS,
        watermark: state.hour?.getTime() ?? null,
      });
      const day = rollupRange({
        ...common,
        unit: DAY_MS,
        keepMs: policy.dailyDays * DAY_MS,
        watermark: state.day?.getTime() ?? null,
      });
      // Nothing to roll up (no raw rows, or all of them too old to keep rolled up): the watermark still
      // moves, so the raw purge knows everything before it is accounted for.
      if (!input.dryRun) {
        if (hour.from === hour.to) await advanceWatermark(sql, 'hour', new Date(hour.to));
        if (day.from === day.to) await advanceWatermark(sql, 'day', new Date(day.to));
      }
      const rawCut = Math.min(
        floorTo(asOf - policy.rawDays * DAY_MS, HOUR_MS),
        Math.max(hour.to, state.hour?.getTime() ?? 0),
        Math.max(day.to, state.day?.getTime() ?? 0),
      );
      return {
        hour: { from: iso(hour.from), to: iso(hour.to) },
        day: { from: iso(day.from), to: iso(day.to) },
        rawCut: iso(rawCut),
      };
    },

    /**
     * Roll up the windows of [from, to), one transaction each, at most `maxWindows` per call. The
     * watermark moves with each window; a retry resumes after the last window it heartbeated.
     */
    async rollupWindows(input: {
      grain: Grain;
      from: string;
      to: string;
      maxWindows: number;
      dryRun: boolean;
    }): Promise<RollupWindowsResult> {
      const unit = UNIT[input.grain];
      const to = Date.parse(input.to);
      const result = resumeFrom<RollupWindowsResult>() ?? {
        windows: 0,
        groups: 0,
        changed: 0,
        next: input.from,
      };
      let at = Date.parse(result.next);
      while (at < to && result.windows < input.maxWindows && !cancelled()) {
        const from = new Date(at);
        const end = new Date(at + unit);
        if (input.dryRun) {
          result.groups += await countRollupGroups(sql, input.grain, from, end);
        } else {
          const done = await rollupWindow(sql, input.grain, from, end);
          result.groups += done.groups;
          result.changed += done.changed;
        }
        at += unit;
        result.windows++;
        result.next = iso(at);
        Context.current().heartbeat(result);
      }
      return result;
    },

    /** Purge one table in batches of `batchSize` until nothing is left before `before`. */
    async purgeTable(input: {
      target: PurgeTarget;
      before: string;
      batchSize: number;
      dryRun: boolean;
      tenantId?: string;
      budgetMs?: number;
    }): Promise<PurgeResult> {
      const before = new Date(input.before);
      const finished = async (r: PurgeResult): Promise<PurgeResult> =>
        input.target === 'staged_content'
          ? { ...r, done: true, kept: await stagedContentKept(sql, before, input.tenantId) }
          : { ...r, done: true };
      if (input.dryRun) {
        const rows = await purgeBatch(sql, input.target, before, input.batchSize, true, input.tenantId);
        return finished({ rows, batches: 1, done: true });
      }
      const started = Date.now();
      const result = resumeFrom<PurgeResult>() ?? { rows: 0, batches: 0, done: false };
      while (!cancelled()) {
        const n = await purgeBatch(sql, input.target, before, input.batchSize, false, input.tenantId);
        result.rows += n;
        result.batches++;
        metrics.retentionPurged(input.target, n);
        Context.current().heartbeat(result);
        if (n < input.batchSize) return finished(result);
        if (Date.now() - started > (input.budgetMs ?? DEFAULT_BUDGET_MS)) return result;
      }
      return result;
    },

    /** Each tenant with a retention policy loses its emails older than the policy, in batches. */
    async applyEmailRetention(input: {
      asOf: string;
      batchSize: number;
      dryRun: boolean;
      tenantId?: string;
      budgetMs?: number;
    }): Promise<EmailRetentionResult> {
      const started = Date.now();
      const tenants = await tenantsWithEmailRetention(sql, input.tenantId);
      const resumed = resumeFrom<EmailRetentionResult & { index: number }>();
      const totals = resumed ?? {
        index: 0,
        tenants: 0,
        emails: 0,
        attachments: 0,
        filesQueued: 0,
        batches: 0,
        done: false,
      };
      for (; totals.index < tenants.length; totals.index++) {
        const { tenantId, days } = tenants[totals.index]!;
        const before = new Date(Date.parse(input.asOf) - days * DAY_MS);
        for (;;) {
          if (cancelled()) return { ...totals, done: false };
          const n = await purgeTenantEmails(sql, tenantId, before, input.batchSize, input.dryRun);
          totals.emails += n.emails;
          totals.attachments += n.attachments;
          totals.filesQueued += n.filesQueued;
          totals.batches++;
          Context.current().heartbeat(totals);
          if (input.dryRun || n.emails < input.batchSize) break;
          if (Date.now() - started > (input.budgetMs ?? DEFAULT_BUDGET_MS)) return { ...totals, done: false };
        }
        totals.tenants++;
      }
      const { index: _index, ...result } = totals;
      return { ...result, done: true };
    },

    /**
     * Work the file deletion queue: for each due job, delete the object through the storage backend (a
     * missing object counts as deleted) and then the file row, unless the file is referenced again or was
     * claimed too recently. Failures back off per job; they never stop the rest of the queue.
     */
    async processFileDeletions(input: {
      batchSize: number;
      graceMinutes: number;
      dryRun: boolean;
      tenantId?: string;
      budgetMs?: number;
    }): Promise<FileDeletionResult> {
      if (input.dryRun) {
        const due = await countDueFileDeletions(sql, input.tenantId);
        return { deleted: due, skipped: 0, postponed: 0, failed: 0, done: true };
      }
      const started = Date.now();
      const progress = resumeFrom<FileDeletionResult & { afterId: number }>() ?? {
        afterId: 0,
        deleted: 0,
        skipped: 0,
        postponed: 0,
        failed: 0,
        done: false,
      };
      const remove = (bucket: string, key: string) => storage.deleteObjects(bucket, [key]);
      for (;;) {
        const ids = await dueFileDeletions(sql, progress.afterId, input.batchSize, input.tenantId);
        if (ids.length === 0) break;
        for (const id of ids) {
          if (cancelled()) return { ...progress, done: false };
          try {
            const action = await deleteQueuedFile(sql, id, input.graceMinutes, remove);
            if (action === 'delete') progress.deleted++;
            else if (action === 'skip') progress.skipped++;
            else if (action === 'postpone') progress.postponed++;
          } catch (err) {
            const retryable = !(err instanceof StorageFailure) || err.kind === 'retry';
            const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
            await failFileDeletion(sql, id, message, retryable);
            progress.failed++;
          }
          progress.afterId = id;
          Context.current().heartbeat(progress);
        }
        if (Date.now() - started > (input.budgetMs ?? DEFAULT_BUDGET_MS)) return { ...progress, done: false };
      }
      const { afterId: _afterId, ...result } = progress;
      return { ...result, done: true };
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
