/**
 * Readiness (`GET /readyz`): can this server do its work right now? Each dependency is tried within a
 * short bound, side by side, and reported with the type and text a caller would read (never a path or a
 * secret). Liveness (`/healthz`) is only "the process answers": a restart cannot fix a database that is
 * down, so that is readiness, not liveness.
 */
import { ErrorType, UserFacingError } from '../core/errors.js';
import { describeFailure } from '../core/failure.js';
import type { Sql } from '../supabase/db.js';
import type { StorageBackend } from '../supabase/storage/backend.js';
import type { TemporalAccess } from './deps.js';

/** How long each check may take before it counts as failed. */
export const READY_CHECK_TIMEOUT_MS = 2000;

export interface ReadinessCheck {
  ok: boolean;
  ms: number;
  /** `<Type>: <message>` when not ok. */
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: { database: ReadinessCheck; temporal: ReadinessCheck; storage: ReadinessCheck };
}

export interface ReadinessDeps {
  sql: Sql;
  temporal: Pick<TemporalAccess, 'client'>;
  storage: StorageBackend;
}

export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const [database, temporal, storage] = await Promise.all([
    timed(ErrorType.DatabaseUnavailable, 'the database', async () => {
      await deps.sql`select 1`;
    }),
    timed(ErrorType.TemporalUnavailable, 'Temporal', () =>
      deps.temporal.client.withDeadline(Date.now() + READY_CHECK_TIMEOUT_MS, async () => {
        await deps.temporal.client.workflowService.getSystemInfo({});
      }),
    ),
    // Reaching storage is the point; whether the probe object, or the bucket a worker creates at its
    // start, exists yet is not: an answer of "no such bucket" is an answer.
    timed(ErrorType.StorageUnavailable, 'storage', async () => {
      await deps.storage.headObject('raw-messages', 'readyz-probe').catch((err: unknown) => {
        if (describeFailure(err).type !== ErrorType.NoSuchBucket) throw err;
      });
    }),
  ]);
  return { ready: database.ok && temporal.ok && storage.ok, checks: { database, temporal, storage } };
}

/** Run one check within the bound; past it, the check fails with the dependency's unavailable type. */
async function timed(
  unavailable: ErrorType,
  what: string,
  check: () => Promise<void>,
): Promise<ReadinessCheck> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UserFacingError(unavailable, `${what} did not answer within ${READY_CHECK_TIMEOUT_MS} ms`),
        ),
      READY_CHECK_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([check(), bound]);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    const { type, message } = describeFailure(err);
    return { ok: false, ms: Date.now() - started, error: `${type}: ${message}` };
  } finally {
    clearTimeout(timer);
  }
}
