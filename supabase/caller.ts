/**
 * Run SQL as the caller, the way Supabase's API does: `set local role authenticated` and the JWT claims
 * in `request.jwt.claims`. Row Level Security then applies, as a second wall behind the code's own
 * tenant scoping.
 */
import type { Sql, Tx } from './db.js';

export type ApiRole = 'anon' | 'authenticated';

export interface CallerClaims {
  /** auth.uid(): a Supabase user id, or an API key id (see private.is_tenant_member). */
  sub?: string;
  role: ApiRole;
  [claim: string]: unknown;
}

export async function asCaller<T>(sql: Sql, claims: CallerClaims, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const role: ApiRole = claims.role === 'authenticated' ? 'authenticated' : 'anon';
  const result = await sql.begin(async (tx) => {
    // The role name is one of two literals above, never caller input, so it is safe to inline.
    await tx.unsafe(`set local role ${role}`);
    await tx`select set_config('request.jwt.claims', ${JSON.stringify({ ...claims, role })}, true)`;
    return fn(tx);
  });
  return result as T;
}
