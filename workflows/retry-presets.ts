/**
 * The retry policies activities run with: one set, so "how patient is this step" is a choice of preset
 * and not a literal copied into every workflow. All back off from 1 s, doubling.
 *
 * - QUICK: short database steps; the interval stops growing at 30 s.
 * - PATIENT: long or remote steps (batches, storage, providers); the interval stops growing at 1 min.
 *
 * Both retry forever (a database outage delays a run, it never loses it); `bounded` caps the attempts
 * where a step must give up and let the workflow decide (uploads, provider calls, raw archiving).
 */
import type { RetryPolicy } from '@temporalio/workflow';

export const QUICK_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
};

export const PATIENT_RETRY: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
};

export function bounded(preset: RetryPolicy, maximumAttempts: number): RetryPolicy {
  return { ...preset, maximumAttempts };
}
