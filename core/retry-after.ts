/**
 * How long a provider asked us to wait, from its response headers, so Temporal's next retry honours it
 * (`nextRetryDelay`) instead of hammering a rate-limited API on its own backoff schedule.
 *
 * Understood: `retry-after-ms`; `retry-after` as seconds or an HTTP date (RFC 9110); OpenAI-style
 * `x-ratelimit-reset-requests` / `-tokens` durations such as "1s", "6m0s", "250ms"; and
 * `x-ratelimit-reset` as seconds, or as a Unix timestamp when it is clearly one.
 */
const MAX_DELAY_MS = 10 * 60_000;

export function retryDelayFromHeaders(
  get: (name: string) => string | null | undefined,
  nowMs: number,
): number | undefined {
  const candidates = [
    parseMs(get('retry-after-ms')),
    parseRetryAfter(get('retry-after'), nowMs),
    parseDuration(get('x-ratelimit-reset-requests')),
    parseDuration(get('x-ratelimit-reset-tokens')),
    parseReset(get('x-ratelimit-reset'), nowMs),
  ];
  const found = candidates.find((v): v is number => v !== undefined && Number.isFinite(v) && v >= 0);
  return found === undefined ? undefined : Math.min(Math.ceil(found), MAX_DELAY_MS);
}

function parseMs(value: string | null | undefined): number | undefined {
  if (!value || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  return Number(value);
}

function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function parseDuration(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const parts = [...value.trim().matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0) return parseMs(value) === undefined ? undefined : Number(value) * 1000;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  return parts.reduce((total, p) => total + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}

function parseReset(value: string | null | undefined, nowMs: number): number | undefined {
  const n = parseMs(value);
  if (n === undefined) return parseDuration(value);
  // A number this large is an epoch timestamp (seconds), not a delay.
  return n > 1e9 ? Math.max(0, n * 1000 - nowMs) : n * 1000;
}
