/**
 * `start_prompt_rollout`: ship a new system-prompt version (new content, or an existing version) by
 * stages through the prompt-rollout workflow, gated on measured quality against the active version.
 *
 * One rollout per tool/provider: the workflow id is `prompt-rollout/<tool>/<provider>` with conflict
 * policy FAIL (a later rollout may reuse the id once the previous one closed), and the database allows
 * one open rollout per pair. A second start gets `RolloutRunning` naming the running one.
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { z } from 'zod';
import type { ProviderName } from '../../core/ai-providers.js';
import { ErrorType, UserFacingError } from '../../core/errors.js';
import { DEFAULT_GATES, DEFAULT_STAGES, type RolloutGates, stagesProblem } from '../../core/rollout-gates.js';
import { findOpenRollout } from '../../supabase/prompt-rollouts.js';
import {
  activatePromptVersion,
  createPromptVersion,
  findPromptVersion,
  type PromptVersionInfo,
} from '../../supabase/prompts.js';
import {
  type PromptRolloutInput,
  type PromptRolloutStatus,
  promptRolloutWorkflow,
  promptRolloutWorkflowId,
  type Steering,
  statusQuery,
} from '../../workflows/prompt-rollout.js';
import {
  detailsText,
  PromptTool,
  RolloutStage,
  searchAttribute,
  summaryText,
  TenantId,
} from '../../workflows/search-attributes.js';
import type { ToolContext } from '../context.js';
import {
  liveOutput,
  pairOf,
  promptAdmin,
  providerArg,
  rolloutOutput,
  rolloutRunningError,
  runningRollout,
  toolNameArg,
} from '../prompt-rollouts.js';
import { progressNotifier } from '../start-workflow.js';
import type { ToolRegistry } from '../tool-registry.js';
import { toolResult } from '../tool-result.js';
import { tenantArg } from '../tool-schemas.js';
import { waitForWorkflow } from '../wait.js';

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
        'Give `content` (a new version) or `version` (an existing one). Needs the owner or admin role.',
      inputSchema: {
        tool: toolNameArg,
        provider: providerArg,
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
    async (args, extra) => {
      const by = await promptAdmin(ctx, args.tenant);
      const { handle, candidateCreated } = await launchPromptRollout(ctx, by, args);
      const status = args.wait
        ? await waitForEnd(ctx, handle, extra)
        : await waitForFirstStage(handle, Math.min(ctx.waitMs, 15_000));
      return toolResult({
        ...liveOutput(ctx, status, handle.firstExecutionRunId),
        live: status.status === 'running' || status.status === 'paused',
        candidateCreated,
      });
    },
  );
}

export interface LaunchRequest {
  tool: string;
  provider?: ProviderName;
  content?: string;
  description?: string;
  version?: number;
  stages?: number[];
  bakeSeconds?: number;
  minBakeSeconds?: number;
  pollSeconds?: number;
  gates?: Partial<RolloutGates>;
  /** Continue as new after this many history events (tests make it small). */
  maxHistoryEvents?: number;
}

/**
 * Everything start_prompt_rollout does before waiting: check the request, refuse while a rollout runs,
 * close a row an ended workflow left open, create the candidate version, start the workflow.
 */
