/**
 * `rollback_prompt`: make any other version of a tool/provider's prompt the active one, through the same
 * audited SQL function a rollout uses to activate its candidate (history rows, audit row, one
 * transaction). Refused while a rollout runs: abort it first, so two paths never fight over traffic.
 */
import { z } from 'zod';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { activatePromptVersion, findPromptVersion } from '../../supabase/prompts.js';
import type { ToolContext } from '../context.js';
import {
  pairOf,
  promptAdmin,
  providerArg,
  rolloutRunningError,
  runningRollout,
  toolNameArg,
} from '../prompt-rollouts.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg } from '../tool-schemas.js';

export function registerRollbackPrompt(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'rollback_prompt',
    {
      title: 'Activate an earlier prompt version',
      description:
        "Make another version of a tool/provider's system prompt the active one, at once, for all traffic " +
        '(audited, with your reason). Refused while a rollout of that prompt runs: abort it first with ' +
        'control_prompt_rollout. Needs the owner or admin role.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        version: z.number().int().positive().describe('The version to make active'),
        reason: z.string().min(1).max(500).describe('Why, for the audit log'),
        tenant: tenantArg,
      },
      outputSchema: {
        toolName: z.string(),
        provider: z.string(),
        activeVersion: z.number().int(),
        previousVersion: z.number().int().nullable(),
        changed: z.boolean().describe('false when the version was already active'),
        closedRolloutId: z
          .string()
          .nullable()
          .describe('A rollout row its workflow had left open, closed by this change'),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const by = await promptAdmin(ctx, args.tenant);
      const pair = pairOf(ctx, args);
      const running = await runningRollout(ctx.client, pair);
      if (running) throw await rolloutRunningError(running, pair);
      const target = await findPromptVersion(ctx.sql, pair, args.version);
      if (!target) {
        throw new UserFacingError(
          ErrorType.NotFound,
          `${pair.toolName}/${pair.provider} has no version ${args.version}`,
        );
      }
      const result = await activatePromptVersion(ctx.sql, target.id, { ...by, reason: args.reason });
      ctx.log.info('prompt version activated', { actor: by.actor, ...pair, version: target.version });
      return toolResult({
        ...pair,
        activeVersion: result.activeVersion,
        previousVersion: result.previousVersion,
        changed: result.changed,
        closedRolloutId: result.rolloutId,
      });
    },
  );
}
