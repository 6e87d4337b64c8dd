/**
 * `retention_schedule`: look at and steer the retention Temporal Schedule (app/retention.ts:
 * retentionSchedule). `describe` is open to every caller; the rest is for the deployment's operators.
 */
import { z } from 'zod';
import { isoTime, retentionSchedule } from '../../app/retention.js';
import type { ToolContext } from '../context.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STEERS_WORKFLOW } from '../tool-schemas.js';

const ScheduleInfoSchema = z.object({
  scheduleId: z.string(),
  paused: z.boolean(),
  note: z.string().optional(),
  everySeconds: z.number(),
  offsetSeconds: z.number(),
  overlap: z.string(),
  catchupWindowSeconds: z.number(),
  workflowType: z.string(),
  taskQueue: z.string(),
  actionsTaken: z.number().int(),
  skippedOverlap: z.number().int(),
  missedCatchupWindow: z.number().int(),
  nextRuns: z.array(z.string()),
  recentRuns: z.array(
    z.object({ scheduledAt: z.string(), startedAt: z.string(), workflowId: z.string(), runId: z.string() }),
  ),
  running: z.array(z.object({ workflowId: z.string(), runId: z.string() })),
});

export function registerRetentionSchedule(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'retention_schedule',
    {
      title: 'Retention schedule',
      description:
        'The Temporal Schedule that runs retention (hourly by default). describe: spec, policies, state, ' +
        'next and recent runs. pause / unpause (with an optional note), trigger (one run now), backfill ' +
        '(the runs the schedule would have taken between from and to, e.g. after fixing lost rollups). ' +
        'All but describe are for the deployment’s operators.',
      inputSchema: {
        action: z.enum(['describe', 'pause', 'unpause', 'trigger', 'backfill']),
        from: isoTime.optional().describe('backfill: start of the range (ISO 8601)'),
        to: isoTime.optional().describe('backfill: end of the range (ISO 8601)'),
        note: z.string().trim().max(200).optional().describe('pause / unpause: why, shown in the Web UI'),
      },
      outputSchema: {
        action: z.string(),
        schedule: ScheduleInfoSchema,
        backfill: z.object({ from: z.string(), to: z.string() }).optional(),
        temporalUiUrl: z.string().optional().describe('Temporal Web UI link: for owners and admins only'),
      },
      annotations: STEERS_WORKFLOW,
    },
    async (args) => toolResult({ ...(await retentionSchedule(ctx, args)) }),
  );
}