export async function launchPromptRollout(
  ctx: Pick<ToolContext, 'client' | 'sql' | 'taskQueue' | 'ai' | 'rollouts' | 'log'>,
  by: Steering,
  request: LaunchRequest,
): Promise<{ handle: Handle; candidateCreated: boolean }> {
  const pair = pairOf(ctx, request);
  if (Boolean(request.content) === (request.version !== undefined)) {
    throw new UserFacingError(ErrorType.InvalidInput, 'give exactly one of `content` or `version`');
  }
  if (request.content && !request.description) {
    throw new UserFacingError(ErrorType.InvalidInput, 'a new version needs a `description` of the change');
  }
  const stages = request.stages ?? [...DEFAULT_STAGES];
  const problem = stagesProblem(stages);
  if (problem) throw new UserFacingError(ErrorType.InvalidInput, `stages: ${problem}`);
  const bakeSeconds = request.bakeSeconds ?? ctx.rollouts.bakeSeconds;
  const minBakeSeconds = request.minBakeSeconds ?? 0;
  if (minBakeSeconds > bakeSeconds) {
    throw new UserFacingError(ErrorType.InvalidInput, 'minBakeSeconds cannot exceed bakeSeconds');
  }
  const gates: RolloutGates = { ...DEFAULT_GATES, ...request.gates };

  const baseline = await findPromptVersion(ctx.sql, pair, 'active');
  if (!baseline) {
    throw new UserFacingError(
      ErrorType.NoActivePrompt,
      `no active ${pair.toolName} prompt for provider ${pair.provider}: there is nothing to roll out against`,
    );
  }
  // Refuse before creating anything when a rollout runs; close a row an ended workflow left open.
  const running = await runningRollout(ctx.client, pair);
  if (running) throw await rolloutRunningError(running, pair);
  const orphan = await findOpenRollout(ctx.sql, pair);
  if (orphan) {
    await activatePromptVersion(ctx.sql, baseline.id, {
      ...by,
      reason: `its workflow ${orphan.workflowId} ended without closing the rollout; closed before a new one`,
    });
    ctx.log.warn('closed an orphaned prompt rollout', { rolloutId: orphan.id });
  }

  let candidate: Pick<PromptVersionInfo, 'id' | 'version'>;
  let candidateCreated = false;
  if (request.content) {
    const made = await createPromptVersion(ctx.sql, {
      ...by,
      ...pair,
      content: request.content,
      description: request.description!,
    });
    candidate = made;
    candidateCreated = made.created;
  } else {
    const found = await findPromptVersion(ctx.sql, pair, request.version!);
    if (!found) {
      throw new UserFacingError(
        ErrorType.NotFound,
        `${pair.toolName}/${pair.provider} has no version ${request.version}`,
      );
    }
    candidate = found;
  }
  if (candidate.id === baseline.id) {
    throw new UserFacingError(
      ErrorType.InvalidInput,
      `the candidate is v${baseline.version}, the active version already: nothing to roll out`,
    );
  }

  const input: PromptRolloutInput = {
    rolloutId: randomUUID(),
    tenantId: by.tenantId,
    actor: by.actor,
    ...pair,
    baseline: { id: baseline.id, version: baseline.version },
    candidate: { id: candidate.id, version: candidate.version },
    stages,
    bakeSeconds,
    minBakeSeconds,
    pollSeconds: request.pollSeconds ?? ctx.rollouts.pollSeconds,
    gates,
    maxHistoryEvents: request.maxHistoryEvents,
  };
  const handle = await startRollout(ctx, input).catch(async (err: unknown) => {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const now = await runningRollout(ctx.client, pair);
    throw now
      ? await rolloutRunningError(now, pair)
      : new UserFacingError(
          ErrorType.RolloutRunning,
          `a rollout of ${pair.toolName}/${pair.provider} was started at the same moment; see get_prompt_rollout`,
        );
  });
  ctx.log.info('prompt rollout started', { actor: by.actor, workflowId: handle.workflowId });
  return { handle, candidateCreated };
}

function startRollout(ctx: Pick<ToolContext, 'client' | 'taskQueue'>, input: PromptRolloutInput) {
  const stages = input.stages.map((p) => `${p}%`).join(' → ');
  return ctx.client.workflow.start(promptRolloutWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: promptRolloutWorkflowId(input.toolName, input.provider),
    args: [input],
    // Never two at once; a new rollout may follow a closed one, whatever its outcome.
    workflowIdConflictPolicy: 'FAIL',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [
      searchAttribute(TenantId, input.tenantId),
      searchAttribute(PromptTool, input.toolName),
      searchAttribute(RolloutStage, 'starting'),
    ],
    staticSummary: summaryText(
      `Roll out ${input.toolName}/${input.provider} v${input.candidate.version} over v${input.baseline.version}: ${stages}`,
    ),
    staticDetails: detailsText(
      `Started by \`${input.actor}\` (tenant \`${input.tenantId}\`)\n\n` +
        `Bake ${input.bakeSeconds}s per stage (at least ${input.minBakeSeconds}s), metrics every ${input.pollSeconds}s\n\n` +
        `Gates: ≥ ${input.gates.minSamplesPerArm} calls per arm · error rate ≤ baseline + ` +
        `${(input.gates.maxErrorRateIncrease * 100).toFixed(1)} points · p95 ≤ ×${input.gates.maxP95LatencyRatio} · ` +
        `valid output ≥ ${(input.gates.minValidOutputRate * 100).toFixed(1)}%`,
    ),
  });
}

type Handle = WorkflowHandleWithFirstExecutionRunId<typeof promptRolloutWorkflow>;

/** Until the first stage's traffic is live (or the run failed, e.g. refused by the database). */
async function waitForFirstStage(handle: Handle, waitMs: number): Promise<PromptRolloutStatus> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') return finalStatus(handle);
    const status = await handle.query(statusQuery).catch(() => null);
    if (status && (status.stageStartedAt || Date.now() > deadline)) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitForEnd(
  ctx: ToolContext,
  handle: Handle,
  extra: Parameters<typeof progressNotifier>[0] & { signal: AbortSignal },
): Promise<PromptRolloutStatus> {
  const outcome = await waitForWorkflow<PromptRolloutStatus, PromptRolloutStatus>(handle, {
    waitMs: ctx.waitMs,
    signal: extra.signal,
    progress: progressNotifier(extra, statusQuery, (s) => ({
      progress: s.stage + (s.status === 'completed' ? 1 : 0),
      total: s.stages.length,
      message: `${s.status} at ${s.percent}%`,
    })),
  });
  if (outcome.status === 'completed') return outcome.result;
  if (outcome.status === 'failed') throw outcome.error;
  return handle.query(statusQuery);
}

async function finalStatus(handle: Handle): Promise<PromptRolloutStatus> {
  return handle.result();
}
