/**
 * Retention: roll raw performance metrics up into hourly and daily percentiles, then keep every table
 * that grows to its policy, then delete the files that retention queued.
 *
 * 1. Rollups are driven by watermarks in the database: every completed hour since the hourly watermark,
 *    then every completed day since the daily one, window by window (a bounded group of windows per
 *    activity), so catching up after a week of downtime is 168 small transactions, not one giant query.
 *    A run started by the schedule takes its time from the schedule (TemporalScheduledStartTime), so a
 *    backfill over a past range rolls up that range's windows again.
 * 2. Purges delete in bounded batches; each activity loops and heartbeats, and the workflow calls it
 *    again until the table is done. Raw rows are never purged before their hour and day are rolled up.
 * 3. Email retention per tenant queues the files nobody references any more; the deletion queue is then
 *    worked through the storage backend.
 *
 * The run returns a report, which is also its current details in the Web UI. A dry run rolls up and
 * deletes nothing and reports what it would do. A long catch-up continues as new, carrying its report.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention-activities.js';
import { iso, PURGE_TARGETS, purgeCutoffs, TENANT_PURGE_TARGETS } from '../core/retention.js';
import {
  type RetentionInput,
  type RetentionReport,
  type RollupSummary,
  retentionActivityOptions,
} from './retention-rollup.contract.js';

// ---- Activities -----------------------------------------------------------------------------------

const act = proxyActivities<RetentionActivities>(retentionActivityOptions);

// ---- Workflow -------------------------------------------------------------------------------------

/** Windows per rollup activity: a day of hours, a week of days. */
const WINDOWS_PER_CALL = { hour: 24, day: 7 } as const;
/** Rollup calls per run before continuing as new: a year of hourly catch-up is a handful of runs. */
const ROLLUP_CALLS_PER_RUN = 100;

const ScheduledStartTime = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

export async function retentionRollupWorkflow(input: RetentionInput): Promise<RetentionReport> {
  const { policy } = input;
  const dryRun = input.dryRun ?? false;
  const startedAt = input.carry?.startedAt ?? Date.now();
  const scheduled = workflowInfo().typedSearchAttributes.get(ScheduledStartTime);
  const asOf = input.asOf ?? (scheduled ? scheduled.toISOString() : iso(Date.now()));
  const report = input.carry?.report ?? emptyReport(asOf, dryRun, input.tenantId);
  const cursor = { ...input.carry?.cursor };
  const show = (phase: string) => setCurrentDetails(renderReport(report, phase));

  show('planning');
  const plan = await act.planRollups({ asOf, policy, dryRun });
  let calls = 0;
  for (const grain of ['hour', 'day'] as const) {
    const summary = report.rollups[grain === 'hour' ? 'hourly' : 'daily'];
    const range = plan[grain];
    if (!input.carry) Object.assign(summary, range);
    let at = cursor[grain] && cursor[grain] > range.from ? cursor[grain] : range.from;
    while (at < range.to) {
      if (
        calls >= (input.rollupCallsPerRun ?? ROLLUP_CALLS_PER_RUN) ||
        workflowInfo().continueAsNewSuggested
      ) {
        await continueAsNew<typeof retentionRollupWorkflow>({
          ...input,
          asOf,
          carry: { report, startedAt, cursor: { ...cursor, [grain]: at } },
        });
      }
      const done = await act.rollupWindows({
        grain,
        from: at,
        to: range.to,
        maxWindows: WINDOWS_PER_CALL[grain],
        dryRun,
      });
      calls++;
      summary.windows += done.windows;
      summary.groups += done.groups;
      summary.changed += done.changed;
      at = done.next;
      show(`rolling up ${grain}s: ${at} of ${range.to}`);
    }
    cursor[grain] = range.to;
  }

  const cutoffs = purgeCutoffs(Date.parse(asOf), policy, Date.parse(plan.rawCut));
  const targets = input.tenantId ? TENANT_PURGE_TARGETS : PURGE_TARGETS;
  for (const target of targets) {
    const total = report.purged[target] ?? { rows: 0, batches: 0 };
    report.purged[target] = total;
    show(`purging ${target}`);
    for (let done = false; !done; ) {
      const r = await act.purgeTable({
        target,
        before: iso(cutoffs[target]),
        batchSize: policy.batchSize,
        dryRun,
        tenantId: input.tenantId,
      });
      total.rows += r.rows;
      total.batches += r.batches;
      if (r.kept) total.kept = r.kept;
      done = r.done;
    }
  }

  show('applying email retention');
  for (let done = false; !done; ) {
    const r = await act.applyEmailRetention({
      asOf,
      batchSize: policy.batchSize,
      dryRun,
      tenantId: input.tenantId,
    });
    report.emails.tenants = Math.max(report.emails.tenants, r.tenants);
    report.emails.emails += r.emails;
    report.emails.attachments += r.attachments;
    report.emails.filesQueued += r.filesQueued;
    report.emails.batches += r.batches;
    done = r.done;
  }

  show('deleting files');
  for (let done = false; !done; ) {
    const r = await act.processFileDeletions({
      batchSize: policy.batchSize,
      graceMinutes: policy.fileGraceMinutes,
      dryRun,
      tenantId: input.tenantId,
    });
    report.files.deleted += r.deleted;
    report.files.skipped += r.skipped;
    report.files.postponed += r.postponed;
    report.files.failed += r.failed;
    done = r.done;
  }

  report.durationMs = Date.now() - startedAt;
  // Runs started before the event existed end as they did.
  if (patched('retention-completed-event')) {
    await act.finishRetention({ report, tenantId: input.tenantId });
  }
  show('done');
  return report;
}

