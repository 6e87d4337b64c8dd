/**
 * `retention_run_now`: run retention now instead of waiting for the schedule: roll up metrics, purge by
 * policy, apply email retention and delete queued files. `dryRun` reports what would be purged and
 * changes nothing. Scope `tenant` (default) touches only the caller's organization's data; scope `all` is
 * what the schedule does, for the deployment's operators.
 *
 * The run's id is `retention/<tenant|all>/<run-now|dry-run>`: a second call while one runs joins it,
 * a call after it finished starts a fresh run.
 */
import { z } from 'zod';
import { recordAudit } from '../../supabase/audit.js';
import { workflowUiUrl } from '../../temporal/client.js';
import {
  type RetentionInput,
  type RetentionReport,
  retentionRollupWorkflow,
} from '../../workflows/retention-rollup.js';
import { searchAttribute, summaryText, TenantId } from '../../workflows/search-attributes.js';
import type { ToolContext } from '../context.js';
import { requireRole, resolveTenant } from '../principal.js';
import { DELETING_ROLES, requireOperator } from '../retention-access.js';
import { startOrJoin } from '../start-workflow.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg, waitArg } from '../tool-schemas.js';
import { waitForWorkflow } from '../wait.js';
import { WorkflowStatus } from './workflow-status.js';

const counts = z.object({ rows: z.number().int(), batches: z.number().int() });
const rollup = z.object({
  from: z.string(),
  to: z.string(),
  windows: z.number().int(),
  groups: z.number().int(),
  changed: z.number().int(),
});

export const RetentionReportSchema = z.object({
  asOf: z.string(),
  dryRun: z.boolean(),
  scope: z.string().describe('"all", or the tenant whose data the run kept to'),
  rollups: z.object({ hourly: rollup, daily: rollup }),
  purged: z.record(z.string(), counts).describe('Rows purged (or, dry, that would be) per table'),
  emails: z.object({
    tenants: z.number().int(),
    emails: z.number().int(),
    attachments: z.number().int(),
    filesQueued: z.number().int(),
    batches: z.number().int(),
  }),
  files: z.object({
    deleted: z.number().int(),
    skipped: z.number().int(),
    postponed: z.number().int(),
    failed: z.number().int(),
  }),
  durationMs: z.number(),
});

export function registerRetentionRunNow(server: ToolRegistry, ctx: ToolContext): void {
  const { policy } = ctx.retention;
  server.registerTool(
    'retention_run_now',
    {
      title: 'Run retention now',
      description:
        'Roll up performance metrics into hourly and daily percentiles, purge data past its retention ' +
        `(raw metrics ${policy.rawDays} days, hourly ${policy.hourlyDays} days, daily ${policy.dailyDays} ` +
        'days, emails per organization policy, stale ingest failures, staged content, finished mbox ' +
        'ledgers) and delete the files retention queued. dryRun reports what would be purged and changes ' +
        'nothing. Deleting needs the owner or admin role.',
      inputSchema: {
        dryRun: z.boolean().default(false).describe('Report what would be purged; delete nothing'),
        scope: z
          .enum(['tenant', 'all'])
          .default('tenant')
          .describe('"tenant": your organization\'s data only; "all": every tenant (operators only)'),
        tenant: tenantArg,
        wait: waitArg,
      },
      outputSchema: {
        workflowId: z.string(),
        runId: z.string(),
        status: WorkflowStatus,
        report: RetentionReportSchema.optional(),
        temporalUiUrl: z.string(),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args, extra) => {
      const tenantId = await resolveTenant(ctx.sql, ctx.principal, args.tenant);
      const what = args.dryRun ? 'a retention dry run' : 'deleting data by retention policy';
      if (args.scope === 'all') await requireOperator(ctx, `${what} for all tenants`);
      else if (!args.dryRun) requireRole(ctx.principal, tenantId, DELETING_ROLES, what);

      const scope = args.scope === 'all' ? 'all' : tenantId;
      const workflowId = `retention/${scope}/${args.dryRun ? 'dry-run' : 'run-now'}`;
      const input: RetentionInput = {
        policy,
        dryRun: args.dryRun,
        ...(args.scope === 'tenant' ? { tenantId } : {}),
      };
      const { handle, runId, existing } = await startOrJoin(
        ctx.client,
        retentionRollupWorkflow,
        {
          taskQueue: ctx.taskQueue,
          workflowId,
          args: [input],
          // The caller's tenant, also for scope "all": so get_workflow finds the run for them.
          typedSearchAttributes: [searchAttribute(TenantId, tenantId)],
          staticSummary: summaryText(
            `Retention ${args.dryRun ? 'dry run' : 'run'} for ${args.scope === 'all' ? 'all tenants' : `tenant ${tenantId}`}, started by ${ctx.principal.actor}`,
          ),
        },
        'replace',
      );
      if (!args.dryRun && !existing) {
        await recordAudit(ctx.sql, {
          tenantId,
          actor: ctx.principal.actor,
          action: 'retention.run',
          subjectType: 'workflow',
          subjectId: workflowId,
          detail: { scope: args.scope, runId },
        });
      }
      const base = { workflowId, runId, temporalUiUrl: workflowUiUrl(ctx.temporal, workflowId, runId) };
      if (!args.wait) return toolResult({ ...base, status: 'running' });
      const outcome = await waitForWorkflow<RetentionReport, never>(handle, {
        waitMs: ctx.waitMs,
        signal: extra.signal,
      });
      if (outcome.status === 'failed') throw outcome.error;
      if (outcome.status === 'running') return toolResult({ ...base, status: 'running' });
      return toolResult({ ...base, status: 'completed', report: outcome.result });
    },
  );
}
