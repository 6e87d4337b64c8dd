/**
 * Reads of the performance rollups (performance_hourly, performance_daily) for reports. Callers pass a
 * transaction running as the caller (caller.ts): RLS shows the caller's tenant's rows and the shared ones
 * (metrics without a tenant), on top of the explicit filters here.
 */
import type { Queryable } from './db.js';
import { type Grain, WATERMARKS } from './retention.js';

const TABLES: Record<Grain, string> = { hour: 'public.performance_hourly', day: 'public.performance_daily' };

export interface SeriesFilter {
  tenantId: string;
  includeShared: boolean;
  from: Date;
  to: Date;
  tool?: string;
  model?: string;
  provider?: string;
  limit: number;
}

export interface RollupRow {
  bucket: Date;
  shared: boolean;
  tool: string;
  model: string;
  provider: string;
  paramHash: string;
  calls: number;
  errors: number;
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  tokens: number;
}

/** Rollup rows of one grain in [from, to), grouped for series: group by group, then in time order. */
export async function rollupRows(tx: Queryable, grain: Grain, f: SeriesFilter): Promise<RollupRow[]> {
  return tx<RollupRow[]>`
    select bucket, tenant_id is null as shared, tool_name as tool, model_name as model, provider,
           param_hash as "paramHash", call_count as calls, error_count as errors, avg_ms as "avgMs",
           p50_ms as "p50Ms", p95_ms as "p95Ms", p99_ms as "p99Ms", total_tokens::float8 as tokens
    from ${tx.unsafe(TABLES[grain])}
    where bucket >= ${f.from} and bucket < ${f.to}
      and (tenant_id = ${f.tenantId} or (${f.includeShared} and tenant_id is null))
      and (${f.tool ?? null}::text is null or tool_name = ${f.tool ?? null})
      and (${f.model ?? null}::text is null or model_name = ${f.model ?? null})
      and (${f.provider ?? null}::text is null or provider = ${f.provider ?? null})
    order by tool_name, model_name, provider, param_hash, shared, bucket
    limit ${f.limit}`;
}

/** Every bucket before this is rolled up (null before the first rollup). */
export async function rolledUpUntil(tx: Queryable, grain: Grain): Promise<Date | null> {
  const [row] = await tx<{ watermark: Date }[]>`
    select watermark from public.retention_watermarks where name = ${WATERMARKS[grain]}`;
  return row?.watermark ?? null;
}
