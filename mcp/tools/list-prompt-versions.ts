/**
 * `list_prompt_versions`: a tool's prompt versions per provider, newest first, with the active one and
 * any open rollout (app/prompts.ts: listPromptVersions). Any member may read it.
 */
import { z } from 'zod';
import { listPromptVersions } from '../../app/prompts.js';
import type { ToolContext } from '../context.js';
import { providerArg, toolNameArg } from '../prompt-rollouts.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { READ_ONLY, tenantArg } from '../tool-schemas.js';

export function registerListPromptVersions(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'list_prompt_versions',
    {
      title: 'List prompt versions',
      description:
        "A tool's system-prompt versions (all providers, or one), newest first, with the active one marked " +
        'and any rollout in progress. Content is included with `includeContent`.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        includeContent: z.boolean().default(false).describe('Include each version’s prompt text'),
        limit: z.number().int().min(1).max(200).default(50),
        tenant: tenantArg,
      },
      outputSchema: {
        versions: z.array(
          z.object({
            id: z.string(),
            provider: z.string(),
            version: z.number().int(),
            active: z.boolean(),
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
