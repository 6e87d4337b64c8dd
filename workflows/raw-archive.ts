/**
 * Workflow side of the raw-message archive (activities/raw-archive-activities.ts), shared by email
 * ingestion and mbox imports. An archive that cannot finish never fails the caller: the email is stored
 * and its raw bytes stay staged in Postgres; the outcome says so, and ingesting again completes it.
 */
import { ActivityFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { RawArchiveActivities, RawArchiveScope } from '../activities/raw-archive-activities.js';
import { failureText } from '../core/failure.js';
import { rawArchiveActivityOptions } from './raw-archive.contract.js';

export interface RawArchiveOutcome {
  archived: number;
  failed: number;
  /** The first reason, when anything failed. */
  error?: string;
}

export async function archiveRawMessages(
  tenantId: string,
  filesTaskQueue: string,
  scope: RawArchiveScope,
): Promise<RawArchiveOutcome> {
  const { archiveRawMessages: archive, failRawArchive } = proxyActivities<RawArchiveActivities>(
    rawArchiveActivityOptions(filesTaskQueue),
  );
  try {
    const report = await archive({ tenantId, scope });
    return { archived: report.archived, failed: report.failed.length, error: report.failed[0]?.error };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const error = failureText(err);
    // Runs from before this step replay without it.
    if (!patched('raw-archive-marks-failed')) return { archived: 0, failed: 1, error };
    // Given up: no `files` row of the scope stays `pending` as if an upload were still under way.
    const failed = await failRawArchive({ tenantId, scope, reason: error }).catch((markErr: unknown) => {
      if (!(markErr instanceof ActivityFailure)) throw markErr;
      return 1;
    });
    return { archived: 0, failed, error };
  }
}
