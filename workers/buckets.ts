/**
 * The buckets the workers write to (their own and STORAGE_BUCKETS, for upload_file), created (private)
 * when a worker starts, so a new Supabase project needs no manual step. These, and buckets an operator
 * creates, are the only ones: an upload into any other is NoSuchBucket on every backend. A key that may
 * not create buckets only logs a warning: uploads into a missing bucket then fail fast with
 * NoSuchBucket, and the emails stay stored.
 */
import { RAW_MESSAGES_BUCKET } from '../activities/raw-archive-activities.js';
import type { Logger } from '../core/logger.js';
import type { StorageBackend } from '../supabase/storage/backend.js';
import { ATTACHMENTS_BUCKET } from '../workflows/ingest-email.contract.js';

export const WORKER_BUCKETS = [ATTACHMENTS_BUCKET, RAW_MESSAGES_BUCKET];

export async function ensureWorkerBuckets(
  storage: StorageBackend,
  log: Logger,
  configured: readonly string[] = [],
): Promise<void> {
  for (const bucket of new Set([...WORKER_BUCKETS, ...configured])) {
    try {
      const outcome = await storage.ensureBucket(bucket);
      if (outcome === 'created') log.info('created storage bucket', { bucket, backend: storage.kind });
    } catch (err) {
      log.warn('could not create storage bucket; create it by hand (see README, Supabase)', {
        bucket,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
