/** The audit log: who did what to which subject, per tenant (migration 20261123000100). */
import type { Queryable } from './db.js';

export interface AuditEntry {
  tenantId: string;
  /** `api-key:<id>`, `user:<id>`, `stdio:<tenant>`. */
  actor: string;
  action: string;
  subjectType: string;
  subjectId?: string;
  detail?: Record<string, unknown>;
}

export async function recordAudit(sql: Queryable, entry: AuditEntry): Promise<void> {
  await sql`
    insert into public.audit_log (tenant_id, actor, action, subject_type, subject_id, detail)
    values (${entry.tenantId}, ${entry.actor}, ${entry.action}, ${entry.subjectType},
      ${entry.subjectId ?? null}, ${sql.json((entry.detail ?? {}) as Parameters<typeof sql.json>[0])})`;
}