function emptyReport(asOf: string, dryRun: boolean, tenantId?: string): RetentionReport {
  const rollup = (): RollupSummary => ({ from: asOf, to: asOf, windows: 0, groups: 0, changed: 0 });
  return {
    asOf,
    dryRun,
    scope: tenantId ?? 'all',
    rollups: { hourly: rollup(), daily: rollup() },
    purged: {},
    emails: { tenants: 0, emails: 0, attachments: 0, filesQueued: 0, batches: 0 },
    files: { deleted: 0, skipped: 0, postponed: 0, failed: 0 },
    durationMs: 0,
  };
}

/** The report as Markdown for the Web UI's current details. */
export function renderReport(report: RetentionReport, phase: string): string {
  const verb = report.dryRun ? 'would purge' : 'purged';
  const { hourly, daily } = report.rollups;
  const rollup = (name: string, r: RollupSummary) =>
    `${name}: ${r.windows} windows (${r.from.slice(0, 16)} → ${r.to.slice(0, 16)}), ${r.groups} rows, ${r.changed} changed`;
  const purged = Object.entries(report.purged)
    .map(([table, p]) => {
      const kept = Object.entries(p.kept ?? {}).map(([why, n]) => `${n} ${why}`);
      return `${table} ${p.rows} (${p.batches} batches${kept.length ? `; kept ${kept.join(', ')}` : ''})`;
    })
    .join(' · ');
  const e = report.emails;
  const f = report.files;
  return [
    `**${phase}**${report.dryRun ? ' (dry run)' : ''} · scope ${report.scope} · as of ${report.asOf}`,
    `${rollup('Hourly', hourly)}\n\n${rollup('Daily', daily)}`,
    `${verb}: ${purged || 'nothing yet'}`,
    `Emails ${verb}: ${e.emails} (${e.attachments} attachments, ${e.filesQueued} files queued) in ${e.tenants} tenant(s)`,
    `Files ${report.dryRun ? 'due for deletion' : 'deleted'}: ${f.deleted}, skipped ${f.skipped}, postponed ${f.postponed}, failed ${f.failed}`,
    report.durationMs ? `Took ${(report.durationMs / 1000).toFixed(1)} s` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}
