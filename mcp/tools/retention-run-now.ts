/**
 * `retention_run_now`: run retention now instead of waiting for the schedule (app/retention.ts:
 * runRetention). `dryRun` reports what would be purged and changes nothing. Scope `tenant` (default)
 * touches only the caller's organization's data; scope `all` is what the schedule does, for operators.
 */
import { z } from 'zod';
import { runRetention } from '../../app/retention.js';
import { WorkflowStatusSchema } from '../../core/records.js';
import type { ToolContext } from '../context.js';
import { waitingFor } from '../progress.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg, waitArg } from '../tool-schemas.js';

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
        status: WorkflowStatusSchema,
        report: RetentionReportSchema.optional(),
        temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ wait, ...args }, extra) =>
      toolResult({ ...(await runRetention(ctx, { ...args, ...waitingFor(extra, wait) })) }),
  );
}
