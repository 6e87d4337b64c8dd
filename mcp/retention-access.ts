/**
 * Who may steer retention. The schedule and runs over every tenant belong to the operator organization
 * (RETENTION_OPERATOR_TENANT, by default the deployment's own DURABLE_INBOX_TENANT): its owners and admins
 * may pause, trigger and backfill the schedule and run retention for all tenants. Any organization's
 * owners and admins may run retention on their own data; any member may ask for a dry run.
 */
import { ErrorType, UserFacingError } from '../core/errors.js';
import { findTenant, type MemberRole } from '../supabase/tenants.js';
import type { ToolContext } from './context.js';
import { requireRole } from './principal.js';

export const DELETING_ROLES: MemberRole[] = ['owner', 'admin'];

/** The operator organization's id, when the caller may operate it (owner or admin); else Forbidden. */
export async function requireOperator(ctx: ToolContext, what: string): Promise<string> {
  const operator = await findTenant(ctx.sql, ctx.retention.operatorTenant);
  if (!operator || !ctx.principal.tenants.some((t) => t.tenantId === operator.id)) {
    throw new UserFacingError(
      ErrorType.Forbidden,
      `${what} is for the operators of this deployment (owners and admins of the organization RETENTION_OPERATOR_TENANT names)`,
    );
  }
  requireRole(ctx.principal, operator.id, DELETING_ROLES, what);
  return operator.id;
}
