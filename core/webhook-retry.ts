/**
 * When a failed webhook attempt is tried again. The receiver's `Retry-After` wins (core/retry-after.ts,
 * at most 10 minutes); otherwise the wait grows fourfold from the first one (5 s by default: 5 s, 20 s,
 * 80 s, 5 min, 21 min, 85 min, 5.7 h, then 12 h each), and a delivery gets `maxAttempts` attempts (13 by
 * default: about 3 days) before its endpoint is put in `needs_attention`. Pure: the workflow uses it.
 */
const GROWTH = 4;
const MAX_WAIT_MS = 12 * 3_600_000;

/** The wait after failed attempt number `attempt` (1-based). */
export function webhookRetryDelayMs(attempt: number, firstMs: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return retryAfterMs;
  return Math.min(firstMs * GROWTH ** Math.max(0, attempt - 1), MAX_WAIT_MS);
}

/** The whole schedule's span: how long a delivery is retried before its endpoint needs attention. */
export function webhookRetrySpanMs(maxAttempts: number, firstMs: number): number {
  let total = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt++) total += webhookRetryDelayMs(attempt, firstMs);
  return total;
}
