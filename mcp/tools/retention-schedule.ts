/**
 * `retention_schedule`: look at and steer the retention Temporal Schedule. `describe` is open to every
 * caller; `pause`, `unpause`, `trigger` and `backfill` are for the deployment's operators (owners and
 * admins of RETENTION_OPERATOR_TENANT) and are written to that organization's audit log.
 *
 * - `trigger` takes one action now, queued behind a run still going (BUFFER_ONE), also while paused.
 * - `backfill` takes the actions the schedule would have taken in [from, to), one after the other
 *   (BUFFER_ALL). Each run takes its time from its action, so it rolls up that hour again; windows whose
 *   raw metrics are already purged are left as they are.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { DAY_MS } from '../../core/retention.js';
import { recordAudit } from '../../supabase/audit.js';
import { scheduleInfo } from '../../workers/retention-schedule.js';
import type { ToolContext } from '../context.js';
import { requireOperator } from '../retention-access.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STEERS_WORKFLOW } from '../tool-schemas.js';

const MAX_BACKFILL_DAYS = 31;
/** A little clock skew between this server and Temporal is not a "future" range. */
const SKEW_MS = 60_000;

const isoTime = z.iso.datetime({ offset: true });

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
        temporalUiUrl: z.string(),
      },
      annotations: STEERS_WORKFLOW,
    },
    async (args) => {
      const { id } = ctx.retention.schedule;
      const handle = ctx.client.schedule.getHandle(id);
      const describe = () =>
        handle.describe().catch((err: unknown) => {
          throw err instanceof ScheduleNotFoundError
            ? new UserFacingError(
                ErrorType.NotFound,
                `the retention schedule "${id}" does not exist: start a worker or run \`npm run schedules\``,
              )
            : err;
        });
      let backfill: { from: Date; to: Date } | undefined;
      if (args.action === 'backfill') {
        const parsed = BackfillRange.safeParse({ from: args.from, to: args.to });
        if (!parsed.success) {
          throw new UserFacingError(
            ErrorType.InvalidArgument,
            `backfill needs a valid range: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'range'}: ${i.message}`).join('; ')}`,
          );
        }
        backfill = parsed.data;
      }
      if (args.action !== 'describe') {
        const operator = await requireOperator(ctx, `${args.action} on the retention schedule`);
        await describe(); // NotFound before anything is recorded
        const note = (verb: string) => args.note ?? `${verb} by ${ctx.principal.actor} via MCP`;
        if (args.action === 'pause') await handle.pause(note('Paused'));
        else if (args.action === 'unpause') await handle.unpause(note('Unpaused'));
        else if (args.action === 'trigger') await handle.trigger(ScheduleOverlapPolicy.BUFFER_ONE);
        else if (backfill) {
          await handle.backfill({
            start: backfill.from,
            end: backfill.to,
            overlap: ScheduleOverlapPolicy.BUFFER_ALL,
          });
        }
        await recordAudit(ctx.sql, {
          tenantId: operator,
          actor: ctx.principal.actor,
          action: `retention.schedule.${args.action}`,
          subjectType: 'schedule',
          subjectId: id,
          detail: backfill
            ? { from: backfill.from.toISOString(), to: backfill.to.toISOString() }
            : args.note
              ? { note: args.note }
              : {},
        });
      }
      return toolResult({
        action: args.action,
        schedule: scheduleInfo(await describe()),
        ...(backfill
          ? { backfill: { from: backfill.from.toISOString(), to: backfill.to.toISOString() } }
          : {}),
        temporalUiUrl: `${ctx.temporal.uiUrl}/namespaces/${encodeURIComponent(ctx.temporal.namespace)}/schedules/${encodeURIComponent(id)}`,
      });
    },
  );
}
