/**
 * Retention on request, the retention schedule, and each organization's email retention policy.
 *
 * Who may do what: the schedule and runs over every tenant belong to the operator organization
 * (RETENTION_OPERATOR_TENANT, by default the deployment's own DURABLE_INBOX_TENANT): its owners and
 * admins may pause, trigger and backfill the schedule and run retention for all tenants. Any
 * organization's owners and admins may run retention (also a dry run) on their own data and set its
 * email policy; every role may read the policy and the schedule (app/permissions.ts).
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../core/errors.js';
import type { WorkflowStatus } from '../core/records.js';
import { DAY_MS } from '../core/retention.js';
import { recordAudit } from '../supabase/audit.js';
import { emailRetention, setEmailRetention } from '../supabase/retention.js';
import { findTenant } from '../supabase/tenants.js';
import {
  type RetentionInput,
  type RetentionReport,
  retentionRollupContract,
  retentionWorkflowId,
} from '../workflows/retention-rollup.contract.js';
import { searchAttribute, summaryText, TenantId } from '../workflows/search-attributes.js';
import type { AppDeps, WaitRequest } from './deps.js';
import { type Action, authorize, seesTemporalUi } from './permissions.js';
import { resolveTenant } from './principal.js';
import { type RetentionScheduleInfo, scheduleInfo } from './retention-schedule.js';
import { waitForWorkflow } from './wait.js';
import { startOrJoin, uiLink, withinCallBound } from './workflows.js';

/**
 * The operator organization's id, when the caller belongs to it and its role there may do `action`
 * (the permission matrix: owner or admin); else Forbidden.
 */
export async function requireOperator(
  deps: Pick<AppDeps, 'sql' | 'principal' | 'retention'>,
  what: string,
  action: Action,
): Promise<string> {
  const operator = await findTenant(deps.sql, deps.retention.operatorTenant);
  if (!operator || !deps.principal.tenants.some((t) => t.tenantId === operator.id)) {
    throw new UserFacingError(
      ErrorType.Forbidden,
      `${what} is for the operators of this deployment (owners and admins of the organization RETENTION_OPERATOR_TENANT names)`,
    );
  }
  authorize(deps.principal, operator.id, action);
  return operator.id;
}

// ---- Retention now --------------------------------------------------------------------------------

export interface RunRetentionRequest extends WaitRequest {
  dryRun?: boolean;
  /** "tenant": the caller's organization's data only; "all": every tenant (operators only). */
  scope?: 'tenant' | 'all';
  tenant?: string;
}

export interface RunRetentionOutcome {
  workflowId: string;
  runId: string;
  status: Extract<WorkflowStatus, 'running' | 'completed'>;
  report?: RetentionReport;
  /** Owners and admins only. */
  temporalUiUrl?: string;
}

/**
 * Run retention now instead of waiting for the schedule. The run's id is
 * `retention/<tenant|all>/<run-now|dry-run>`: a second call while one runs joins it, a call after it
 * finished starts a fresh run. A real run (not a dry one) is audited.
 */
