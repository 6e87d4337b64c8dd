/**
 * Percentiles by PostgreSQL's percentile_cont definition: linear interpolation between the two values
 * around rank p·(n−1) of the sorted values, computed as lo + (hi − lo)·fraction in float64, the way
 * Postgres does. Tests use it to recompute the rollups independently; benchmarks for their figures.
 */
export function percentileCont(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}
