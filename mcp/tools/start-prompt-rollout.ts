/**
 * `start_prompt_rollout`: ship a new system-prompt version (new content, or an existing version) by
 * stages through the prompt-rollout workflow, gated on measured quality against the active version
 * (app/prompts.ts: launchRollout).
 *
 * One rollout per scope and tool/provider: the workflow id (workflows/prompt-rollout.contract.ts) names
 * the scope, with conflict policy FAIL (a later rollout may reuse the id once the previous one closed),
 * and the database allows one open rollout per scope and pair. A second start gets `RolloutRunning`
 * naming the running one. A tenant's rollout serves only that tenant's mail.
 */
import { z } from 'zod';
import { launchRollout } from '../../app/prompts.js';
import { DEFAULT_GATES } from '../../core/rollout-gates.js';
import type { ToolContext } from '../context.js';
import { waitingFor } from '../progress.js';
import { providerArg, rolloutOutput, scopeArg, toolNameArg } from '../prompt-rollouts.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg } from '../tool-schemas.js';

const MAX_PROMPT_CHARS = 32_768;
const DAY = 86_400;

const GatesArg = z
  .object({
    minSamplesPerArm: z.number().int().min(0).max(1_000_000).optional(),
    maxErrorRateIncrease: z.number().min(0).max(1).optional(),
    maxP95LatencyRatio: z.number().min(1).max(100).optional(),
    minValidOutputRate: z.number().min(0).max(1).optional(),
    latencyFloorMs: z.number().int().min(0).max(600_000).optional(),
  })
  .strict();

export function registerStartPromptRollout(server: ToolRegistry, ctx: ToolContext): void {
  server.registerTool(
    'start_prompt_rollout',
    {
      title: 'Roll out a new prompt version',
      description:
        'Ship a new system-prompt version by stages (default 5% → 25% → 50% → 100% of traffic) through a ' +
        'durable workflow. Each stage bakes until its bake time passes or both arms have enough calls, ' +
        'then gates compare the candidate with the active version (error rate, p95 latency, valid-output ' +
        'rate); a failed gate rolls back automatically, passing the last stage makes the candidate active. ' +
        "By default this is your organization's own prompt and serves only your mail (its first baseline is " +
        'the global default); `scope: "global"` changes the default set for every organization without a ' +
        'version of its own (operator organization only). Give `content` (a new version) or `version` (an ' +
        'existing one of the scope). Needs the owner or admin role.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
        scope: scopeArg,
        content: z
          .string()
          .min(1)
          .max(MAX_PROMPT_CHARS)
          .optional()
          .describe(
            'The candidate prompt text; stored as a new version (or the existing one with this text)',
          ),
        description: z
          .string()
          .min(1)
          .max(500)
          .optional()
          .describe('What changed and why (required with content)'),
        version: z.number().int().positive().optional().describe('Roll out this existing version instead'),
        stages: z
          .array(z.number().int().min(1).max(100))
          .min(1)
          .max(10)
          .optional()
          .describe('Traffic percent of each stage, rising, ending at 100. Default [5, 25, 50, 100]'),
        bakeSeconds: z
          .number()
          .int()
          .min(1)
          .max(30 * DAY)
          .optional()
          .describe('Longest bake per stage (default PROMPT_ROLLOUT_BAKE_SECONDS)'),
        minBakeSeconds: z
          .number()
          .int()
          .min(0)
          .max(30 * DAY)
          .optional()
          .describe('Shortest bake per stage, even when enough samples arrived early (default 0)'),
        pollSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .optional()
          .describe('How often a baking stage reads its metrics (default PROMPT_ROLLOUT_POLL_SECONDS)'),
        gates: GatesArg.optional().describe(
          `Gate limits; defaults ${JSON.stringify(DEFAULT_GATES)} (error-rate increase in absolute terms: 0.02 = 2 points)`,
        ),
        tenant: tenantArg,
        wait: z
          .boolean()
          .default(false)
          .describe(
            'Wait for the rollout to finish (at most MCP_WAIT_SECONDS). Otherwise returns once the first stage is live',
          ),
      },
      outputSchema: {
        ...rolloutOutput,
        candidateCreated: z.boolean().describe('true when `content` became a new version'),
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async ({ wait, ...args }, extra) =>
      toolResult({ ...(await launchRollout(ctx, { ...args, ...waitingFor(extra, wait) })) }),
  );
}