export async function runRetention(
  deps: AppDeps,
  request: RunRetentionRequest,
): Promise<RunRetentionOutcome> {
  const dryRun = request.dryRun ?? false;
  const scopeArg = request.scope ?? 'tenant';
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(deps.principal, tenantId, dryRun ? 'retention_run_now.dryRun' : 'retention_run_now');
  const what = dryRun ? 'a retention dry run' : 'deleting data by retention policy';
  if (scopeArg === 'all') {
    await requireOperator(
      deps,
      `${what} for all tenants`,
      dryRun ? 'retention_run_now.dryRun' : 'retention_run_now',
    );
  }

  const workflowId = retentionWorkflowId(scopeArg === 'all' ? 'all' : tenantId, dryRun);
  const input: RetentionInput = {
    policy: deps.retention.policy,
    dryRun,
    ...(scopeArg === 'tenant' ? { tenantId } : {}),
  };
  const { handle, runId, existing } = await startOrJoin(
    deps.temporal,
    retentionRollupContract,
    {
      workflowId,
      args: [input],
      // The caller's tenant, also for scope "all": so get_workflow finds the run for them.
      typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
      staticSummary: summaryText(
        `Retention ${dryRun ? 'dry run' : 'run'} for ${scopeArg === 'all' ? 'all tenants' : `tenant ${tenantId}`}, started by ${deps.principal.actor}`,
      ),
    },
    'replace',
  );
  if (!dryRun && !existing) {
    await recordAudit(deps.sql, {
      tenantId,
      actor: deps.principal.actor,
      action: 'retention.run',
      subjectType: 'workflow',
      subjectId: workflowId,
      detail: { scope: scopeArg, runId },
    });
  }
  const base = { workflowId, runId, ...uiLink(deps, tenantId, workflowId, runId) };
  if (request.wait === false) return { ...base, status: 'running' };
  const outcome = await waitForWorkflow<RetentionReport, never>(handle, {
    waitMs: deps.waitMs,
    signal: request.signal,
  });
  if (outcome.status === 'failed') throw outcome.error;
  if (outcome.status === 'running') return { ...base, status: 'running' };
  return { ...base, status: 'completed', report: outcome.result };
}

// ---- The schedule ---------------------------------------------------------------------------------

const MAX_BACKFILL_DAYS = 31;
/** A little clock skew between this server and Temporal is not a "future" range. */
const SKEW_MS = 60_000;

export const isoTime = z.iso.datetime({ offset: true });

/** A backfill range: both ends, in order, in the past, at most MAX_BACKFILL_DAYS long. */
export const BackfillRange = z
  .object({
    from: isoTime.describe('Start of the range (ISO 8601)'),
    to: isoTime.describe('End of the range (ISO 8601)'),
  })
  .transform((r) => ({ from: new Date(r.from), to: new Date(r.to) }))
  .refine((r) => r.from < r.to, 'from must be before to')
  .refine((r) => r.to.getTime() <= Date.now() + SKEW_MS, 'to must not be in the future')
  .refine(
    (r) => r.to.getTime() - r.from.getTime() <= MAX_BACKFILL_DAYS * DAY_MS,
    `a backfill covers at most ${MAX_BACKFILL_DAYS} days`,
  );

export interface RetentionScheduleRequest {
  action: 'describe' | 'pause' | 'unpause' | 'trigger' | 'backfill';
  from?: string;
  to?: string;
  note?: string;
}

export interface RetentionScheduleOutcome {
  action: string;
  schedule: RetentionScheduleInfo;
  backfill?: { from: string; to: string };
  /** Owners and admins only. */
  temporalUiUrl?: string;
}

/**
 * Look at and steer the retention Temporal Schedule. `describe` is open to every caller; the rest is
 * for operators, and audited in the operator organization.
 * - `trigger` takes one action now, queued behind a run still going (BUFFER_ONE), also while paused.
 * - `backfill` takes the actions the schedule would have taken in [from, to), one after the other
 *   (BUFFER_ALL). Each run takes its time from its action, so it rolls up that hour again; windows whose
 *   raw metrics are already purged are left as they are.
 */
