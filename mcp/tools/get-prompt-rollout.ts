/**
 * `get_prompt_rollout`: a tool/provider's rollout: live from the running workflow (stage, percent,
 * per-arm metrics so far, gate evidence), or the latest (or a given) one from the database once it has
 * ended. Any member may read it; the row is read as the caller.
 */
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { asCaller } from '../../supabase/caller.js';
import { findRollout } from '../../supabase/prompt-rollouts.js';
import { statusQuery } from '../../workflows/prompt-rollout.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
import {
  liveOutput,
  pairOf,
  providerArg,
  rolloutOutput,
  rowOutput,
  runningRollout,
  toolNameArg,
} from '../prompt-rollouts.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

export function registerGetPromptRollout(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'get_prompt_rollout',
    {
      title: 'Get a prompt rollout',
      description:
        "A tool/provider's prompt rollout: status, stage, traffic percent, each arm's calls, error rate, " +
        'valid-output rate and p95 latency so far, and every gate evaluation with its numbers. The running ' +
        'one by default, else the latest; or the one with `rolloutId`.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        rolloutId: z.uuid().optional().describe('A specific rollout; defaults to the running or latest one'),
        tenant: tenantArg,
      },
      outputSchema: rolloutOutput,
      annotations: READ_ONLY,
    },
    async (args) => {
      await resolveTenant(ctx.sql, ctx.principal, args.tenant);
      const pair = pairOf(ctx, args);
      const running = await runningRollout(ctx.client, pair);
      if (running) {
        const live = await running.handle.query(statusQuery);
        if (!args.rolloutId || args.rolloutId === live.rolloutId) {
          return toolResult({ ...liveOutput(ctx, live, running.description.runId) });
        }
      }
      const row = await asCaller(ctx.sql, ctx.principal.claims, (tx) =>
        findRollout(tx, pair, args.rolloutId),
      );
      if (!row) {
        throw new UserFacingError(
          ErrorType.NotFound,
          args.rolloutId
            ? `no rollout ${args.rolloutId} of ${pair.toolName}/${pair.provider}`
            : `${pair.toolName}/${pair.provider} has never been rolled out`,
        );
      }
      return toolResult({ ...rowOutput(ctx, row) });
    },
  );
}
