/**
 * `control_prompt_rollout`: steer the running rollout of a tool/provider. pause and resume are signals
 * (the tool waits until the workflow shows them); promote, abort and setStage are updates whose
 * validators refuse what the rollout's state does not allow, with the reason (`InvalidTransition`).
 * Every action is audited in the caller's organization.
 */
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { findRollout } from '../../supabase/prompt-rollouts.js';
import {
  abortUpdate,
  type PromptRolloutStatus,
  pauseSignal,
  promoteUpdate,
  resumeSignal,
  setStageUpdate,
  statusQuery,
} from '../../workflows/prompt-rollout.js';
import type { ToolContext } from '../context.js';
import {
  liveOutput,
  noRunningRollout,
  pairOf,
  promptAdmin,
  providerArg,
  rolloutOutput,
  runningRollout,
  toolNameArg,
} from '../prompt-rollouts.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { STEERS_WORKFLOW, tenantArg } from '../tool-schemas.js';

export function registerControlPromptRollout(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'control_prompt_rollout',
    {
      title: 'Steer a prompt rollout',
      description:
        'Steer the running rollout of a tool/provider: `pause` (hold the current stage past its bake ' +
        'time), `resume`, `promote` (jump to 100%; that stage is still gated before the candidate becomes ' +
        'active), `abort` (roll back now; give a `reason`), `setStage` (move to another stage of the plan; ' +
        'give its `percent`). Invalid transitions are refused with the reason. Needs the owner or admin role.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        action: z.enum(['pause', 'resume', 'promote', 'abort', 'setStage']),
        reason: z.string().min(1).max(500).optional().describe('Why (required for abort)'),
        percent: z.number().int().min(1).max(100).optional().describe('The stage to move to (setStage)'),
        tenant: tenantArg,
      },
      outputSchema: rolloutOutput,
      annotations: STEERS_WORKFLOW,
    },
    async (args) => {
      const by = await promptAdmin(ctx, args.tenant);
      const pair = pairOf(ctx, args);
      const running = await runningRollout(ctx.client, pair);
      if (!running) throw noRunningRollout(pair, await findRollout(ctx.sql, pair));
      const { handle } = running;
      const runId = running.description.runId;

      let status: PromptRolloutStatus;
      switch (args.action) {
        case 'pause':
        case 'resume': {
          const pause = args.action === 'pause';
          const before = await handle.query(statusQuery);
          if ((before.status === 'paused') === pause) {
            throw new UserFacingError(ErrorType.InvalidTransition, `the rollout is already ${before.status}`);
          }
          await handle.signal(pause ? pauseSignal : resumeSignal, by);
          status = await waitUntil(
            () => handle.query(statusQuery),
            (s) => (s.status === 'paused') === pause,
          );
          break;
        }
        case 'promote':
          status = await handle.executeUpdate(promoteUpdate, { args: [by] });
          break;
        case 'abort':
          if (!args.reason) throw new UserFacingError(ErrorType.InvalidInput, 'abort needs a `reason`');
          status = await handle.executeUpdate(abortUpdate, { args: [{ ...by, reason: args.reason }] });
          break;
        case 'setStage':
          if (args.percent === undefined) {
            throw new UserFacingError(ErrorType.InvalidInput, 'setStage needs the `percent` of a stage');
          }
          status = await handle.executeUpdate(setStageUpdate, { args: [{ ...by, percent: args.percent }] });
          break;
      }
      ctx.log.info('prompt rollout steered', {
        actor: by.actor,
        action: args.action,
        workflowId: handle.workflowId,
      });
      return toolResult({
        ...liveOutput(ctx, status, runId),
        live: status.status === 'running' || status.status === 'paused',
      });
    },
  );
}

/** Poll until a signal shows in the workflow's state (it is applied between two workflow tasks). */
async function waitUntil<T>(read: () => Promise<T>, done: (t: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}