export async function retentionSchedule(
  deps: AppDeps,
  request: RetentionScheduleRequest,
): Promise<RetentionScheduleOutcome> {
  // Every role may look; steering is for the operator organization's owners and admins (requireOperator),
  // checked before the arguments so a caller who may not steer learns nothing from them.
  let operator: string | undefined;
  let callerTenant: string;
  if (request.action === 'describe') {
    callerTenant = await resolveTenant(deps.sql, deps.principal);
    authorize(deps.principal, callerTenant, 'retention_schedule.describe');
  } else {
    const what = `${request.action} on the retention schedule`;
    operator = await requireOperator(deps, what, 'retention_schedule.change');
    callerTenant = operator;
  }
  const { id } = deps.retention.schedule;
  const handle = deps.temporal.client.schedule.getHandle(id);
  const describe = () =>
    withinCallBound(deps.temporal, () => handle.describe()).catch((err: unknown) => {
      throw err instanceof ScheduleNotFoundError
        ? new UserFacingError(
            ErrorType.NotFound,
            `the retention schedule "${id}" does not exist: start a worker or run \`npm run schedules\``,
          )
        : err;
    });
  let backfill: { from: Date; to: Date } | undefined;
  if (request.action === 'backfill') {
    const parsed = BackfillRange.safeParse({ from: request.from, to: request.to });
    if (!parsed.success) {
      throw new UserFacingError(
        ErrorType.InvalidArgument,
        `backfill needs a valid range: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'range'}: ${i.message}`).join('; ')}`,
      );
    }
    backfill = parsed.data;
  }
  if (operator) {
    await describe(); // NotFound before anything is recorded
    const note = (verb: string) => request.note ?? `${verb} by ${deps.principal.actor} via MCP`;
    await withinCallBound(deps.temporal, async () => {
      if (request.action === 'pause') await handle.pause(note('Paused'));
      else if (request.action === 'unpause') await handle.unpause(note('Unpaused'));
      else if (request.action === 'trigger') await handle.trigger(ScheduleOverlapPolicy.BUFFER_ONE);
      else if (backfill) {
        await handle.backfill({
          start: backfill.from,
          end: backfill.to,
          overlap: ScheduleOverlapPolicy.BUFFER_ALL,
        });
      }
    });
    await recordAudit(deps.sql, {
      tenantId: operator,
      actor: deps.principal.actor,
      action: `retention.schedule.${request.action}`,
      subjectType: 'schedule',
      subjectId: id,
      detail: backfill
        ? { from: backfill.from.toISOString(), to: backfill.to.toISOString() }
        : request.note
          ? { note: request.note }
          : {},
    });
  }
  const { target } = deps.temporal;
  return {
    action: request.action,
    schedule: scheduleInfo(await describe()),
    ...(backfill ? { backfill: { from: backfill.from.toISOString(), to: backfill.to.toISOString() } } : {}),
    ...(seesTemporalUi(deps.principal, callerTenant)
      ? {
          temporalUiUrl: `${target.uiUrl}/namespaces/${encodeURIComponent(target.namespace)}/schedules/${encodeURIComponent(id)}`,
        }
      : {}),
  };
}

// ---- Email retention policy -----------------------------------------------------------------------

export interface EmailRetentionOutcome {
  tenantId: string;
  /** null: emails are kept forever. */
  emailRetentionDays: number | null;
  /** Set only when this call changed it. */
  previousDays?: number | null;
  changed: boolean;
}

/**
 * Read (`days` undefined) or set (a number of days, or null to keep forever; owners and admins) how long
 * the organization keeps its emails. A change writes an audit row in the same transaction.
 */
export async function emailRetentionPolicy(
  deps: AppDeps,
  request: { days?: number | null; tenant?: string },
): Promise<EmailRetentionOutcome> {
  const tenantId = await resolveTenant(deps.sql, deps.principal, request.tenant);
  authorize(
    deps.principal,
    tenantId,
    request.days === undefined ? 'email_retention_policy.read' : 'email_retention_policy.set',
  );
  if (request.days === undefined) {
    const days = await emailRetention(deps.sql, tenantId);
    return { tenantId, emailRetentionDays: days, changed: false };
  }
  const days = request.days;
  const previous = await deps.sql.begin(async (tx) => {
    const before = await emailRetention(tx, tenantId, { forUpdate: true });
    if (before === days) return before;
    await setEmailRetention(tx, tenantId, days);
    await recordAudit(tx, {
      tenantId,
      actor: deps.principal.actor,
      action: 'retention.email_policy',
      subjectType: 'organization',
      subjectId: tenantId,
      detail: { from: before, to: days },
    });
    return before;
  });
  const changed = previous !== days;
  return { tenantId, emailRetentionDays: days, changed, ...(changed ? { previousDays: previous } : {}) };
}
