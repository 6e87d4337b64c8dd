/** Per-tenant fairness weights (public.tenant_fairness, set by an operator): 1 when none is set. */
import type { Queryable } from './db.js';

export async function tenantFairnessWeight(sql: Queryable, tenantId: string): Promise<number> {
  const [row] = await sql<{ weight: number }[]>`
    select weight from public.tenant_fairness where tenant_id = ${tenantId}`;
  return row ? Number(row.weight) : 1;
}

export async function setTenantFairnessWeight(
  sql: Queryable,
  tenantId: string,
  weight: number,
): Promise<void> {
  await sql`
    insert into public.tenant_fairness (tenant_id, weight) values (${tenantId}, ${weight})
    on conflict (tenant_id) do update set weight = excluded.weight, updated_at = now()`;
}
