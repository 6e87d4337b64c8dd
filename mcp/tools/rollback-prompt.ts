/**
 * `rollback_prompt`: make any other version of a tool/provider's prompt the active one, audited
 * (app/prompts.ts: rollbackPrompt). Refused while a rollout runs: abort it first.
 */
import { z } from 'zod';
import { rollbackPrompt } from '../../app/prompts.js';
import type { ToolContext } from '../context.js';
import { providerArg, scopeArg, scopeOutput, toolNameArg } from '../prompt-rollouts.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg } from '../tool-schemas.js';

export function registerRollbackPrompt(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'rollback_prompt',
    {
      title: 'Activate an earlier prompt version',
      description:
        "Make another version of a tool/provider's system prompt the active one, at once, for all of the " +
        "scope's traffic (audited, with your reason): your organization's own prompt (default), or with " +
        '`scope: "global"` the global default set (operator organization only). `version: "global"` returns ' +
        'your organization to the global default. Refused while a rollout of that prompt runs: abort it ' +
        'first with control_prompt_rollout. Needs the owner or admin role.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        scope: scopeArg,
        version: z
          .union([z.number().int().positive(), z.literal('global')])
          .describe(
            'The version of the scope to make active; `"global"` (tenant scope) drops your own version so the global default serves your mail again',
          ),
        reason: z.string().min(1).max(500).describe('Why, for the audit log'),
        tenant: tenantArg,
      },
      outputSchema: {
        toolName: z.string(),
        provider: z.string(),
        scope: scopeOutput.describe('The scope that changed'),
        activeScope: scopeOutput.describe('Whose version serves the scope now'),
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
    async (args) => toolResult({ ...(await rollbackPrompt(ctx, args)) }),
  );
}
