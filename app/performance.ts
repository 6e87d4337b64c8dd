/**
 * `performanceReport`: latency percentiles and error rates of AI calls from the retention rollups, as
 * hourly or daily series, one per (tool, model, provider, param_hash). It reads as the caller, under RLS:
 * the caller's tenant's metrics, plus the shared ones (calls made without a tenant) when asked.
 *
 * Percentiles do not re-aggregate, so a series point is always one rollup row: the p95 of that hour or
 * that day computed from its raw calls, never an average of smaller windows.
 */
import { ErrorType, UserFacingError } from '../core/errors.js';
import { DAY_MS, HOUR_MS } from '../core/retention.js';
import { asCaller } from '../supabase/caller.js';
import { type RollupRow, rolledUpUntil, rollupRows } from '../supabase/performance.js';
import type { Grain } from '../supabase/retention.js';
import type { AppDeps } from './deps.js';
import { authorize } from './permissions.js';
import { resolveTenant } from './principal.js';

export const MAX_POINTS = 5000;
/** `auto` picks hourly rows up to this span (and while they are kept), daily ones beyond. */
const HOURLY_UP_TO_MS = 3 * DAY_MS;
const MAX_SPAN_MS = 5 * 366 * DAY_MS;

export interface PerformancePoint {
  bucket: string;
  calls: number;
  errors: number;
  errorRate: number;
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  tokens: number;
}

export interface PerformanceSeries {
  tool: string;
  model: string;
  provider: string;
  paramHash: string;
  /** true for metrics recorded without a tenant. */
  shared: boolean;
  points: PerformancePoint[];
}

export interface PerformanceReportRequest {
  /** ISO 8601; default: 24 hours before `to`. */
  from?: string;
  /** ISO 8601, exclusive; default: now. */
  to?: string;
  tool?: string;
  model?: string;
  provider?: string;
  granularity?: 'auto' | 'hourly' | 'daily';
  includeShared?: boolean;
  tenant?: string;
}

export interface PerformanceReport {
  granularity: 'hourly' | 'daily';
  from: string;
  to: string;
  /** Buckets before this are complete. */
  rolledUpUntil: string | null;
  series: PerformanceSeries[];
  /** true when more than MAX_POINTS points matched. */
  truncated: boolean;
}

export async function performanceReport(
  deps: AppDeps,
  request: PerformanceReportRequest,
): Promise<PerformanceReport> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, 'performance_report');
  const to = request.to ? new Date(request.to) : new Date();
  const from = request.from ? new Date(request.from) : new Date(to.getTime() - DAY_MS);
  if (from >= to) throw new UserFacingError(ErrorType.InvalidArgument, 'from must be before to');
  if (to.getTime() - from.getTime() > MAX_SPAN_MS) {
    throw new UserFacingError(ErrorType.InvalidArgument, 'the range is longer than 5 years');
  }
  const grain = pickGrain(request.granularity ?? 'auto', from, to, deps.retention.policy.hourlyDays);
  const { rows, until } = await asCaller(deps.sql, deps.principal.claims, async (tx) => ({
    rows: await rollupRows(tx, grain, {
      tenantId,
      includeShared: request.includeShared ?? false,
      from,
      to,
      tool: request.tool,
      model: request.model,
      provider: request.provider,
      limit: MAX_POINTS + 1,
    }),
    until: await rolledUpUntil(tx, grain),
  }));
  return {
    granularity: grain === 'hour' ? 'hourly' : 'daily',
    from: from.toISOString(),
    to: to.toISOString(),
    rolledUpUntil: until?.toISOString() ?? null,
    series: toSeries(rows.slice(0, MAX_POINTS)),
    truncated: rows.length > MAX_POINTS,
  };
}

/** Hourly rows for short spans still within hourly retention; daily rows otherwise. */
function pickGrain(requested: 'auto' | 'hourly' | 'daily', from: Date, to: Date, hourlyDays: number): Grain {
  if (requested !== 'auto') return requested === 'hourly' ? 'hour' : 'day';
  const short = to.getTime() - from.getTime() <= HOURLY_UP_TO_MS;
  const kept = from.getTime() >= Date.now() - hourlyDays * DAY_MS - HOUR_MS;
  return short && kept ? 'hour' : 'day';
}

function toSeries(rows: RollupRow[]): PerformanceSeries[] {
  const series: PerformanceSeries[] = [];
  for (const r of rows) {
    let last = series.at(-1);
    if (
      !last ||
      last.tool !== r.tool ||
      last.model !== r.model ||
      last.provider !== r.provider ||
      last.paramHash !== r.paramHash ||
      last.shared !== r.shared
    ) {
      last = {
        tool: r.tool,
        model: r.model,
        provider: r.provider,
        paramHash: r.paramHash,
        shared: r.shared,
        points: [],
      };
      series.push(last);
    }
    last.points.push({
      bucket: r.bucket.toISOString(),
      calls: r.calls,
      errors: r.errors,
      errorRate: r.calls ? r.errors / r.calls : 0,
      avgMs: r.avgMs,
      p50Ms: r.p50Ms,
      p95Ms: r.p95Ms,
      p99Ms: r.p99Ms,
      tokens: r.tokens,
    });
  }
  return series;
}
