/**
 * `list_prompt_versions`: a tool's prompt versions per provider, newest first: which is active, its
 * SHA-256, author and change description, and the open rollout if one runs. Any member may read it; the
 * rows are read as the caller.
 */
import { z } from 'zod';
import { asCaller } from '../../supabase/caller.js';
import { findOpenRollout } from '../../supabase/prompt-rollouts.js';
import { listPromptVersions } from '../../supabase/prompts.js';
import type { ToolContext } from '../context.js';
import { resolveTenant } from '../principal.js';
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
    async (args) => {
      await resolveTenant(ctx.sql, ctx.principal, args.tenant);
      const versions = await asCaller(ctx.sql, ctx.principal.claims, async (tx) => {
        const rows = await listPromptVersions(tx, {
          toolName: args.tool,
          provider: args.provider,
          limit: args.limit,
          includeContent: args.includeContent,
        });
        const providers = [...new Set(rows.map((r) => r.provider))];
        const open = await Promise.all(
          providers.map((provider) => findOpenRollout(tx, { toolName: args.tool, provider })),
        );
        return rows.map((r) => {
          const rollout = open.find((o) => o && (o.baseline.id === r.id || o.candidate.id === r.id));
          return {
            id: r.id,
            provider: r.provider,
            version: r.version,
            active: r.isActive,
            contentSha256: r.contentSha256,
            createdBy: r.createdBy,
            changeDescription: r.changeDescription,
            createdAt: r.createdAt.toISOString(),
            content: r.content,
            rollout: rollout
              ? {
                  rolloutId: rollout.id,
                  role: rollout.candidate.id === r.id ? ('candidate' as const) : ('baseline' as const),
                  status: rollout.status,
                  percent: rollout.trafficPercent,
                }
              : undefined,
          };
        });
      });
      return toolResult({ versions });
    },
  );
}
