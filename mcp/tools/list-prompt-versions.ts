/**
 * `list_prompt_versions`: a tool's prompt versions per provider that the caller's organization sees (its
 * own and the global ones it inherits, marked by `scope`), newest first, with the active and the serving
 * one and any open rollout (app/prompts.ts: listPromptVersions). Any member may read it.
 */
import { z } from 'zod';
import { listPromptVersions } from '../../app/prompts.js';
import type { ToolContext } from '../context.js';
import { providerArg, scopeOutput, toolNameArg } from '../prompt-rollouts.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

export function registerListPromptVersions(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'list_prompt_versions',
    {
      title: 'List prompt versions',
      description:
        "A tool's system-prompt versions (all providers, or one): your organization's own (`scope: " +
        '"tenant"`) and the global default set it inherits (`scope: "global"`), own first, newest first, ' +
        'with the active one of each scope, the one serving your mail, and any rollout in progress. ' +
        'Content is included with `includeContent`.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        scope: z
          .enum(['tenant', 'global'])
          .optional()
          .describe('Only your organization’s own versions, or only the global ones; default both'),
        includeContent: z.boolean().default(false).describe('Include each version’s prompt text'),
        limit: z.number().int().min(1).max(200).default(50),
        tenant: tenantArg,
      },
      outputSchema: {
        versions: z.array(
          z.object({
            id: z.string(),
            scope: scopeOutput,
            provider: z.string(),
            version: z.number().int(),
            active: z.boolean().describe('Active in its scope'),
            serving: z
              .boolean()
              .describe(
                'The version that serves your mail (outside a rollout): your own active one, else the global one',
              ),
            contentSha256: z.string(),
            createdBy: z.string(),
            changeDescription: z.string(),
            createdAt: z.string(),
            content: z.string().optional(),
            rollout: z
              .object({
                rolloutId: z.string(),
                role: z.enum(['baseline', 'candidate']),
                status: z.string(),
                percent: z.number().int(),
              })
              .optional()
              .describe('Set while this version is in an open rollout'),
          }),
        ),
      },
      annotations: READ_ONLY,
    },
    async (args) => toolResult({ ...(await listPromptVersions(ctx, args)) }),
  );
}
