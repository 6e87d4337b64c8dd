/**
 * Who may do what: one table, role × every tool and action, enforced here and nowhere else. Every
 * application function calls `authorize(principal, tenantId, action)` once it knows the tenant it acts
 * for, before it reads or starts anything. The README prints this table (`permissionTable()`); a test
 * calls every tool as every role and checks the answers against it and against its own copy.
 *
 * Some actions have a second, narrower rule on top, kept where it is: runs and schedule changes over
 * every tenant are for the operator organization (RETENTION_OPERATOR_TENANT, app/retention.ts), and so
 * are changes of the global default prompts (`scope: "global"`; PROMPT_ADMIN_ORGS names other
 * organizations for that when set, app/prompts.ts). A tenant's own prompts follow the table alone.
 */
import { ErrorType, UserFacingError } from '../core/errors.js';
import type { MemberRole } from '../supabase/tenants.js';
import type { Principal } from './principal.js';

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const satisfies readonly MemberRole[];

const READ: readonly MemberRole[] = ['owner', 'admin', 'member', 'viewer'];
const WRITE: readonly MemberRole[] = ['owner', 'admin', 'member'];
const ADMIN: readonly MemberRole[] = ['owner', 'admin'];

export interface Permission {
  /** Completes "… needs the owner or admin role" in the Forbidden text. */
  what: string;
  roles: readonly MemberRole[];
}

/** Tool names, and `tool.variant` where one tool's arguments change what it does. */
export const PERMISSIONS = {
  // Reading
  search_emails: { what: 'searching emails', roles: READ },
  get_email: { what: 'reading an email', roles: READ },
  get_workflow: { what: 'reading a workflow run', roles: READ },
  get_prompt_rollout: { what: 'reading a prompt rollout', roles: READ },
  list_prompt_versions: { what: 'listing prompt versions', roles: READ },
  performance_report: { what: 'reading the performance report', roles: READ },
  'email_retention_policy.read': { what: 'reading the email retention policy', roles: READ },
  'retention_schedule.describe': { what: 'reading the retention schedule', roles: READ },
  'inbound_addresses.list': { what: 'listing inbound addresses', roles: READ },
  list_mailboxes: { what: 'listing IMAP mailboxes', roles: READ },
  get_mailbox: { what: 'reading an IMAP mailbox', roles: READ },
  // Writing and spending
  ingest_email: { what: 'ingesting email', roles: WRITE },
  ingest_mailbox: { what: 'importing a mailbox', roles: WRITE },
  upload_file: { what: 'uploading a file', roles: WRITE },
  analyze_email: { what: 'analysing an email', roles: WRITE },
  // Administration: paid re-runs, prompts, retention and its settings
  'analyze_email.force': { what: 're-analysing an email (force)', roles: ADMIN },
  start_prompt_rollout: { what: 'changing prompts', roles: ADMIN },
  control_prompt_rollout: { what: 'changing prompts', roles: ADMIN },
  rollback_prompt: { what: 'changing prompts', roles: ADMIN },
  retention_run_now: { what: 'deleting data by retention policy', roles: ADMIN },
  'retention_run_now.dryRun': { what: 'a retention dry run', roles: ADMIN },
  'retention_schedule.change': { what: 'changing the retention schedule', roles: ADMIN },
  'email_retention_policy.set': { what: 'changing the email retention policy', roles: ADMIN },
  'inbound_addresses.change': { what: 'changing inbound addresses', roles: ADMIN },
  // IMAP mailboxes: credentials and what flows into the tenant
  connect_mailbox: { what: 'connecting an IMAP mailbox', roles: ADMIN },
  pause_mailbox: { what: 'pausing an IMAP mailbox', roles: ADMIN },
  resume_mailbox: { what: 'resuming an IMAP mailbox', roles: ADMIN },
  resync_mailbox: { what: 're-syncing an IMAP mailbox', roles: ADMIN },
  disconnect_mailbox: { what: 'disconnecting an IMAP mailbox', roles: ADMIN },
  // Outgoing webhooks: where the tenant's events go, and their signing secrets
  create_webhook: { what: 'creating a webhook', roles: ADMIN },
  list_webhooks: { what: 'listing webhooks', roles: ADMIN },
  delete_webhook: { what: 'deleting a webhook', roles: ADMIN },
  test_webhook: { what: 'testing a webhook', roles: ADMIN },
  list_webhook_deliveries: { what: 'listing webhook deliveries', roles: ADMIN },
  replay_webhook_delivery: { what: 'replaying a webhook delivery', roles: ADMIN },
  rotate_webhook_secret: { what: "rotating a webhook's secret", roles: ADMIN },
  resume_webhook: { what: 'resuming a webhook', roles: ADMIN },
} as const satisfies Record<string, Permission>;

export type Action = keyof typeof PERMISSIONS;

export const ACTIONS = Object.keys(PERMISSIONS) as Action[];

/** Roles joined as the Forbidden text reads them: "owner or admin", "owner, admin or member". */
export function rolesText(roles: readonly string[]): string {
  return roles.length <= 1 ? (roles[0] ?? 'no') : `${roles.slice(0, -1).join(', ')} or ${roles.at(-1)}`;
}

export function forbiddenText(action: Action, role: MemberRole | undefined): string {
  const { what, roles } = PERMISSIONS[action];
  return `${what} needs the ${rolesText(roles)} role; this identity is ${role ?? 'not a member'}`;
}

export function mayDo(role: MemberRole | undefined, action: Action): boolean {
  return role !== undefined && (PERMISSIONS[action].roles as readonly MemberRole[]).includes(role);
}

export function roleIn(principal: Principal, tenantId: string): MemberRole | undefined {
  return principal.tenants.find((t) => t.tenantId === tenantId)?.role;
}

/** Refuse (Forbidden, saying which role is needed) unless the principal's role in the tenant may. */
export function authorize(principal: Principal, tenantId: string, action: Action): MemberRole {
  const role = roleIn(principal, tenantId);
  if (!role || !mayDo(role, action)) {
    throw new UserFacingError(ErrorType.Forbidden, forbiddenText(action, role));
  }
  return role;
}

/**
 * Who gets Temporal Web UI links (`temporalUiUrl`) in results: the UI of a shared Temporal shows every
 * tenant's runs, so owners and admins only; the others get the workflow id and status.
 */
export const TEMPORAL_UI_ROLES: readonly MemberRole[] = ADMIN;

export function seesTemporalUi(principal: Principal, tenantId: string): boolean {
  const role = roleIn(principal, tenantId);
  return role !== undefined && TEMPORAL_UI_ROLES.includes(role);
}

/** The matrix as a Markdown table, as the README prints it. */
export function permissionTable(): string {
  const head = `| tool / action | ${ROLES.join(' | ')} |`;
  const rule = `|---|${ROLES.map(() => ':-:').join('|')}|`;
  const rows = ACTIONS.map(
    (a) => `| \`${a}\` | ${ROLES.map((r) => (mayDo(r, a) ? 'yes' : '—')).join(' | ')} |`,
  );
  return [head, rule, ...rows].join('\n');
}
