/**
 * `performance_report`: latency percentiles and error rates of AI calls from the retention rollups, as
 * hourly or daily series (app/performance.ts: performanceReport), read as the caller under RLS.
 */
import { z } from 'zod';
import { MAX_POINTS, performanceReport } from '../../app/performance.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

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
    async (args) => toolResult({ ...(await performanceReport(ctx, args)) }),
  );
}
