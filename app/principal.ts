/**
 * Who is calling, and for which tenant. A principal comes from the transport: the stdio entry acts for
 * the tenant set in its environment; the HTTP entry authenticates a bearer token (mcp/auth.ts).
 */
import { ErrorType, UserFacingError } from '../core/errors.js';
import { asCaller, type CallerClaims } from '../supabase/caller.js';
import type { Sql } from '../supabase/db.js';
import { findTenant, type MemberRole } from '../supabase/tenants.js';

export interface Principal {
  /** For logs and audit: `api-key:<id>`, `user:<id>` or `stdio:<tenant>`. */
  actor: string;
  /** The claims that reads run under, so RLS applies (supabase/caller.ts). */
  claims: CallerClaims;
  /** Tenants the principal may act for; the first is the default. */
  tenants: { tenantId: string; role: MemberRole }[];
}

/** The tenant a tool call acts for: the requested one (id or slug) if the principal may, else the default. */
export async function resolveTenant(sql: Sql, principal: Principal, requested?: string): Promise<string> {
  if (!requested) {
    const first = principal.tenants[0];
    if (!first) throw new UserFacingError(ErrorType.Forbidden, 'this identity belongs to no organization');
    return first.tenantId;
  }
  // As the caller: RLS only shows organizations the caller belongs to, a second wall behind the check below.
  const tenant = await asCaller(sql, principal.claims, (tx) => findTenant(tx, requested));
  const allowed = tenant && principal.tenants.some((t) => t.tenantId === tenant.id);
  if (!allowed) {
    throw new UserFacingError(
      ErrorType.Forbidden,
      `tenant "${requested}" is not one this identity can act for`,
    );
  }
  return tenant.id;
}
