/**
 * `control_prompt_rollout`: steer the running rollout of a tool/provider (app/prompts.ts:
 * controlRollout). pause and resume are signals; promote, abort and setStage are validated updates.
 * Every action is audited in the log of the tenant whose prompt it is (a global rollout: the operator's).
 */
import { z } from 'zod';
import { controlRollout } from '../../app/prompts.js';
import type { ToolContext } from '../context.js';
import { providerArg, rolloutOutput, scopeArg, toolNameArg } from '../prompt-rollouts.js';
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
        'give its `percent`). Your organization\'s rollout by default; `scope: "global"` for the global one ' +
        '(operator organization only). Invalid transitions are refused with the reason. Needs the owner or admin role.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        scope: scopeArg,
        action: z.enum(['pause', 'resume', 'promote', 'abort', 'setStage']),
        reason: z.string().min(1).max(500).optional().describe('Why (required for abort)'),
        percent: z.number().int().min(1).max(100).optional().describe('The stage to move to (setStage)'),
        tenant: tenantArg,
      },
      outputSchema: rolloutOutput,
      annotations: STEERS_WORKFLOW,
    },
    async (args) => toolResult({ ...(await controlRollout(ctx, args)) }),
  );
}
