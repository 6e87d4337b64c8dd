/**
 * `get_prompt_rollout`: a tool/provider's rollout, live from the running workflow or from the database
 * once it has ended (app/prompts.ts: getPromptRollout). Any member may read it.
 */
import { z } from 'zod';
import { getPromptRollout } from '../../app/prompts.js';
import type { ToolContext } from '../context.js';
import { providerArg, rolloutOutput, scopeArg, toolNameArg } from '../prompt-rollouts.js';
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
        'one by default, else the latest, of your organization\'s prompt (or with `scope: "global"` of the ' +
        'global default set); or the one with `rolloutId`, yours or a global one.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        scope: scopeArg,
        rolloutId: z.uuid().optional().describe('A specific rollout; defaults to the running or latest one'),
        tenant: tenantArg,
      },
      outputSchema: rolloutOutput,
      annotations: READ_ONLY,
    },
    async (args) => toolResult({ ...(await getPromptRollout(ctx, args)) }),
  );
}
