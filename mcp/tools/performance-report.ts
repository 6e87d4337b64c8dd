/**
 * `performance_report`: latency percentiles and error rates of AI calls from the retention rollups, as
 * hourly or daily series, one per (tool, model, provider, param_hash). It reads as the caller, under RLS:
 * the caller's tenant's metrics, plus the shared ones (calls made without a tenant) when asked.
 *
 * Percentiles do not re-aggregate, so a series point is always one rollup row: the p95 of that hour or
 * that day computed from its raw calls, never an average of smaller windows.
 */
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { DAY_MS, HOUR_MS } from '../../core/retention.js';
import { asCaller } from '../../supabase/caller.js';
import { type RollupRow, rolledUpUntil, rollupRows } from '../../supabase/performance.js';
import type { Grain } from '../../supabase/retention.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

const MAX_POINTS = 5000;
/** `auto` picks hourly rows up to this span (and while they are kept), daily ones beyond. */
const HOURLY_UP_TO_MS = 3 * DAY_MS;
const MAX_SPAN_MS = 5 * 366 * DAY_MS;

const Point = z.object({
  bucket: z.string(),
  calls: z.number().int(),
  errors: z.number().int(),
  errorRate: z.number(),
  avgMs: z.number(),
  p50Ms: z.number(),
  p95Ms: z.number(),
  p99Ms: z.number(),
  tokens: z.number(),
});

const Series = z.object({
  tool: z.string(),
  model: z.string(),
  provider: z.string(),
  paramHash: z.string(),
  shared: z.boolean().describe('true for metrics recorded without a tenant'),
  points: z.array(Point),
});

const isoTime = z.iso.datetime({ offset: true });
const name = z.string().trim().min(1).max(200);

export function registerPerformanceReport(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'performance_report',
    {
      title: 'AI performance report',
      description:
        'p50/p95/p99 latency, error rate, calls and tokens of AI calls, as hourly or daily series per ' +
        'tool, model, provider and parameter hash. Default range: the last 24 hours. granularity "auto" ' +
        'uses hourly rollups for up to 3 days and daily ones beyond. Only completed, rolled-up hours and ' +
        'days appear (see rolledUpUntil).',
      inputSchema: {
        from: isoTime.optional().describe('Start (ISO 8601); default: 24 hours before `to`'),
        to: isoTime.optional().describe('End (ISO 8601), exclusive; default: now'),
        tool: name.optional().describe('Only this tool, e.g. analyze_email'),
        model: name.optional(),
        provider: name.optional(),
        granularity: z.enum(['auto', 'hourly', 'daily']).default('auto'),
        includeShared: z
          .boolean()
          .default(false)
          .describe('Add metrics recorded without a tenant (shared by everyone) as their own series'),
        tenant: tenantArg,
      },
      outputSchema: {
        granularity: z.enum(['hourly', 'daily']),
        from: z.string(),
        to: z.string(),
        rolledUpUntil: z.string().nullable().describe('Buckets before this are complete'),
        series: z.array(Series),
        truncated: z.boolean().describe(`true when more than ${MAX_POINTS} points matched`),
      },
      annotations: READ_ONLY,
    },
    async (args) => {
      const tenantId = await resolveTenant(ctx.sql, ctx.principal, args.tenant);
      const to = args.to ? new Date(args.to) : new Date();
      const from = args.from ? new Date(args.from) : new Date(to.getTime() - DAY_MS);
      if (from >= to) throw new UserFacingError(ErrorType.InvalidArgument, 'from must be before to');
      if (to.getTime() - from.getTime() > MAX_SPAN_MS) {
        throw new UserFacingError(ErrorType.InvalidArgument, 'the range is longer than 5 years');
      }
      const grain = pickGrain(args.granularity, from, to, ctx.retention.policy.hourlyDays);
      const { rows, until } = await asCaller(ctx.sql, ctx.principal.claims, async (tx) => ({
        rows: await rollupRows(tx, grain, {
          tenantId,
          includeShared: args.includeShared,
          from,
          to,
          tool: args.tool,
          model: args.model,
          provider: args.provider,
          limit: MAX_POINTS + 1,
        }),
        until: await rolledUpUntil(tx, grain),
      }));
      return toolResult({
        granularity: grain === 'hour' ? 'hourly' : 'daily',
        from: from.toISOString(),
        to: to.toISOString(),
        rolledUpUntil: until?.toISOString() ?? null,
        series: toSeries(rows.slice(0, MAX_POINTS)),
        truncated: rows.length > MAX_POINTS,
      });
    },
  );
}

/** Hourly rows for short spans still within hourly retention; daily rows otherwise. */
function pickGrain(requested: 'auto' | 'hourly' | 'daily', from: Date, to: Date, hourlyDays: number): Grain {
  if (requested !== 'auto') return requested === 'hourly' ? 'hour' : 'day';
  const short = to.getTime() - from.getTime() <= HOURLY_UP_TO_MS;
  const kept = from.getTime() >= Date.now() - hourlyDays * DAY_MS - HOUR_MS;
  return short && kept ? 'hour' : 'day';
}

function toSeries(rows: RollupRow[]): z.infer<typeof Series>[] {
  const series: z.infer<typeof Series>[] = [];
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
